"""User templates reproduce the first paper's 700 prompts byte for byte.

The paper's texts (templates, few-shot blocks, question files, expected
prompts) are read from ``../shared/seed-data`` (or ``$ALIGNSTAT_SEED_DATA``)
and never copied into the repository: the template file this test feeds to
:class:`inference.PromptBuilder` is written to a temporary folder from the
seed's neutral form.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from alignstat import load_question_bank
from inference import OpenAIChatBackend, PromptBuilder, PromptTemplates, collect, load_templates
from inference.testing import LocalOpenAIServer, Reply

REPO = Path(__file__).resolve().parents[2]
SEED = Path(os.environ.get("ALIGNSTAT_SEED_DATA") or REPO.parent / "shared" / "seed-data")
PROMPTS = SEED / "prompts"


@pytest.fixture(scope="module")
def paper():
    need = [PROMPTS / "seed_templates.json", PROMPTS / "expected_prompts.jsonl", SEED / "inputs" / "few_shot",
            SEED / "dataset" / "questions"]
    missing = [str(p) for p in need if not p.exists()]
    if missing:
        pytest.fail(f"the first paper's prompt materials are needed beside the repository and are missing: {missing} "
                    "(put the shared seed data at ../shared/seed-data or set ALIGNSTAT_SEED_DATA)")
    seed = json.loads((PROMPTS / "seed_templates.json").read_text(encoding="utf-8"))
    expected = [json.loads(line) for line in (PROMPTS / "expected_prompts.jsonl").open(encoding="utf-8")]
    return seed, expected


def write_template_file(seed, folder):
    """The paper's templates in the documented user format (alignstat-prompts/1)."""
    templates = []
    for t in seed:
        literal = (t["head"], t["before_question"], t["between_question_and_options"], t["after_options"])
        assert not any("{{" in part for part in literal)  # nothing in the paper's text looks like a placeholder
        templates.append({
            "study": t["study"], "steering": t["steering"], "country": t["country"], "language": t["language"],
            "examples_file": t["few_shot_file"],
            "text": t["head"] + "{{examples}}" + t["before_question"] + "{{question}}"
            + t["between_question_and_options"] + "{{options}}" + t["after_options"],
        })
    data = {"format": "alignstat-prompts/1", "system": "You are a helpful assistant.", "temperature": 0,
            "option_format": "{key}. {label}", "option_separator": "\n",
            "examples_dir": str(SEED / "inputs" / "few_shot"), "templates": templates}
    path = folder / "paper_templates.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def test_all_700_prompts_byte_for_byte(paper, tmp_path):
    seed, expected = paper
    assert len(expected) == 700 and len(seed) == 50
    path = write_template_file(seed, tmp_path)
    templates = load_templates(path)
    assert isinstance(templates, PromptTemplates) and len(templates) == 50
    banks, builders = {}, {}
    mismatches = []
    for row in expected:
        lang = row["language"]
        if lang not in banks:
            banks[lang] = load_question_bank(SEED / "dataset" / "questions" / f"WV7_{lang}.jsonl")
        bank = banks[lang]
        cell = (row["steering"].replace("_", "-"), row["country"], lang)
        if cell not in builders:
            builders[cell] = PromptBuilder(answer_method="verbalized", steering=cell[0], country=cell[1],
                                           language=lang, templates=path)
        msgs = builders[cell].messages(bank[row["id"]], bank)
        assert msgs[0] == {"role": "system", "content": "You are a helpful assistant."}
        if msgs[1] != {"role": "user", "content": row["prompt"]}:
            mismatches.append((row["study"], row["steering"], row["country"], lang, row["id"]))
    assert not mismatches, f"{len(mismatches)} prompts differ, first: {mismatches[:3]}"
    assert len(builders) == 50  # every template was used
    assert all(b.params()["temperature"] == 0.0 for b in builders.values())


def test_collect_sends_the_papers_messages_and_temperature(paper, tmp_path, monkeypatch):
    seed, expected = paper
    path = write_template_file(seed, tmp_path)
    rq1 = [r for r in expected if r["study"] == "RQ1"]
    bank = load_question_bank(SEED / "dataset" / "questions" / "WV7_English.jsonl")
    monkeypatch.setenv("OPENAI_API_KEY", "local-test-key-123")
    with LocalOpenAIServer(lambda body, n: Reply("{'1': '60%', '2': '40%'}")) as srv:
        backend = OpenAIChatBackend("toy-model", base_url=srv.base_url, timeout=5.0)
        s = collect(bank, backend=backend, store=tmp_path / "a.jsonl", templates=path,
                    questions=[r["id"] for r in rq1], progress=False)
        bodies = {r["body"]["messages"][1]["content"]: r["body"] for r in srv.chat_requests()}
    assert s.n_requests == len(rq1) == 14 and s.exit_code == 0
    for r in rq1:
        body = bodies[r["prompt"]]
        assert body["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}
        assert body["temperature"] == 0


def test_template_file_errors_are_named(tmp_path, bank):
    bad = tmp_path / "t.json"
    bad.write_text(json.dumps({"format": "alignstat-prompts/1", "templates": [{"text": "Q: {{questoin}}"}]}))
    with pytest.raises(ValueError, match=r"t\.json: templates\[0\]: unknown placeholder\(s\) \['questoin'\]"):
        load_templates(bad)
    bad.write_text(json.dumps({"format": "alignstat-prompts/1", "templates": [
        {"text": "{{examples}}", "examples_file": "nope.txt"}]}))
    with pytest.raises(FileNotFoundError, match=r"templates\[0\]: examples_file .*nope\.txt"):
        load_templates(bad)
    good = tmp_path / "g.json"
    good.write_text(json.dumps({"format": "alignstat-prompts/1", "templates": [
        {"steering": "persona", "country": "Chile", "text": "As people in {{country}}: {{question}} {x} {{options}}"}]}))
    with pytest.raises(ValueError, match=r"no template for answer_method='verbalized', steering='none'.*"
                                         r"\('persona', 'Chile', 'English'\)"):
        PromptBuilder(templates=good)
    msgs = PromptBuilder(steering="persona", country="Chile", templates=good).messages(bank["Q57"], bank)
    assert msgs == [{"role": "user", "content": "As people in Chile: Would you say that most people can be trusted "
                                                "or that you need to be very careful? {x} 1. Most people can be "
                                                "trusted\n2. Need to be very careful"}]
