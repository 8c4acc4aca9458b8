"""Model backends behind one small interface.

A backend turns a :class:`Request` (chat messages + generation parameters)
into a :class:`Completion` (text, option log-probabilities, token usage).
The runner (:func:`inference.collect`) handles concurrency, retries and the
store; backends only talk to the model.

* :class:`OpenAIChatBackend` -- any OpenAI-compatible chat-completions
  server through the ``openai`` client (OpenAI, DeepSeek, vLLM, Ollama via
  ``base_url``).
* :class:`OpenAIBatchBackend` -- the OpenAI Batch API (write JSONL, upload,
  submit, poll, download; resumable).
* :class:`TransformersBackend` -- a local ``transformers`` causal LM.

``openai``, ``transformers`` and ``torch`` are imported only when a backend
that needs them is created.  API keys are read from the environment (the
variable named by ``api_key_env``) and are never stored, logged or put in
error messages.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Request",
    "Completion",
    "Backend",
    "TransientError",
    "FatalError",
    "OpenAIChatBackend",
    "OpenAIBatchBackend",
    "TransformersBackend",
    "redact",
    "MIN_SECRET_LENGTH",
]


@dataclass(frozen=True)
class Request:
    """One model call.

    Attributes
    ----------
    key : str
        Store key (hash of model, messages, params, sample).
    messages : list of dict
        Chat messages.
    params : dict
        Generation parameters (``temperature``, ``max_tokens``, ``seed``,
        ``logprobs``, ``top_logprobs``).
    option_keys : tuple of str
        Option keys (the log-prob method scores these tokens).
    """

    key: str
    messages: list
    params: dict
    option_keys: tuple = ()


@dataclass
class Completion:
    """A model's answer to one :class:`Request`."""

    text: str
    option_logprobs: dict | None = None
    usage: dict = field(default_factory=dict)
    finish_reason: str | None = None


class TransientError(Exception):
    """A failure worth retrying (rate limit, 5xx, timeout, connection).

    ``retry_after`` (seconds or None) is the server's ``Retry-After`` hint.
    """

    def __init__(self, message, *, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(exc):
    resp = getattr(exc, "response", None)
    headers = getattr(resp, "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class FatalError(Exception):
    """A failure that stops the whole run (bad key, unknown model)."""


_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{3,})")

#: Secrets shorter than this are placeholders ("x", "none", "EMPTY" for local
#: servers), not secrets: replacing them would change ordinary text.
MIN_SECRET_LENGTH = 8


def redact(text, secrets=(), *, key_like=True) -> str:
    """Remove secrets from one free-text string.

    Parameters
    ----------
    text : str
        An error message or a raw model answer (never serialized JSON).
    secrets : sequence of str
        Exact strings to replace by ``[REDACTED]``; strings shorter than
        :data:`MIN_SECRET_LENGTH` characters are left alone.
    key_like : bool
        Also replace ``sk-...`` strings (keys a server echoes back, often
        partly masked) -- for error messages, not for model answers.

    Returns
    -------
    str

    Examples
    --------
    >>> redact("Incorrect API key provided: abcdefgh1234", ["abcdefgh1234"])
    'Incorrect API key provided: [REDACTED]'
    >>> redact("condition none", ["none"])
    'condition none'
    """
    text = str(text)
    for s in secrets:
        if s and len(s) >= MIN_SECRET_LENGTH:
            text = text.replace(s, "[REDACTED]")
    return _KEY_PATTERN.sub("[REDACTED]", text) if key_like else text


class Backend:
    """Interface: ``complete(request) -> Completion``.

    Subclasses set ``name`` (recorded in the store), ``model`` and
    ``max_concurrency`` (None: no limit of its own), and raise
    :class:`TransientError` for retryable failures and :class:`FatalError`
    for failures that make every further request pointless.  Any other
    exception fails the one request.
    """

    name = "backend"
    model = ""
    max_concurrency = None
    batch = False
    secrets: tuple = ()

    def complete(self, request: Request) -> Completion:  # pragma: no cover - interface
        """Answer one request."""
        raise NotImplementedError


def _option_logprobs_from_top(top, option_keys):
    """Map top-logprob tokens (``' 1'``, ``'1'``) to option keys (log-sum-exp)."""
    keys = {str(k).strip(): str(k) for k in option_keys}
    acc = {}
    for tok, lp in top:
        k = keys.get(str(tok).strip().strip("'\"*.:)("))
        if k is None or lp is None:
            continue
        if k in acc:
            m = max(acc[k], lp)
            acc[k] = m + math.log(math.exp(acc[k] - m) + math.exp(lp - m))
        else:
            acc[k] = float(lp)
    return acc


class OpenAIChatBackend(Backend):
    """OpenAI-compatible chat completions.

    Parameters
    ----------
    model : str
        Model name sent to the server.
    base_url : str, optional
        Server URL (e.g. ``http://localhost:8000/v1`` for vLLM,
        ``http://localhost:11434/v1`` for Ollama, ``https://api.deepseek.com``).
    api_key_env : str
        Environment variable holding the key (default ``OPENAI_API_KEY``).
        With a ``base_url`` and no such variable, a placeholder key is sent
        (local servers ignore it).
    timeout : float
        Seconds per request.
    client : openai.OpenAI, optional
        A ready client (tests); ``base_url``/``api_key_env`` are then ignored.
    """

    name = "openai-chat"

    def __init__(self, model, *, base_url=None, api_key_env="OPENAI_API_KEY", timeout=60.0, client=None):
        if not model:
            raise ValueError("`model` must be a non-empty model name.")
        _check_timeout(timeout)
        if base_url is not None:
            _check_base_url(base_url)
        self.model = model
        self.base_url = base_url
        self.timeout = float(timeout)
        import openai  # lazy

        self._openai = openai
        key = os.environ.get(api_key_env) if api_key_env else None
        if client is None:
            if not key:
                if base_url is None:
                    raise ValueError(
                        f"environment variable {api_key_env!r} is not set; the OpenAI API needs a key "
                        "(keys are read from the environment only)."
                    )
                key = "not-needed"
            client = openai.OpenAI(api_key=key, base_url=base_url, timeout=timeout, max_retries=0)
        self.secrets = tuple(s for s in (key,) if s and s != "not-needed")
        self.client = client

    def _classify(self, exc):
        o = self._openai
        msg = redact(f"{type(exc).__name__}: {getattr(exc, 'message', exc)}", self.secrets)
        if isinstance(exc, (o.RateLimitError, o.InternalServerError, o.APITimeoutError, o.APIConnectionError)):
            return TransientError(msg, retry_after=_retry_after(exc))
        if isinstance(exc, (json.JSONDecodeError, o.APIResponseValidationError)):
            return TransientError(f"the server's response is not valid JSON ({msg})")
        if isinstance(exc, o.APIStatusError) and exc.status_code in (408, 409, 429) or (
            isinstance(exc, o.APIStatusError) and exc.status_code >= 500
        ):
            return TransientError(msg, retry_after=_retry_after(exc))
        if isinstance(exc, (o.AuthenticationError, o.PermissionDeniedError)):
            return FatalError(f"the server refused the request ({msg}); check the API key")
        if isinstance(exc, o.NotFoundError):
            return FatalError(f"not found: {msg}; check --model {self.model!r} (unknown model?) and --base-url")
        return None

    def preflight(self):
        """Check, before the first request, that the server answers and accepts the key.

        Lists the server's models (one cheap request).  Raises
        :class:`FatalError` when the server cannot be reached or refuses the
        key; a server that does not list models passes (its first request
        will tell).
        """
        o = self._openai
        where = self.base_url or "the OpenAI API"
        try:
            self.client.models.list()
        except (o.APIConnectionError, o.APITimeoutError) as exc:
            raise FatalError(
                f"cannot reach the server at {where} ({type(exc).__name__}: {redact(exc, self.secrets)}); "
                "check --base-url and that the server is running. Nothing was asked or stored."
            ) from None
        except (o.AuthenticationError, o.PermissionDeniedError) as exc:
            raise FatalError(
                f"the server at {where} refused the API key ({redact(exc, self.secrets)}); check the variable "
                "named by --api-key-env. Nothing was asked or stored."
            ) from None
        except Exception:  # noqa: BLE001 - a server without /models: the first request will tell
            return

    def complete(self, request: Request) -> Completion:
        """Answer one request through the chat-completions endpoint."""
        try:
            resp = self.client.chat.completions.create(model=self.model, messages=request.messages, **request.params)
        except Exception as exc:  # noqa: BLE001 - classified below
            new = self._classify(exc)
            if new is None:
                raise RuntimeError(redact(f"{type(exc).__name__}: {exc}", self.secrets)) from None
            raise new from None
        return _completion_from_response(resp, request.option_keys)


def _check_timeout(timeout):
    try:
        ok = float(timeout) > 0 and math.isfinite(float(timeout))
    except (TypeError, ValueError):
        ok = False
    if not ok or isinstance(timeout, bool):
        raise ValueError(f"`timeout` must be a positive number of seconds; got {timeout!r}.")


def _check_base_url(base_url):
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(str(base_url))
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"`base_url` {base_url!r} is not an http(s) URL; pass e.g. http://localhost:8000/v1 (vLLM) or "
            "http://localhost:11434/v1 (Ollama)."
        )


def _completion_from_response(resp, option_keys):
    if isinstance(resp, dict):
        if not resp.get("choices"):
            raise TransientError("the server returned no choices")
        choice = resp["choices"][0]
        text = (choice.get("message") or {}).get("content") or ""
        usage = resp.get("usage") or {}
        lp = ((choice.get("logprobs") or {}).get("content")) or []
        top = [(t.get("token"), t.get("logprob")) for t in (lp[0].get("top_logprobs") or [])] if lp else []
        if lp:
            top.append((lp[0].get("token"), lp[0].get("logprob")))
        finish = choice.get("finish_reason")
    else:
        if not resp.choices:
            raise TransientError("the server returned no choices")
        choice = resp.choices[0]
        text = choice.message.content or ""
        u = resp.usage
        usage = {"prompt_tokens": getattr(u, "prompt_tokens", 0) or 0,
                 "completion_tokens": getattr(u, "completion_tokens", 0) or 0} if u else {}
        top = []
        if choice.logprobs is not None and choice.logprobs.content:
            first = choice.logprobs.content[0]
            top = [(t.token, t.logprob) for t in (first.top_logprobs or [])] + [(first.token, first.logprob)]
        finish = choice.finish_reason
    option_lp = _option_logprobs_from_top(_dedupe(top), option_keys) if top else None
    usage = {k: int(usage.get(k, 0) or 0) for k in ("prompt_tokens", "completion_tokens")}
    return Completion(text=text, option_logprobs=option_lp, usage=usage, finish_reason=finish)


def _dedupe(top):
    seen, out = set(), []
    for tok, lp in top:
        if tok not in seen:
            seen.add(tok)
            out.append((tok, lp))
    return out


class OpenAIBatchBackend(OpenAIChatBackend):
    """The OpenAI Batch API (``/v1/batches``), resumable.

    :func:`inference.collect` hands it every pending request at once.  It
    writes them to a JSONL file (``custom_id`` = store key), uploads it,
    creates a batch, saves the batch id next to the store
    (``<store>.batch.json``) and polls until the batch ends, then downloads
    the output and error files.  A run stopped while waiting resumes by
    polling the saved batch instead of submitting again.

    Parameters
    ----------
    poll_interval : float
        Seconds between polls.
    max_wait : float
        Give up waiting after this many seconds (the batch id stays saved;
        run again to resume).
    Other parameters as :class:`OpenAIChatBackend`.
    """

    name = "openai-batch"
    batch = True

    def __init__(self, model, *, poll_interval=30.0, max_wait=24 * 3600.0, **kwargs):
        super().__init__(model, **kwargs)
        self.poll_interval = float(poll_interval)
        self.max_wait = float(max_wait)

    def run_batch(self, requests, *, state_path, on_result, on_error):
        """Submit (or resume) a batch and report each result.

        ``on_result(request, completion)`` and ``on_error(request, message)``
        are called once per request found in the output/error files.
        """
        state_path = Path(state_path)
        by_key = {r.key: r for r in requests}
        state = json.loads(state_path.read_text()) if state_path.exists() else {}
        batch_id = state.get("batch_id")
        if batch_id and not set(state.get("keys", [])) & set(by_key):
            batch_id = None  # the saved batch covers none of what is still missing
        try:
            if not batch_id:
                lines = [
                    json.dumps({"custom_id": r.key, "method": "POST", "url": "/v1/chat/completions",
                                "body": {"model": self.model, "messages": r.messages, **r.params}},
                               ensure_ascii=False)
                    for r in requests
                ]
                payload = ("\n".join(lines) + "\n").encode("utf-8")
                f = self.client.files.create(file=("batch_input.jsonl", payload), purpose="batch")
                b = self.client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                               completion_window="24h")
                batch_id = b.id
                tmp = state_path.with_suffix(".tmp")
                tmp.write_text(json.dumps({"batch_id": batch_id, "input_file_id": f.id, "keys": list(by_key)}))
                os.replace(tmp, state_path)
            start = time.monotonic()
            while True:
                b = self.client.batches.retrieve(batch_id)
                if b.status in ("completed", "failed", "expired", "cancelled"):
                    break
                if time.monotonic() - start > self.max_wait:
                    raise TransientError(
                        f"batch {batch_id} still {b.status!r} after {self.max_wait:g} s; run again to resume"
                    )
                time.sleep(self.poll_interval)
        except (TransientError, FatalError):
            raise
        except Exception as exc:  # noqa: BLE001
            new = self._classify(exc)
            raise (new or RuntimeError(redact(f"{type(exc).__name__}: {exc}", self.secrets))) from None
        for file_id, is_error in ((getattr(b, "output_file_id", None), False), (getattr(b, "error_file_id", None), True)):
            if not file_id:
                continue
            content = self.client.files.content(file_id).text
            for line in content.splitlines():
                if not line.strip():
                    continue
                rec = json.loads(line)
                req = by_key.get(rec.get("custom_id"))
                if req is None:
                    continue
                resp = rec.get("response") or {}
                body = resp.get("body")
                if rec.get("error") or is_error or resp.get("status_code", 200) >= 400 or not body:
                    err = rec.get("error") or (body or {}).get("error") or f"status {resp.get('status_code')}"
                    on_error(req, redact(json.dumps(err) if not isinstance(err, str) else err, self.secrets))
                else:
                    try:
                        comp = _completion_from_response(body, req.option_keys)
                    except TransientError as exc:
                        on_error(req, str(exc))
                        continue
                    on_result(req, comp)
        state_path.unlink(missing_ok=True)
        if b.status != "completed":
            raise RuntimeError(f"batch {batch_id} ended with status {b.status!r}")


class TransformersBackend(Backend):
    """A local ``transformers`` causal language model.

    Parameters
    ----------
    model : str or PreTrainedModel
        A model name/path for ``AutoModelForCausalLM.from_pretrained`` or a
        loaded model.
    tokenizer : str or tokenizer, optional
        Tokenizer (default: loaded from ``model``).
    name : str, optional
        Model name recorded in the store (default: the model path or its
        ``config.name_or_path``).
    device : str
        Torch device (default ``"cpu"``).

    Notes
    -----
    The prompt is the tokenizer's chat template applied to the messages
    (with the generation prompt); a tokenizer without a template gets
    ``"<role>: <content>"`` lines followed by ``"assistant:"``.  Decoding is
    greedy when ``temperature`` is 0 or absent, otherwise sampled with a
    generator seeded by the request's ``seed``.  With ``logprobs`` in the
    parameters, the answer is the log-probability of each option key as the
    continuation of the prompt (summed over its tokens), not generated text.
    """

    name = "transformers"
    max_concurrency = 1

    def __init__(self, model, *, tokenizer=None, name=None, device="cpu"):
        import torch  # lazy
        import transformers  # lazy

        self._torch = torch
        if isinstance(model, (str, os.PathLike)):
            path = str(model)
            model = transformers.AutoModelForCausalLM.from_pretrained(path)
            if tokenizer is None:
                tokenizer = path
        if isinstance(tokenizer, (str, os.PathLike)):
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(tokenizer))
        if tokenizer is None:
            raise ValueError("TransformersBackend: pass `tokenizer` when `model` is a loaded model.")
        self.hf_model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.device = device
        self.model = name or getattr(model.config, "name_or_path", "") or type(model).__name__

    def _prompt_ids(self, messages):
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            out = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
            if hasattr(out, "get") and not isinstance(out, list):
                out = out["input_ids"]
            ids = list(out[0] if out and isinstance(out[0], list) else out)
        else:
            text = "\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\nassistant:"
            ids = tok(text, add_special_tokens=True)["input_ids"]
        return ids

    def complete(self, request: Request) -> Completion:
        """Answer one request with the local model."""
        torch = self._torch
        ids = self._prompt_ids(request.messages)
        p = request.params
        with torch.no_grad():
            if p.get("logprobs"):
                scores = {}
                for k in request.option_keys:
                    kid = self.tokenizer(str(k), add_special_tokens=False)["input_ids"]
                    if not kid:
                        continue
                    seq = torch.tensor([ids + kid], device=self.device)
                    logits = self.hf_model(seq).logits[0].float()
                    lsm = torch.log_softmax(logits, dim=-1)
                    total = 0.0
                    for j, t in enumerate(kid):
                        total += float(lsm[len(ids) - 1 + j, t])
                    scores[str(k)] = total
                return Completion(text="", option_logprobs=scores,
                                  usage={"prompt_tokens": len(ids), "completion_tokens": 0}, finish_reason="logprobs")
            input_ids = torch.tensor([ids], device=self.device)
            temperature = p.get("temperature")
            kwargs = {"max_new_tokens": int(p.get("max_tokens", 64)), "attention_mask": torch.ones_like(input_ids)}
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
            if pad is not None:
                kwargs["pad_token_id"] = pad
            if temperature:
                torch.manual_seed(int(p.get("seed", 0)))
                kwargs.update(do_sample=True, temperature=float(temperature), top_k=0)
            else:
                kwargs.update(do_sample=False)
            out = self.hf_model.generate(input_ids, **kwargs)
        new = out[0, len(ids):].tolist()
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        finish = "length" if len(new) >= kwargs["max_new_tokens"] else "stop"
        return Completion(text=text, usage={"prompt_tokens": len(ids), "completion_tokens": len(new)},
                          finish_reason=finish)
