"""A local OpenAI-protocol server for tests, demos and benchmarks.

:class:`LocalOpenAIServer` is a real HTTP server (stdlib
``ThreadingHTTPServer`` on ``127.0.0.1``, port chosen by the OS) that speaks
enough of the OpenAI protocol for the ``openai`` client:
``POST /v1/chat/completions`` (with ``logprobs``/``top_logprobs``),
``POST /v1/files`` (multipart upload), ``GET /v1/files/{id}/content``,
``POST /v1/batches`` and ``GET /v1/batches/{id}``.

What it answers is pluggable: a *responder* is a callable
``responder(body, n) -> Reply | Fault`` (``body`` the request JSON, ``n`` the
request's sequence number).  :class:`IllustrativeAnswerModel` is a small
deterministic responder.  Its answers are **illustrative only** -- derived from a
hash of the prompt, they describe no real model and no real population.

Faults (:class:`Fault`): an HTTP status (429, 500, 503, ...), ``"slow"``
(sleep ``delay`` seconds before answering, to trigger client timeouts),
``"drop"`` (close the connection without answering), ``"reset"`` (reset
the connection: TCP RST), ``"midbody"`` (send the headers and half of the
body, then close), ``"garbage"`` (a 200 response whose body is not JSON)
or ``"empty"`` (a valid completion with no choices).  :func:`scripted`
turns a list of replies/faults into a responder that plays them in order
and then falls back to another responder.  :meth:`LocalOpenAIServer.refuse`
closes the listening socket (connections are refused) until
:meth:`LocalOpenAIServer.accept` opens it again on the same port.

``GET /v1/models`` lists the server's models; with ``api_key`` set, every
request with another bearer token gets HTTP 401.

Every request is logged in :attr:`LocalOpenAIServer.log` (path, body,
authorization header, status), so tests can count what reached the server.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["LocalOpenAIServer", "Reply", "Fault", "scripted", "IllustrativeAnswerModel", "request_text"]


@dataclass
class Reply:
    """A chat-completion answer: ``text`` and, optionally, first-token logprobs.

    ``top_logprobs`` is a list of ``(token, logprob)`` pairs returned as the
    first token's alternatives when the request asks for ``logprobs``.
    """

    text: str
    top_logprobs: list | None = None
    finish_reason: str = "stop"


@dataclass
class Fault:
    """A scripted failure.

    ``kind`` is an HTTP status (429, 500, ...; ``delay`` > 0 is sent as a
    ``Retry-After`` header), ``"slow"`` (wait ``delay`` seconds, then send
    ``then``), ``"drop"`` (close the connection), ``"reset"`` (TCP reset),
    ``"midbody"`` (half a body, then close), ``"garbage"`` (status 200 with
    a body that is not JSON) or ``"empty"`` (status 200, no choices).
    """

    kind: object
    delay: float = 0.0
    then: object = None  # for "slow": the reply sent after the delay
    message: str = ""


def request_text(body) -> str:
    """Concatenated message contents of a chat request body."""
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))


def scripted(items, fallback):
    """Responder playing ``items`` (Reply/Fault/str) in order, then ``fallback``."""
    lock = threading.Lock()
    queue = list(items)

    def responder(body, n):
        with lock:
            item = queue.pop(0) if queue else None
        if item is None:
            return fallback(body, n)
        return Reply(item) if isinstance(item, str) else item

    return responder


_OPTION_RE = re.compile(r"^'([^']+)'\. ", re.M)
_FREE_OPTION_RE = re.compile(r"^(\d+)\. (.+)$", re.M)


class IllustrativeAnswerModel:
    """Deterministic illustrative responder (not a model of anything real).

    It finds the asked question (the last ``Question:``-style block of the
    prompt) and its option keys, derives a distribution from a SHA-256 hash
    of the prompt's last block, and answers in the format the prompt asks
    for: a verbalized ``{'1': '..%'}`` mapping, comma-separated sampled keys,
    first-token log-probabilities, or a free-text sentence (sampled with the
    request ``seed``; a hash-chosen share of questions is refused).

    Parameters
    ----------
    refusal_rate : float
        Share of free-text questions it refuses.
    """

    def __init__(self, *, refusal_rate=0.1):
        self.refusal_rate = float(refusal_rate)

    @staticmethod
    def _dist(block, n):
        h = hashlib.sha256(block.encode("utf-8")).digest()
        w = [1 + h[i] for i in range(n)]
        s = sum(w)
        return [x / s for x in w]

    def __call__(self, body, n):
        """Answer one chat request body."""
        text = request_text(body)
        block = text.split("------")[-1]
        keys = _OPTION_RE.findall(block)
        freetext = False
        if not keys:
            found = _FREE_OPTION_RE.findall(block)
            keys = [k for k, _ in found]
            freetext = True
        if not keys:
            return Reply("I am not sure what you are asking.")
        probs = self._dist(block, len(keys))
        seed = int(body.get("seed") or 0)
        if body.get("logprobs"):
            return Reply(keys[max(range(len(keys)), key=probs.__getitem__)],
                         top_logprobs=[(k, math.log(p)) for k, p in zip(keys, probs)])
        if freetext:
            h = hashlib.sha256(block.encode()).digest()
            if h[-1] / 255 < self.refusal_rate:
                return Reply("As an AI, I don't have personal opinions on this question.")
            u = (hashlib.sha256(f"{block}|{seed}".encode()).digest()[0] + 0.5) / 256
            cum, pick = 0.0, keys[-1]
            for k, p in zip(keys, probs):
                cum += p
                if u <= cum:
                    pick = k
                    break
            return Reply(f"I would choose {pick}.")
        m = re.search(r"(\d+) different people", text)
        if m or "separated by commas" in text:
            k = int(m.group(1)) if m else 30
            counts = [int(round(p * k)) for p in probs]
            seq = [key for key, c in zip(keys, counts) for _ in range(c)]
            return Reply(", ".join(seq))
        return Reply("{" + ", ".join(f"'{k}': '{100 * p:.2f}%'" for k, p in zip(keys, probs)) + "}")


def _completion_body(model, reply, body):
    created = int(time.time())
    choice = {"index": 0, "message": {"role": "assistant", "content": reply.text},
              "finish_reason": reply.finish_reason, "logprobs": None}
    if body.get("logprobs") and reply.top_logprobs is not None:
        k = int(body.get("top_logprobs") or 0)
        tops = [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in reply.top_logprobs[:k]]
        first = reply.top_logprobs[0] if reply.top_logprobs else (reply.text, 0.0)
        choice["logprobs"] = {"content": [{"token": first[0], "logprob": first[1], "bytes": list(first[0].encode()),
                                           "top_logprobs": tops}]}
    prompt_tokens = max(1, len(request_text(body)) // 4)
    completion_tokens = max(1, len(reply.text) // 4)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


class LocalOpenAIServer:
    """Context manager running an OpenAI-protocol server on 127.0.0.1.

    Parameters
    ----------
    responder : callable, optional
        ``responder(body, n) -> Reply | Fault | str``; default
        :class:`IllustrativeAnswerModel`.
    latency : float
        Seconds every chat request waits before answering.
    batch_polls : int
        Number of ``GET /v1/batches/{id}`` polls that report
        ``in_progress`` before the batch is completed.

    Attributes
    ----------
    base_url : str
        ``http://127.0.0.1:<port>/v1`` (pass to ``openai.OpenAI``).
    log : list of dict
        One entry per request: ``path``, ``body`` (parsed JSON or None),
        ``authorization``, ``status``.

    Examples
    --------
    >>> import openai
    >>> with LocalOpenAIServer() as srv:
    ...     client = openai.OpenAI(base_url=srv.base_url, api_key="test")
    ...     r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    >>> r.choices[0].message.content
    'I am not sure what you are asking.'
    """

    def __init__(self, responder=None, *, latency=0.0, batch_polls=1, models=None, api_key=None):
        self.responder = responder or IllustrativeAnswerModel()
        self.models = list(models) if models is not None else None
        self.api_key = api_key
        self._port = 0
        self.latency = float(latency)
        self.batch_polls = int(batch_polls)
        self.log = []
        self.files = {}
        self.batches = {}
        self._lock = threading.Lock()
        self._n = 0
        self._server = None
        self._thread = None

    # -- lifecycle ----------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        """Start serving on 127.0.0.1 (a free port)."""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stall)

            def log_message(self, *args):  # silence
                pass

            def do_POST(self):
                outer._handle(self, "POST")

            def do_GET(self):
                outer._handle(self, "GET")

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request, client_address):  # clients that hang up are normal here
                pass

        self._handler_cls, self._server_cls = Handler, Server
        self._listen()
        return self

    def _listen(self):
        self._server = self._server_cls(("127.0.0.1", self._port), self._handler_cls)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def refuse(self):
        """Close the listening socket: new connections are refused (an outage)."""
        self.stop()
        self._refusing = True

    def accept(self):
        """Listen again on the same port after :meth:`refuse`."""
        self._refusing = False
        self._listen()

    def stop(self):
        """Stop serving and close the listening socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    @property
    def port(self):
        """Return the port the server listens on."""
        return self._port

    @property
    def base_url(self):
        """Return ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def chat_requests(self):
        """Return the logged chat-completion requests, in arrival order."""
        with self._lock:
            return [e for e in self.log if e["path"].endswith("/chat/completions")]

    # -- handling -----------------------------------------------------------
    def _send(self, h, status, payload, *, content_type="application/json"):
        retry_after = payload.pop("_retry_after", None) if isinstance(payload, dict) else None
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        try:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(data)))
            if retry_after is not None:
                h.send_header("Retry-After", f"{retry_after:g}")
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _handle(self, h, method):
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        path = h.path.split("?")[0]
        entry = {"path": path, "method": method, "authorization": h.headers.get("Authorization"),
                 "body": None, "status": None, "time": time.time()}
        with self._lock:
            self.log.append(entry)
        if getattr(self, "_refusing", False):  # a kept-alive connection during an outage
            entry["status"] = "dropped"
            h.close_connection = True
            return
        try:
            if self.api_key is not None and entry["authorization"] != f"Bearer {self.api_key}":
                status, payload = 401, {"error": {"message": "Incorrect API key provided.",
                                                  "type": "invalid_request_error", "code": "invalid_api_key"}}
            elif method == "GET" and path.endswith("/models"):
                ids = self.models if self.models is not None else ["toy-model"]
                status, payload = 200, {"object": "list", "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": "local"} for m in ids]}
            elif method == "POST" and path.endswith("/chat/completions"):
                body = json.loads(raw or b"{}")
                entry["body"] = body
                with self._lock:
                    n = self._n
                    self._n += 1
                status, payload = self._chat(body, n)
                if status is None:  # drop the connection
                    entry["status"] = "dropped"
                    self._drop(h, payload)
                    return
            elif method == "POST" and path.endswith("/files"):
                status, payload = self._upload(h, raw)
            elif method == "GET" and re.search(r"/files/[^/]+/content$", path):
                fid = path.split("/")[-2]
                if fid not in self.files:
                    status, payload = 404, {"error": {"message": f"no file {fid}", "type": "invalid_request_error"}}
                else:
                    entry["status"] = 200
                    return self._send(h, 200, self.files[fid]["data"], content_type="application/octet-stream")
            elif method == "POST" and path.endswith("/batches"):
                status, payload = self._create_batch(json.loads(raw or b"{}"))
            elif method == "GET" and re.search(r"/batches/[^/]+$", path):
                status, payload = self._poll_batch(path.split("/")[-1])
            else:
                status, payload = 404, {"error": {"message": f"unknown endpoint {method} {path}"}}
        except Exception as exc:  # noqa: BLE001 - a test server reports, never dies
            status, payload = 500, {"error": {"message": f"test server error: {exc}"}}
        entry["status"] = status
        self._send(h, status, payload)

    @staticmethod
    def _drop(h, how):
        h.close_connection = True
        try:
            if how == "reset":  # SO_LINGER 0: close sends a TCP RST
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif how is not None:  # "midbody": headers and half the body, then close
                h.send_response(200)
                h.send_header("Content-Type", "application/json")
                h.send_header("Content-Length", str(len(how)))
                h.end_headers()
                h.wfile.write(how[: len(how) // 2])
                h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _respond(self, body, n):
        out = self.responder(body, n)
        return Reply(out) if isinstance(out, str) else out

    def _chat(self, body, n):
        if self.latency:
            time.sleep(self.latency)
        out = self._respond(body, n)
        if isinstance(out, Fault):
            if out.kind == "drop":
                return None, None
            if out.kind == "reset":
                return None, "reset"
            if out.kind == "midbody":
                full = _completion_body(body.get("model", ""), IllustrativeAnswerModel()(body, n), body)
                return None, json.dumps(full).encode("utf-8")
            if out.kind == "garbage":
                return 200, b"<html>502 Bad Gateway</html>"
            if out.kind == "empty":
                full = _completion_body(body.get("model", ""), Reply(""), body)
                full["choices"] = []
                return 200, full
            if out.kind == "slow":
                time.sleep(out.delay)
                out = out.then if out.then is not None else IllustrativeAnswerModel()(body, n)
                out = Reply(out) if isinstance(out, str) else out
            else:
                code = int(out.kind)
                kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(code, "server_error")
                payload = {"error": {"message": out.message or f"scripted fault {code}", "type": kind, "code": kind}}
                if out.delay:
                    payload["_retry_after"] = out.delay  # sent as a Retry-After header
                return code, payload
        return 200, _completion_body(body.get("model", ""), out, body)

    def _upload(self, h, raw):
        ctype = h.headers.get("Content-Type", "")
        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
        data, purpose, filename = b"", "", "upload"
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name == "file":
                data = part.get_payload(decode=True) or b""
                filename = part.get_filename() or filename
            elif name == "purpose":
                purpose = (part.get_payload(decode=True) or b"").decode()
        fid = f"file-{uuid.uuid4().hex[:16]}"
        with self._lock:
            self.files[fid] = {"data": data, "purpose": purpose, "filename": filename}
        return 200, {"id": fid, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                     "filename": filename, "purpose": purpose, "status": "processed"}

    def _batch_obj(self, b):
        return {k: v for k, v in b.items() if not k.startswith("_")}

    def _create_batch(self, body):
        fid = body.get("input_file_id")
        if fid not in self.files:
            return 400, {"error": {"message": f"no input file {fid}"}}
        bid = f"batch_{uuid.uuid4().hex[:16]}"
        b = {"id": bid, "object": "batch", "endpoint": body.get("endpoint"), "input_file_id": fid,
             "completion_window": body.get("completion_window", "24h"), "status": "validating",
             "created_at": int(time.time()), "output_file_id": None, "error_file_id": None,
             "request_counts": {"total": 0, "completed": 0, "failed": 0}, "_polls": 0}
        with self._lock:
            self.batches[bid] = b
        return 200, self._batch_obj(b)

    def _poll_batch(self, bid):
        b = self.batches.get(bid)
        if b is None:
            return 404, {"error": {"message": f"no batch {bid}"}}
        b["_polls"] += 1
        if b["status"] in ("validating", "in_progress") and b["_polls"] > self.batch_polls:
            self._run_batch(b)
        elif b["status"] == "validating":
            b["status"] = "in_progress"
        return 200, self._batch_obj(b)

    def _run_batch(self, b):
        out_lines, err_lines = [], []
        lines = self.files[b["input_file_id"]]["data"].decode("utf-8").splitlines()
        for line in lines:
            if not line.strip():
                continue
            item = json.loads(line)
            body = item["body"]
            with self._lock:
                n = self._n
                self._n += 1
                self.log.append({"path": "batch:/v1/chat/completions", "method": "POST", "authorization": None,
                                 "body": body, "status": None, "time": time.time()})
            res = self._respond(body, n)
            rid = f"batch_req_{uuid.uuid4().hex[:12]}"
            if isinstance(res, Fault) and res.kind not in ("slow", "drop"):
                code = int(res.kind)
                out_lines.append({"id": rid, "custom_id": item["custom_id"],
                                  "response": {"status_code": code, "body": {"error": {"message": f"fault {code}"}}},
                                  "error": None})
            elif isinstance(res, Fault):
                err_lines.append({"id": rid, "custom_id": item["custom_id"], "response": None,
                                  "error": {"code": "timeout", "message": "request timed out"}})
            else:
                out_lines.append({"id": rid, "custom_id": item["custom_id"],
                                  "response": {"status_code": 200, "body": _completion_body(body.get("model", ""), res, body)},
                                  "error": None})
        for kind, rows in (("output_file_id", out_lines), ("error_file_id", err_lines)):
            if rows:
                fid = f"file-{uuid.uuid4().hex[:16]}"
                self.files[fid] = {"data": ("\n".join(json.dumps(r) for r in rows) + "\n").encode(), "purpose": "batch_output",
                                   "filename": f"{kind}.jsonl"}
                b[kind] = fid
        b["request_counts"] = {"total": len(lines), "completed": len(out_lines), "failed": len(err_lines)}
        b["status"] = "completed"
