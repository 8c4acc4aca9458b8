"""inference: collect LLM answers to survey questions and read them as tidy distributions.

This layer imports only :mod:`alignstat` (never ``surveys`` or ``analyses``);
``openai``, ``transformers`` and ``torch`` are imported lazily by the
backends that need them.

Main entry points
-----------------
read_results
    Seed ``results.csv`` files, tidy files and answer stores -> tidy
    distributions (``question, option, prob, status, reason, ...``) for
    :func:`alignstat.align`.
status_report
    Items by status, repair and rejection reason.
collect
    Ask a model a question bank (four answer methods, six steering
    conditions) into a resumable append-only answer store.
RepairRules
    What repairs of messy answers are allowed (presets ``"lenient"``,
    ``"strict"``).
"""

from .backends import (
    Backend,
    Completion,
    FatalError,
    OpenAIBatchBackend,
    OpenAIChatBackend,
    Request,
    TransformersBackend,
    TransientError,
)
from .extract import extract_choice, is_refusal, logprobs_to_distribution, majority_vote, parse_sequence
from .ingest import StatusReport, read_results, read_results_csv, read_tidy, status_report
from .parsing import ParsedAnswer, RepairRules, parse_distribution, resolve_repair
from .prompts import (
    METHODS,
    STEERINGS,
    TEMPLATE_FORMAT,
    FewShotExamples,
    PromptBuilder,
    PromptTemplate,
    PromptTemplates,
    load_templates,
)
from .runner import EXIT_FATAL, EXIT_INCOMPLETE, EXIT_OK, CollectSummary, collect
from .store import AnswerStore, StoreBusyError, read_store, request_key

__all__ = [
    "read_results",
    "read_results_csv",
    "read_tidy",
    "read_store",
    "status_report",
    "StatusReport",
    "RepairRules",
    "ParsedAnswer",
    "parse_distribution",
    "resolve_repair",
    "collect",
    "CollectSummary",
    "EXIT_OK",
    "EXIT_INCOMPLETE",
    "EXIT_FATAL",
    "StoreBusyError",
    "AnswerStore",
    "request_key",
    "PromptBuilder",
    "FewShotExamples",
    "load_templates",
    "PromptTemplate",
    "PromptTemplates",
    "TEMPLATE_FORMAT",
    "METHODS",
    "STEERINGS",
    "Backend",
    "Request",
    "Completion",
    "TransientError",
    "FatalError",
    "OpenAIChatBackend",
    "OpenAIBatchBackend",
    "TransformersBackend",
    "extract_choice",
    "is_refusal",
    "majority_vote",
    "parse_sequence",
    "logprobs_to_distribution",
]
