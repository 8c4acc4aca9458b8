"""alignstat: measure whose opinions large language models reflect.

The core: opinion distributions, alignment metrics (ordinal Wasserstein,
Likert mean, Jensen--Shannon, total variation), the average-human baseline,
respondent-level helpers, the bootstrap engine and tests of significance.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from ._align import METRICS, align, alignment_matrix
from ._packed import Grid
from ._warnings import AlignstatWarning, DataPolicyWarning, DiagnosticsWarning, SmallCellWarning
from .bootstrap import (
    BootstrapResult,
    ConfidenceInterval,
    DegenerateIntervalWarning,
    GroupAlignmentBootstrap,
    bootstrap_alignment,
    bootstrap_questions,
)
from .distributions import RESERVED_COLUMNS, OpinionDistributions, Policy, report_frame
from .metrics import (
    average_distribution,
    classify_alignment,
    js_similarity,
    likert_alignment,
    tau_filter,
    tvd_similarity,
    wasserstein_alignment,
)
from .questions import Question, QuestionBank, key_position, load_question_bank
from .resampling import FixedReplicates, MultinomialScheme, PoissonScheme, ReplicateScheme
from .respondents import RespondentData, prepare_respondents, respondent_alignment
from .stats import (
    PairedTTestResult,
    PearsonRResult,
    WilcoxonResult,
    adjust_pvalues,
    paired_comparison,
    paired_ttest,
    pearson_r,
    significance_stars,
    wilcoxon_signed_rank,
)

#: The one small-cell threshold of every layer: an estimate from fewer respondents is flagged.
SMALL_CELL_N = 30

try:
    __version__ = _version("alignstat")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "AlignstatWarning",
    "DataPolicyWarning",
    "DiagnosticsWarning",
    "DegenerateIntervalWarning",
    "SmallCellWarning",
    "METRICS",
    "SMALL_CELL_N",
    "RESERVED_COLUMNS",
    "OpinionDistributions",
    "Grid",
    "Policy",
    "report_frame",
    "align",
    "alignment_matrix",
    "wasserstein_alignment",
    "likert_alignment",
    "js_similarity",
    "tvd_similarity",
    "average_distribution",
    "classify_alignment",
    "tau_filter",
    "Question",
    "QuestionBank",
    "load_question_bank",
    "key_position",
    "ReplicateScheme",
    "MultinomialScheme",
    "PoissonScheme",
    "FixedReplicates",
    "RespondentData",
    "prepare_respondents",
    "respondent_alignment",
    "bootstrap_alignment",
    "bootstrap_questions",
    "BootstrapResult",
    "ConfidenceInterval",
    "GroupAlignmentBootstrap",
    "paired_ttest",
    "wilcoxon_signed_rank",
    "pearson_r",
    "adjust_pvalues",
    "significance_stars",
    "paired_comparison",
    "PairedTTestResult",
    "WilcoxonResult",
    "PearsonRResult",
    "__version__",
]
