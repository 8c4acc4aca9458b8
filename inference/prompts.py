"""Prompts for the four answer methods and six steering conditions.

Templates are data: :file:`inference/templates.json` holds one entry per
language (instruction of each method, persona sentence, labels, country
names).  The verbalized-distribution prompt follows Liu, Kaneko & Chu (2025,
App. B.3): task instruction, few-shot examples that fix the output format,
then the question with its options as ``'1'. label`` lines and ``Answer:``.

Steering conditions
-------------------
``none``
    English instruction; few-shot examples with *random* distributions (they
    only show the format).
``persona``
    as ``none`` plus a sentence asking for the answers of people from
    ``country``.
``few-shot``
    examples carry the *real* distributions of ``country`` (from a tidy
    distribution frame or a file such as ``inputs/few_shot/lang-En_dist-<country>.txt``).
``language``
    instruction, examples and question in the target language (the bank must
    be in that language, e.g. ``WV7_German.jsonl``); random examples.
``language-persona``, ``language-few-shot``
    the combinations.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "PromptTemplate",
    "PromptTemplates",
    "TEMPLATE_FORMAT",
    "METHODS",
    "STEERINGS",
    "FewShotExamples",
    "PromptBuilder",
    "load_templates",
    "format_question",
    "format_distribution",
]

METHODS = ("verbalized", "logprobs", "sequence", "freetext")
STEERINGS = ("none", "persona", "few-shot", "language", "language-persona", "language-few-shot")
DEFAULT_EXAMPLE_IDS = ("Q60", "Q70", "Q90", "Q110", "Q130")  # paper Table 5, default
_SEPARATOR = "\n\n------\n\n"


@lru_cache(maxsize=4)
def _read_templates(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return {k: v for k, v in data.items() if not k.startswith("_")}


def load_templates(path=None):
    """Prompt templates: the packaged per-language ones, or a user template file.

    Parameters
    ----------
    path : str or path-like, optional
        Default: the packaged :file:`inference/templates.json` (the
        package's own prompts, keyed by language).  A JSON file whose
        ``format`` is :data:`TEMPLATE_FORMAT` is read as user templates.

    Returns
    -------
    dict or PromptTemplates
        The packaged language templates (a dict keyed by language), or the
        user templates.
    """
    path = Path(path) if path is not None else Path(__file__).with_name("templates.json")
    if not path.exists():
        raise FileNotFoundError(f"templates file {str(path)!r} does not exist.")
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON template file ({exc}).") from None
    if isinstance(head, dict) and "format" in head:
        return PromptTemplates.from_file(path)
    return _read_templates(str(path))


TEMPLATE_FORMAT = "alignstat-prompts/1"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]+)\s*\}\}")
_FIELDS = ("question", "options", "examples", "country")


@dataclass(frozen=True)
class PromptTemplate:
    """One user prompt template (see :class:`PromptTemplates`)."""

    text: str
    answer_method: str = "verbalized"
    steering: str = "none"
    country: str | None = None
    language: str = "English"
    examples: str | None = None
    study: str | None = None

    def render(self, question, *, option_format="{key}. {label}", option_separator="\n", examples=None,
               country=None) -> str:
        """Render the prompt for `question`: each ``{{field}}`` replaced once, nothing else touched."""

        def value(m):
            name = m.group(1)
            if name == "question":
                return question.text
            if name == "options":
                return option_separator.join(option_format.replace("{key}", str(k)).replace("{label}", str(c))
                                             for k, c in zip(question.keys, question.choices))
            if name == "examples":
                ex = self.examples if self.examples is not None else examples
                if ex is None:
                    raise ValueError(f"template for {self.describe()} uses {{{{examples}}}} but has no examples_file "
                                     "and no `examples` were given.")
                return ex
            return country if country is not None else (self.country or "")

        return _PLACEHOLDER.sub(value, self.text)

    def describe(self) -> str:
        """``answer_method/steering/country/language`` of the template, for messages."""
        return f"answer_method={self.answer_method!r}, steering={self.steering!r}, country={self.country!r}, " \
               f"language={self.language!r}"


class PromptTemplates:
    r"""User prompt templates: exact prompts such as a paper's, from a JSON file.

    The file format (``"format": "alignstat-prompts/1"``)::

        {
          "format": "alignstat-prompts/1",
          "system": "You are a helpful assistant.",   # optional system message
          "temperature": 0,                           # optional, sent with every request
          "option_format": "{key}. {label}",          # one option line (default shown)
          "option_separator": "\n",                  # between option lines (default shown)
          "examples_dir": "inputs/few_shot",          # optional, relative to this file
          "templates": [
            {"steering": "persona", "country": "Germany", "language": "English",
             "answer_method": "verbalized",             # optional (default shown)
             "examples_file": "lang-En_dist-random.txt",  # optional, inserted verbatim
             "text": "...instructions...{{examples}}\nQuestion: {{question}}\n{{options}}\nAnswer:"}
          ]
        }

    A template's ``text`` is sent as the user message, with each
    ``{{question}}`` (the question's wording), ``{{options}}`` (one
    ``option_format`` line per option, joined by ``option_separator``),
    ``{{examples}}`` (the ``examples_file``'s bytes, or the builder's
    examples) and ``{{country}}`` replaced once; every other character,
    single braces included, is kept as is.  A template applies to the
    ``(answer_method, steering, country, language)`` it names
    (``country`` null or absent: no country).

    Parameters
    ----------
    templates : sequence of PromptTemplate
    system : str, optional
    temperature : float, optional
    option_format, option_separator : str
    source : str
        Where the templates came from (for messages).
    """

    def __init__(self, templates, *, system=None, temperature=None, option_format="{key}. {label}",
                 option_separator="\n", source=""):
        self.templates = list(templates)
        self.system = system
        self.temperature = None if temperature is None else float(temperature)
        self.option_format = option_format
        self.option_separator = option_separator
        self.source = source
        self._index = {}
        for t in self.templates:
            k = (t.answer_method, t.steering, t.country, t.language)
            if k in self._index:
                raise ValueError(f"{source or 'templates'}: two templates for {t.describe()}.")
            self._index[k] = t

    def __len__(self):
        return len(self.templates)

    def __iter__(self):
        return iter(self.templates)

    def __repr__(self):
        return f"PromptTemplates({len(self)} templates from {self.source or 'memory'})"

    @classmethod
    def from_file(cls, path):
        """Read a template file (see the class docstring for the format)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a readable JSON template file ({exc}).") from None
        if not isinstance(data, dict) or data.get("format") != TEMPLATE_FORMAT:
            raise ValueError(f"{path}: 'format' must be {TEMPLATE_FORMAT!r}; got {data.get('format')!r}.")
        unknown = sorted(set(data) - {"format", "system", "temperature", "option_format", "option_separator",
                                      "examples_dir", "templates", "about"})
        if unknown:
            raise ValueError(f"{path}: unknown top-level field(s) {unknown}.")
        if not isinstance(data.get("templates"), list) or not data["templates"]:
            raise ValueError(f"{path}: 'templates' must be a non-empty list.")
        ex_dir = path.parent / data.get("examples_dir", ".")
        out = []
        for i, t in enumerate(data["templates"]):
            where = f"{path}: templates[{i}]"
            if not isinstance(t, dict) or not isinstance(t.get("text"), str):
                raise ValueError(f"{where}: needs a 'text' string.")
            bad = sorted(set(t) - {"text", "answer_method", "steering", "country", "language", "examples_file",
                                   "study"})
            if bad:
                raise ValueError(f"{where}: unknown field(s) {bad}.")
            fields_used = set(_PLACEHOLDER.findall(t["text"]))
            if fields_used - set(_FIELDS):
                raise ValueError(f"{where}: unknown placeholder(s) {sorted(fields_used - set(_FIELDS))}; "
                                 f"known: {['{{' + f + '}}' for f in _FIELDS]}.")
            steering = str(t.get("steering", "none")).replace("_", "-")
            if steering not in STEERINGS:
                raise ValueError(f"{where}: steering {steering!r} is not one of {list(STEERINGS)}.")
            method = t.get("answer_method", "verbalized")
            if method not in METHODS:
                raise ValueError(f"{where}: answer_method {method!r} is not one of {list(METHODS)}.")
            examples = None
            if t.get("examples_file"):
                ex_path = ex_dir / t["examples_file"]
                if not ex_path.exists():
                    raise FileNotFoundError(f"{where}: examples_file {str(ex_path)!r} does not exist.")
                with open(ex_path, encoding="utf-8", newline="") as fh:  # verbatim, line ends included
                    examples = fh.read()
            out.append(PromptTemplate(text=t["text"], answer_method=method, steering=steering,
                                      country=t.get("country"), language=t.get("language", "English"),
                                      examples=examples, study=t.get("study")))
        return cls(out, system=data.get("system"), temperature=data.get("temperature"),
                   option_format=data.get("option_format", "{key}. {label}"),
                   option_separator=data.get("option_separator", "\n"), source=str(path))

    def find(self, *, answer_method="verbalized", steering="none", country=None, language="English"):
        """Return the template for these settings; a ValueError lists what exists otherwise."""
        t = self._index.get((answer_method, steering, country, language))
        if t is None:
            have = sorted({(x.steering, x.country or "-", x.language) for x in self.templates
                           if x.answer_method == answer_method})
            raise ValueError(
                f"{self.source or 'templates'}: no template for answer_method={answer_method!r}, "
                f"steering={steering!r}, country={country!r}, language={language!r}; templates exist for "
                f"(steering, country, language) {have[:12]}{' ...' if len(have) > 12 else ''}."
            )
        return t


def format_question(question, template, *, order=None) -> str:
    """``Question: ...`` followed by one ``'key'. label`` line per option."""
    idx = range(question.n_options) if order is None else order
    lines = [f"{template['question_label']}: {question.text}"]
    lines += [f"'{question.keys[i]}'. {question.choices[i]}" for i in idx]
    return "\n".join(lines)


def format_distribution(keys, probs) -> str:
    """Format a distribution as the paper does: ``{'1': '31.01%', '2': '3.21%'}``."""
    return "{" + ", ".join(f"'{k}': '{100 * p:.2f}%'" for k, p in zip(keys, probs)) + "}"


@dataclass(frozen=True)
class FewShotExamples:
    """A block of few-shot examples (question, options, answer distribution).

    Build it with :meth:`from_file` (a block of text used verbatim, e.g. the
    seed's ``inputs/few_shot/*.txt`` or ``inputs/sensitivity/*.txt``),
    :meth:`from_distributions` (real group distributions from a tidy frame)
    or :meth:`random` (random distributions: format only).

    Attributes
    ----------
    text : str
        The block as inserted in the prompt.
    ids : tuple of str
        Question ids used as examples (empty when read from a file).
    source : str
        Where the block came from.
    """

    text: str
    ids: tuple = ()
    source: str = ""

    @property
    def n_examples(self) -> int:
        """Number of examples (for a file: lines holding a ``{...%...}`` answer)."""
        if self.ids:
            return len(self.ids)
        return sum(1 for line in self.text.splitlines() if re.search(r"\{.*%.*\}", line)) or 1

    @classmethod
    def from_file(cls, path):
        """Use a text file of examples verbatim."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"few-shot file {str(path)!r} does not exist.")
        text = path.read_text(encoding="utf-8").strip()
        if not text:
            raise ValueError(f"few-shot file {str(path)!r} is empty.")
        return cls(text=text, source=str(path))

    @classmethod
    def from_distributions(cls, frame, bank, *, template, ids=None, n=5, exclude=(), where=None):
        """Examples from real distributions in a tidy frame.

        Parameters
        ----------
        frame : pandas.DataFrame
            Tidy distributions (``question``, ``option``, ``prob`` and group
            columns).
        bank : QuestionBank
            Wording of the example questions (in the prompt language).
        template : dict
            Language template (labels).
        ids : sequence of str, optional
            Example question ids (default: the paper's ``Q60, Q70, Q90,
            Q110, Q130`` where available, then other ids of the frame).
        n : int
            Number of examples.
        exclude : sequence of str
            Ids never used (the question being asked).
        where : dict, optional
            Group filter, e.g. ``{"country": "Germany"}``.
        """
        for col in ("question", "option", "prob"):
            if col not in frame.columns:
                raise ValueError(f"few-shot distributions: column {col!r} is missing.")
        sub = frame
        for col, val in (where or {}).items():
            if col not in sub.columns:
                raise ValueError(f"few-shot distributions: no column {col!r} to select {col} == {val!r}.")
            sub = sub[sub[col].astype(str) == str(val)]
        if "status" in sub.columns:
            sub = sub[sub["status"].astype(str) != "rejected"]
        if sub.empty:
            raise ValueError(f"few-shot distributions: no rows for {where or 'the frame'}.")
        available = [q for q in dict.fromkeys(sub["question"].astype(str)) if q in bank and q not in exclude]
        order = list(ids) if ids is not None else [q for q in DEFAULT_EXAMPLE_IDS if q in available] + [
            q for q in available if q not in DEFAULT_EXAMPLE_IDS
        ]
        chosen = [q for q in order if q in available][:n]
        if len(chosen) < n:
            raise ValueError(
                f"few-shot distributions: only {len(chosen)} usable example question(s) for {where or 'the frame'}, "
                f"{n} needed."
            )
        blocks = []
        for qid in chosen:
            q = bank[qid]
            rows = sub[sub["question"].astype(str) == qid].groupby("option")["prob"].sum()
            probs = [float(rows.get(p, 0.0)) for p in q.positions]
            s = sum(probs)
            probs = [p / s for p in probs] if s > 0 else probs
            blocks.append(
                format_question(q, template) + f"\n{template['answer_label']}: " + format_distribution(q.keys, probs)
            )
        return cls(text=_SEPARATOR.join(blocks), ids=tuple(chosen), source=f"distributions {where or ''}".strip())

    @classmethod
    def random(cls, bank, *, template, n=5, exclude=(), rng=None):
        """Examples with random (Dirichlet(1)) distributions: format only."""
        rng = np.random.default_rng(rng)
        pool = [q for q in DEFAULT_EXAMPLE_IDS if q in bank] + [q for q in bank.ids if q not in DEFAULT_EXAMPLE_IDS]
        chosen = [q for q in pool if q not in exclude][:n]
        if len(chosen) < n:
            raise ValueError(
                f"the question bank has only {len(chosen)} question(s) left for the prompt's {n} format examples "
                f"(random distributions over other questions); lower `n_examples` (command line: --n-examples) "
                f"or use a larger bank."
            )
        blocks = []
        for qid in chosen:
            q = bank[qid]
            probs = rng.dirichlet(np.ones(q.n_options))
            blocks.append(
                format_question(q, template) + f"\n{template['answer_label']}: " + format_distribution(q.keys, probs)
            )
        return cls(text=_SEPARATOR.join(blocks), ids=tuple(chosen), source="random")


class PromptBuilder:
    r"""Build chat messages for one answer method and steering condition.

    Parameters
    ----------
    answer_method : {"verbalized", "logprobs", "sequence", "freetext"}
        How the model is asked.
    steering : {"none", "persona", "few-shot", "language", "language-persona", "language-few-shot"}
    country : str, optional
        Needed for persona and few-shot steering.
    language : str, optional
        Template language (default: English, or the bank language for
        ``language*`` steering).
    examples : FewShotExamples or callable, optional
        The example block (verbalized method), or a callable
        ``examples(question) -> FewShotExamples`` for per-question blocks.
        Default: random-distribution examples from the bank, excluding the
        asked question.
    n_examples : int
        Number of generated examples (default 5, as in the paper).
    n_sequence : int
        Answers requested by the sequence method (default 30).
    shuffle_options : bool
        Show options in a random order (keys unchanged; sensitivity study).
    rng : seed or Generator, optional
        For random examples and option shuffling.
    templates : dict, PromptTemplates, str or path-like, optional
        Override :func:`load_templates`: a dict of language templates (the
        packaged format), or user templates (:class:`PromptTemplates` or the
        path of a file in that format) that give the exact prompt text for
        this builder's answer method, steering, country and language, with
        the system message and temperature of the file.

    Examples
    --------
    >>> from alignstat import QuestionBank, Question
    >>> bank = QuestionBank([Question("Q1", "Happy?", ("Yes", "No"), ("1", "2"), (1.0, 2.0))])
    >>> t = PromptTemplates([PromptTemplate("Question: {{question}}\n{{options}}\nAnswer:")], system="Be brief.")
    >>> PromptBuilder(templates=t).messages(bank["Q1"], bank)
    [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Question: Happy?\n1. Yes\n2. No\nAnswer:'}]
    """

    def __init__(self, *, answer_method="verbalized", steering="none", country=None, language=None, examples=None,
                 n_examples=5, n_sequence=30, shuffle_options=False, rng=None, templates=None):
        if answer_method not in METHODS:
            raise ValueError(f"`answer_method` must be one of {list(METHODS)}; got {answer_method!r}.")
        if steering not in STEERINGS:
            raise ValueError(f"`steering` must be one of {list(STEERINGS)}; got {steering!r}.")
        if ("persona" in steering or "few-shot" in steering) and not country:
            raise ValueError(f"steering {steering!r} needs `country`.")
        if "few-shot" in steering and examples is None and not (
                isinstance(templates, PromptTemplates) or isinstance(templates, (str, Path))):
            raise ValueError(
                f"steering {steering!r} needs `examples` (real distributions of {country!r}: "
                "FewShotExamples.from_distributions or .from_file)."
            )
        if isinstance(templates, (str, Path)):
            templates = load_templates(templates)
        self.user_templates = templates if isinstance(templates, PromptTemplates) else None
        if self.user_templates is not None:
            templates = load_templates()
        templates = templates if templates is not None else load_templates()
        if language is None:
            language = "English"
        self.user_template = None
        if self.user_templates is not None:
            self.user_template = self.user_templates.find(answer_method=answer_method, steering=steering,
                                                          country=country, language=language)
            templates = dict(templates)
            templates.setdefault(language, templates["English"])
        if language not in templates:
            raise ValueError(f"no prompt template for language {language!r}; templates exist for {sorted(templates)}.")
        if steering.startswith("language") and language == "English":
            raise ValueError(f"steering {steering!r} needs a target `language` other than English.")
        for name, val in (("n_examples", n_examples), ("n_sequence", n_sequence)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"`{name}` must be a positive integer; got {val!r}.")
        self.answer_method, self.steering, self.country, self.language = answer_method, steering, country, language
        self.template = templates[language]
        self.examples = examples
        self.n_examples = int(n_examples)
        self.n_sequence = int(n_sequence)
        self.shuffle_options = bool(shuffle_options)
        self._seed = int(np.random.default_rng(rng).integers(2**63 - 1))

    def _country_name(self):
        return self.template.get("countries", {}).get(self.country, self.country)

    def _examples_for(self, question, bank):
        ex = self.examples
        if callable(ex) and not isinstance(ex, FewShotExamples):
            ex = ex(question)
        if ex is None:
            ex = FewShotExamples.random(bank, template=self.template, n=self.n_examples, exclude=(question.id,),
                                        rng=self._seed)
        return ex

    def _user_messages(self, question, bank):
        ut, uts = self.user_template, self.user_templates
        examples = None
        if ut.examples is None and "{{examples}}" in ut.text.replace(" ", ""):
            examples = self._examples_for(question, bank).text
        text = ut.render(question, option_format=uts.option_format, option_separator=uts.option_separator,
                         examples=examples, country=self.country)
        system = [{"role": "system", "content": uts.system}] if uts.system is not None else []
        return [*system, {"role": "user", "content": text}]

    def messages(self, question, bank):
        """Chat messages asking ``question`` (a system turn only with user templates that give one)."""
        if self.user_template is not None:
            return self._user_messages(question, bank)
        t = self.template
        order = None
        if self.shuffle_options:
            rng = np.random.default_rng([self._seed, sum(map(ord, question.id))])
            order = list(rng.permutation(question.n_options))
        qblock = format_question(question, t, order=order)
        persona = "persona" in self.steering
        if self.answer_method == "freetext":
            lines = []
            if persona:
                lines.append(t["persona_freetext"].format(country=self._country_name()))
            if t.get("freetext"):
                lines.append(t["freetext"])
            idx = order if order is not None else range(question.n_options)
            lines.append(question.text)
            lines += [f"{question.keys[i]}. {question.choices[i]}" for i in idx]
            return [{"role": "user", "content": "\n".join(lines)}]
        parts = []
        if self.answer_method == "verbalized":
            ex = self._examples_for(question, bank)
            instr = t["verbalized"].format(n_examples=ex.n_examples if ex.ids else self.n_examples)
            if persona:
                instr += " " + t["persona"].format(country=self._country_name())
            parts = [instr, ex.text, qblock + f"\n{t['answer_label']}:"]
            return [{"role": "user", "content": _SEPARATOR.join(parts[:2]) + _SEPARATOR + parts[2]}]
        instr = t[self.answer_method].format(n=self.n_sequence)
        if persona:
            instr += " " + t["persona"].format(country=self._country_name())
        return [{"role": "user", "content": instr + "\n\n" + qblock + f"\n{t['answer_label']}:"}]

    def params(self, *, temperature=None, max_tokens=None):
        """Return the answer method's generation parameters (merged with explicit ones)."""
        defaults = {
            "verbalized": {"max_tokens": 400},
            "logprobs": {"max_tokens": 1, "logprobs": True, "top_logprobs": 20, "temperature": 0.0},
            "sequence": {"max_tokens": 400},
            "freetext": {"max_tokens": 600},
        }[self.answer_method]
        out = dict(defaults)
        if self.user_templates is not None and self.user_templates.temperature is not None:
            out["temperature"] = self.user_templates.temperature
        if temperature is not None:
            out["temperature"] = float(temperature)
        if max_tokens is not None:
            out["max_tokens"] = int(max_tokens)
        return out
