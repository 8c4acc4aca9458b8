"""analyses: the studies of both seed papers, their tables, figures, provenance and CLI.

Studies (each a library function returning tidy tables):

* :func:`global_alignment` -- paper 000 RQ1 (models x countries, ranking,
  average-human baseline, heatmaps);
* :func:`steering_alignment` -- RQ2 (steering methods, paired tests);
* :func:`temporal_alignment` -- RQ3 (tau filter, alignment per wave);
* :func:`internal_consistency` and :func:`prompt_sensitivity` -- section 7;
* :func:`subgroup_alignment` -- the ESS subgroup study;
* :func:`decompose_variance` -- variance decomposition (:mod:`analyses.variance`).
"""

from .consistency import internal_consistency, modal_answers
from .global_study import GlobalResult, global_alignment
from .subgroups import add_intersections, answer_summary, subgroup_alignment
from .topics import TABLE11, as_topics, table11_topics

__all__ = [
    "internal_consistency",
    "modal_answers",
    "global_alignment",
    "GlobalResult",
    "subgroup_alignment",
    "answer_summary",
    "add_intersections",
    "TABLE11",
    "as_topics",
    "table11_topics",
]
