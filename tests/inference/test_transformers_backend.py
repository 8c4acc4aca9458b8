"""TransformersBackend on a tiny randomly initialised Llama and a tokenizer trained here (no download)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import skip_or_fail

os.environ.setdefault("HF_HUB_OFFLINE", "1")

try:
    import tokenizers  # noqa: F401
    import torch
    import transformers
except ModuleNotFoundError as exc:  # pragma: no cover - the [transformers] extra is missing
    torch = transformers = None
    _MISSING = str(exc)
else:
    _MISSING = ""


@pytest.fixture(autouse=True)
def _needs_transformers():
    if _MISSING:
        skip_or_fail(f"the transformers extra is not installed ({_MISSING})")

from inference import AnswerStore, Request, TransformersBackend, collect, load_templates  # noqa: E402

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    corpus = [t["verbalized"] + " " + t["logprobs"] for t in load_templates().values()]
    corpus += ["Question: How important is family in your life? '1'. Very important '2'. Rather important",
               "Answer: {'1': '40%', '2': '30%', '3': '20%', '4': '10%'} 10 7 5"] * 5
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<pad>", "<eos>", "<|user|>",
                                                                  "<|assistant|>", "<|end|>"])
    tok.train_from_iterator(corpus, trainer=trainer)
    hf_tok = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                                  eos_token="<eos>")
    hf_tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(vocab_size=len(hf_tok), hidden_size=16, intermediate_size=32,
                                   num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                   max_position_embeddings=4096, pad_token_id=hf_tok.pad_token_id,
                                   eos_token_id=hf_tok.eos_token_id, bos_token_id=None)
    model = transformers.LlamaForCausalLM(cfg)
    assert sum(p.numel() for p in model.parameters()) < 20_000
    return TransformersBackend(model, tokenizer=hf_tok, name="tiny-llama"), hf_tok, model


MSG = [{"role": "user", "content": "Question: How important is family in your life? Answer:"}]


def test_option_logprobs_match_a_direct_forward_pass(tiny):
    backend, tok, model = tiny
    keys = ("1", "2", "3", "10")
    c = backend.complete(Request(key="k", messages=MSG, params={"logprobs": True}, option_keys=keys))
    ids = tok.apply_chat_template(MSG, add_generation_prompt=True, tokenize=True, return_dict=False)
    ids = list(ids["input_ids"] if hasattr(ids, "keys") else ids)
    for k in keys:
        kid = tok(k, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([ids + kid])).logits[0].double()
        lsm = torch.log_softmax(logits, -1)
        ref = sum(float(lsm[len(ids) - 1 + j, t]) for j, t in enumerate(kid))
        assert abs(c.option_logprobs[k] - ref) < 1e-4
    assert c.usage["prompt_tokens"] == len(ids)


def test_greedy_decoding_equals_a_manual_argmax_loop(tiny):
    backend, tok, model = tiny
    c = backend.complete(Request(key="k", messages=MSG, params={"max_tokens": 6}))
    ids = tok.apply_chat_template(MSG, add_generation_prompt=True, tokenize=True, return_dict=False)
    ids = list(ids["input_ids"] if hasattr(ids, "keys") else ids)
    out = []
    with torch.no_grad():
        for _ in range(6):
            nxt = int(model(torch.tensor([ids + out])).logits[0, -1].argmax())
            out.append(nxt)
            if nxt == tok.eos_token_id:
                break
    assert c.text == tok.decode(out, skip_special_tokens=True)
    assert c.usage["completion_tokens"] == len(out)


def test_sampling_is_reproducible_from_the_seed(tiny):
    backend, _, _ = tiny
    texts = [backend.complete(Request(key="k", messages=MSG, params={"max_tokens": 8, "temperature": 1.5,
                                                                      "seed": s})).text for s in (1, 1, 2, 3, 4)]
    assert texts[0] == texts[1]
    assert len(set(texts[1:])) > 1


def test_collect_with_a_local_model(tiny, bank, tmp_path):
    backend, _, _ = tiny
    store = tmp_path / "hf.jsonl"
    s = collect(bank, backend=backend, store=store, answer_method="logprobs", questions=["Q1", "Q57"], progress=False,
                concurrency=4)
    assert s.n_done == 2
    recs = AnswerStore(store).records()
    assert all(set(r["option_logprobs"]) == set(r["keys"]) for r in recs)
    # random weights cannot write a distribution: recorded as transient failures with their raw text, run completes
    s = collect(bank, backend=backend, store=store, answer_method="verbalized", questions=["Q1"], progress=False,
                max_tokens=5, parse_retries=0)
    assert s.n_done + s.n_transient == 1 and s.n_requests == 1
    assert s.exit_code == (0 if s.n_done else 3)
    rec = [r for r in AnswerStore(store).records() if r["answer_method"] == "verbalized"][0]
    assert rec["text"] is not None and rec["model"] == "tiny-llama"


def test_importing_inference_does_not_import_heavy_libraries():
    code = "import sys, inference, inference.cli, inference.testing; " \
           "print(sorted(m for m in ('openai', 'torch', 'transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_collect_with_a_saved_local_model(tiny, bank_path, tmp_path):
    from click.testing import CliRunner

    from inference.cli import collect as collect_cmd

    _, tok, model = tiny
    model_dir = tmp_path / "tiny-llama"
    model.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    store = tmp_path / "cli.jsonl"
    r = CliRunner().invoke(collect_cmd, ["--questions", str(bank_path), "--model", str(model_dir), "--backend",
                                         "transformers", "--answer-method", "logprobs", "--store", str(store), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "7 answered, 0 transient failures, 0 permanent failures" in r.output
    recs = AnswerStore(store).records()
    assert all(set(x["option_logprobs"]) == set(x["keys"]) for x in recs)
