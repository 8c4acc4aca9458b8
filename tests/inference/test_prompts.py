"""Prompt templates (data, one entry per language) and steering conditions."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from inference import FewShotExamples, PromptBuilder, load_templates
from inference.prompts import format_question

LANGS = ["English", "German", "Spanish", "Portuguese", "Russian", "Chinese", "Japanese", "Korean", "Vietnamese"]


def content(messages):
    assert len(messages) == 1 and messages[0]["role"] == "user"
    return messages[0]["content"]


def test_every_language_has_every_field():
    t = load_templates()
    assert sorted(t) == sorted(LANGS)
    fields = set(t["English"])
    for lang in LANGS:
        assert set(t[lang]) == fields, lang
        assert "{n_examples}" in t[lang]["verbalized"]
        assert "{country}" in t[lang]["persona"] and "{n}" in t[lang]["sequence"]
        t[lang]["verbalized"].format(n_examples=5)
        t[lang]["persona"].format(country="X")


def test_verbalized_prompt_follows_the_paper_layout(bank):
    q = bank["Q1"]
    text = content(PromptBuilder(answer_method="verbalized").messages(q, bank))
    assert text.startswith("I will provide a distribution over answer choices")
    assert "After the 5 examples" in text
    assert text.endswith(
        "Question: How important is family in your life?\n'1'. Very important\n'2'. Rather important\n"
        "'3'. Not very important\n'4'. Not at all important\nAnswer:"
    )
    # five random-distribution examples, never the question asked
    answers = re.findall(r"Answer: (\{.*\})", text)
    assert len(answers) == 5
    assert text.count("How important is family") == 1


def test_persona_names_the_country(bank):
    text = content(PromptBuilder(answer_method="verbalized", steering="persona", country="Germany").messages(bank["Q1"], bank))
    assert "people from Germany" in text


def test_language_steering_uses_target_language(bank_de):
    b = PromptBuilder(answer_method="verbalized", steering="language-persona", country="Germany", language="German",
                      n_examples=1)
    text = content(b.messages(bank_de["Q1"], bank_de))
    assert text.startswith("Ich gebe Ihnen")
    assert "Menschen aus Deutschland" in text
    assert "Frage: Wie wichtig ist Ihnen die Familie?" in text and text.endswith("Antwort:")
    assert "Question:" not in text and "Answer:" not in text


def test_few_shot_from_real_distributions(bank):
    rows = []
    dist = {"Q60": [0.8, 0.15, 0.05, 0.0], "Q70": [0.1, 0.4, 0.3, 0.2], "Q57": [0.25, 0.75]}
    for qid, ps in dist.items():
        for i, p in enumerate(ps):
            rows += [{"question": qid, "option": float(i + 1), "prob": p, "country": "Chile"},
                     {"question": qid, "option": float(i + 1), "prob": 1 / len(ps), "country": "Peru"}]
    frame = pd.DataFrame(rows)
    t = load_templates()["English"]
    ex = FewShotExamples.from_distributions(frame, bank, template=t, n=3, where={"country": "Chile"})
    assert ex.ids == ("Q60", "Q70", "Q57")  # the paper's default ids first
    assert "Answer: {'1': '80.00%', '2': '15.00%', '3': '5.00%', '4': '0.00%'}" in ex.text
    assert "Answer: {'1': '25.00%', '2': '75.00%'}" in ex.text
    b = PromptBuilder(answer_method="verbalized", steering="few-shot", country="Chile", examples=ex)
    text = content(b.messages(bank["Q1"], bank))
    assert ex.text in text and "After the 3 examples" in text
    with pytest.raises(ValueError, match="only 2 usable example question"):
        FewShotExamples.from_distributions(frame, bank, template=t, n=3, where={"country": "Chile"},
                                           exclude=("Q57",))


def test_few_shot_file_is_used_verbatim(tmp_path, bank):
    f = tmp_path / "lang-En_dist-Chile.txt"
    f.write_text("Question: X?\n'1'. a\n'2'. b\nAnswer: {'1': '10.00%', '2': '90.00%'}\n")
    ex = FewShotExamples.from_file(f)
    text = content(PromptBuilder(answer_method="verbalized", steering="few-shot", country="Chile",
                                 examples=ex).messages(bank["Q1"], bank))
    assert f.read_text().strip() in text


def test_shuffled_options_keep_their_keys(bank):
    q = bank["Q106"]
    b = PromptBuilder(answer_method="verbalized", shuffle_options=True, rng=3)
    text = content(b.messages(q, bank)).split("------")[-1]
    shown = re.findall(r"^'(\d+)'\. (\S+)$", text, re.M)
    assert sorted(shown, key=lambda kv: int(kv[0])) == [(k, c) for k, c in zip(q.keys, q.choices)]
    assert [k for k, _ in shown] != list(q.keys)
    again = content(PromptBuilder(answer_method="verbalized", shuffle_options=True, rng=3).messages(q, bank))
    assert again.split("------")[-1] == text  # reproducible from the seed


def test_other_methods(bank):
    q = bank["Q27"]
    assert "with the number of one option only" in content(PromptBuilder(answer_method="logprobs").messages(q, bank))
    assert "Imagine 30 different people" in content(PromptBuilder(answer_method="sequence").messages(q, bank))
    free = content(PromptBuilder(answer_method="freetext", steering="persona", country="Japan").messages(q, bank))
    assert free == ("Answer as a person from Japan.\n" + q.text + "\n1. Strongly agree\n2. Agree\n"
                    "3. Disagree\n4. Strongly disagree")
    assert PromptBuilder(answer_method="logprobs").params() == {"max_tokens": 1, "logprobs": True, "top_logprobs": 20,
                                                          "temperature": 0.0}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"answer_method": "vibes"}, "`answer_method` must be one of"),
        ({"steering": "magic"}, "`steering` must be one of"),
        ({"steering": "persona"}, "needs `country`"),
        ({"steering": "few-shot", "country": "Chile"}, "needs `examples`"),
        ({"steering": "language"}, "needs a target `language`"),
        ({"language": "Klingon"}, "no prompt template for language 'Klingon'"),
    ],
)
def test_validation_messages(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PromptBuilder(**kwargs)


def test_real_banks_have_templates(seed_data):
    from alignstat import load_question_bank

    for path in sorted((seed_data / "dataset" / "questions").glob("WV7_*.jsonl")):
        bank = load_question_bank(path)
        if bank.questions[0].language == "shuffle":
            continue
        lang = bank.questions[0].language
        steering = "none" if lang == "English" else "language"
        text = content(PromptBuilder(answer_method="verbalized", steering=steering, language=lang).messages(bank.questions[0], bank))
        assert format_question(bank.questions[0], load_templates()[lang]) in text


def test_seed_few_shot_files(seed_data):
    from alignstat import load_question_bank

    de = load_question_bank(seed_data / "dataset" / "questions" / "WV7_German.jsonl")
    for name, n in (("few_shot/lang-De_dist-Germany.txt", 5), ("sensitivity/number.txt", 3)):
        ex = FewShotExamples.from_file(seed_data / "inputs" / name)
        assert ex.n_examples == n
    ex = FewShotExamples.from_file(seed_data / "inputs" / "few_shot" / "lang-De_dist-Germany.txt")
    b = PromptBuilder(answer_method="verbalized", steering="language-few-shot", country="Germany", language="German",
                      examples=ex)
    text = content(b.messages(de.questions[0], de))
    assert "Nach den 5 Beispielen" in text or "nach den 5 Beispielen" in text
    assert ex.text in text and text.endswith("Antwort:")
