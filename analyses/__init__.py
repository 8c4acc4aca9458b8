"""analyses: the studies of both seed papers, their tables, figures, provenance and CLI.

Studies (each a library function returning tidy tables):

* :func:`global_alignment` -- paper 000 RQ1 (models x countries, ranking,
  average-human baseline, heatmaps);
* :func:`steering_alignment` -- RQ2 (steering methods, paired tests);
* :func:`temporal_alignment` -- RQ3 (tau filter, alignment per wave);
* :func:`internal_consistency` and :func:`prompt_sensitivity` -- section 7;
* :func:`subgroup_alignment` -- the ESS subgroup study;
* :func:`decompose_variance` -- variance decomposition (:mod:`analyses.variance`,
  imported on first use because it loads PyMC).

:func:`compare` gives paired differences (model vs model, group vs group)
with question-bootstrap intervals and adjusted p-values; :func:`format_table`,
:func:`to_markdown` and :func:`to_latex` turn any result into a paper table
(:mod:`analyses.tables`).

``run_*`` functions in :mod:`analyses.runners` write each study's tables,
figures and provenance; :func:`analyses.demo.run_demo` runs them all.
"""

from ._uncertainty import majority_vote
from .compare import compare
from .consistency import internal_consistency, modal_answers
from .global_study import GlobalResult, global_alignment
from .sensitivity import prompt_sensitivity
from .steering import steering_alignment, steering_table
from .subgroups import add_intersections, answer_summary, subgroup_alignment, subgroup_comparisons
from .tables import format_table, to_latex, to_markdown
from .temporal import TemporalResult, temporal_alignment
from .topics import TABLE11, as_topics, table11_topics

__all__ = [
    "internal_consistency",
    "modal_answers",
    "subgroup_alignment",
    "subgroup_comparisons",
    "majority_vote",
    "answer_summary",
    "add_intersections",
    "decompose_variance",
    "global_alignment",
    "GlobalResult",
    "steering_alignment",
    "steering_table",
    "temporal_alignment",
    "TemporalResult",
    "prompt_sensitivity",
    "TABLE11",
    "as_topics",
    "table11_topics",
    "compare",
    "format_table",
    "to_markdown",
    "to_latex",
]


def __getattr__(name):
    # `decompose_variance` loads PyMC; import it on first use so that `import analyses` stays fast.
    if name == "decompose_variance":
        from .variance import decompose_variance

        return decompose_variance
    raise AttributeError(f"module 'analyses' has no attribute {name!r}")
