"""Studies at scale: one declarative spec for many models x conditions x surveys.

* :func:`load_spec` -- read and validate a TOML study spec (errors name the key);
* :func:`run_sweep` -- collect (resumable), compute every cell (serially or on
  ``dask.distributed``), cache by content, write the leaderboard and provenance;
* :func:`leaderboard` and :func:`rank_ranges` -- ranking with intervals and
  honest ties.

The command line is ``alignstat run study.toml``.
"""

from .engine import Cell, cell_key, compute_cell, run_cells
from .leaderboard import leaderboard, rank_ranges
from .run import SweepResult, collect_answers, load_survey, run_sweep
from .spec import SpecError, SweepSpec, load_spec, parse_spec

__all__ = [
    "Cell",
    "SpecError",
    "SweepResult",
    "SweepSpec",
    "cell_key",
    "collect_answers",
    "compute_cell",
    "leaderboard",
    "load_spec",
    "load_survey",
    "parse_spec",
    "rank_ranges",
    "run_cells",
    "run_sweep",
]
