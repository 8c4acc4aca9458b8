"""alignstat: measure whose opinions large language models reflect."""

from importlib.metadata import PackageNotFoundError, version as _version

from ._warnings import AlignstatWarning, DataPolicyWarning, DiagnosticsWarning, SmallCellWarning
from .questions import Question, QuestionBank, load_question_bank
from .resampling import FixedReplicates, MultinomialScheme, PoissonScheme, ReplicateScheme

try:
    __version__ = _version("alignstat")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "AlignstatWarning",
    "DataPolicyWarning",
    "DiagnosticsWarning",
    "SmallCellWarning",
    "Question",
    "QuestionBank",
    "load_question_bank",
    "ReplicateScheme",
    "MultinomialScheme",
    "PoissonScheme",
    "FixedReplicates",
    "__version__",
]
