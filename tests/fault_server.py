"""A real OpenAI-compatible HTTP server that misbehaves on cue, for fault tests.

`POST /v1/chat/completions` answers each request with the next behaviour in a queue: a reply (as one JSON
completion or as server-sent events, as the request asks), a stall longer than the client's timeout, an HTTP
error with an optional `Retry-After`, or a stream cut after a few chunks. When the queue is empty, it replies
normally. Every request is recorded with its arrival time, so tests can count retries and measure waits.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_REPLY = "Thanks for coming in. Tell me a little about what brought you here."


@dataclass(frozen=True)
class Ok:
    """A normal reply; `finish_reason="length"` is a reply cut off by the token limit."""

    text: str
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Delay:
    """Say nothing for `seconds` (longer than the client's timeout), then reply normally if anyone still listens."""

    seconds: float
    then: Ok = field(default_factory=lambda: Ok(DEFAULT_REPLY))


@dataclass(frozen=True)
class Status:
    """An HTTP error, in OpenAI's error format."""

    code: int
    retry_after: int | None = None


@dataclass(frozen=True)
class Cut:
    """Start replying, then drop the connection after `after` content chunks.

    With `clean_eof` the response has no length and no chunked framing, so the close is a valid end of body
    and only the missing `finish_reason` and `[DONE]` tell it apart from a finished reply; otherwise the close
    breaks the chunked framing mid-body, as a crashed server or proxy does. With `hang`, the server goes
    silent for that many seconds first, as a stuck one does.
    """

    text: str
    after: int = 3
    clean_eof: bool = False
    hang: float = 0


Behaviour = Ok | Delay | Status | Cut


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    at: float
    """`time.monotonic()` on arrival."""
    body: dict[str, Any]

    @property
    def stream(self) -> bool:
        """Whether the client asked for server-sent events."""
        return bool(self.body.get("stream"))


def ok(text: str = DEFAULT_REPLY, finish_reason: str = "stop") -> Ok:
    """A normal reply."""
    return Ok(text, finish_reason)


def delay(seconds: float) -> Delay:
    """A stall of `seconds` before anything is sent."""
    return Delay(seconds)


def status(code: int, retry_after: int | None = None) -> Status:
    """An HTTP error (429 with `retry_after` for rate limits, 500 for a crash)."""
    return Status(code, retry_after)


def cut(text: str, after: int = 3, clean_eof: bool = False, hang: float = 0) -> Cut:
    """A stream that stops after `after` chunks of `text` (and `hang` seconds of silence)."""
    return Cut(text, after, clean_eof, hang)


def malformed() -> Ok:
    """Structured output that is not JSON: what a judge model sometimes sends."""
    return Ok('{"verdicts": [{"id": "discovery_judgement", "reasoning": "The candidate asked', "stop")


def pieces(text: str) -> list[str]:
    """How the text is split into streamed chunks: a word and its trailing space at a time."""
    return re.findall(r"\s*\S+\s*", text) or [text]


class FaultServer:
    """The server, run in a background thread on 127.0.0.1 and a free port. Use as a context manager."""

    def __init__(self, port: int = 0) -> None:
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self.requests: list[Received] = []
        self._httpd = _QuietServer(("127.0.0.1", port), _handler_for(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fault-server", daemon=True)

    @property
    def base_url(self) -> str:
        """The `/v1` base URL to give an OpenAI client."""
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests, in order (forgetting what was queued and received before)."""
        with self._lock:
            self._queue = deque(behaviours)
            self.requests = []

    def pending(self) -> int:
        """Behaviours still queued."""
        with self._lock:
            return len(self._queue)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        # Kept-alive connections outlive the listener; drop them so the port is truly dead.
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._httpd.server_address[1])

    def _next(self, body: dict[str, Any]) -> Behaviour:
        with self._lock:
            self.requests.append(Received(time.monotonic(), body))
            return self._queue.popleft() if self._queue else Ok(DEFAULT_REPLY)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients drop connections on purpose here (timeouts, unread stream ends); anything else is a bug.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, like a real endpoint

        def setup(self) -> None:
            super().setup()
            with server._lock:
                server._connections.add(self.connection)

        def finish(self) -> None:
            with server._lock:
                server._connections.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest shows the tests' own output

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            try:
                self._behave(server._next(body), body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (timed out) first

        def _behave(self, behaviour: Behaviour, body: dict[str, Any]) -> None:
            if isinstance(behaviour, Delay):
                if server._stopping.wait(behaviour.seconds):
                    return
                behaviour = behaviour.then
            if isinstance(behaviour, Status):
                headers = {"Retry-After": str(behaviour.retry_after)} if behaviour.retry_after is not None else {}
                kind = "rate_limit_exceeded" if behaviour.code == 429 else "server_error"
                self._json(behaviour.code, {"error": {"message": f"injected {behaviour.code}", "type": kind}}, headers)
            elif isinstance(behaviour, Cut):
                self._cut(behaviour, body)
            elif body.get("stream"):
                self._stream(behaviour, body)
            else:
                self._json(200, _completion(behaviour, body))

        def _json(self, code: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _start_events(self, chunked: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Connection", "close")  # the body ends when the connection does
            self.end_headers()

        def _event(self, payload: dict[str, Any] | str, chunked: bool) -> None:
            data = f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
            self.wfile.flush()

        def _stream(self, reply: Ok, body: dict[str, Any]) -> None:
            self._start_events(chunked=True)
            for event in _chunks(reply.text, body, reply.finish_reason):
                self._event(event, chunked=True)
            self._event("[DONE]", chunked=True)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _cut(self, behaviour: Cut, body: dict[str, Any]) -> None:
            if not body.get("stream"):
                # A completion body cut short: the declared length is never reached.
                data = json.dumps(_completion(Ok(behaviour.text), body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
            else:
                chunked = not behaviour.clean_eof
                self._start_events(chunked)
                events = _chunks(behaviour.text, body, "stop")
                for event in events[: 1 + behaviour.after]:  # the role chunk, then `after` content chunks
                    self._event(event, chunked)
            self.wfile.flush()
            server._stopping.wait(behaviour.hang)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


def _base(body: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"id": "chatcmpl-fault", "object": kind, "created": int(time.time()), "model": body.get("model", "fault")}


def _usage(body: dict[str, Any], text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion = len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(reply: Ok, body: dict[str, Any]) -> dict[str, Any]:
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": reply.text},
        "finish_reason": reply.finish_reason,
        "logprobs": None,
    }
    return {**_base(body, "chat.completion"), "choices": [choice], "usage": _usage(body, reply.text)}


def _chunks(text: str, body: dict[str, Any], finish_reason: str) -> list[dict[str, Any]]:
    """The SSE payloads of a whole reply: a role chunk, the content chunks, the finish chunk, maybe usage."""
    base = _base(body, "chat.completion.chunk")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in pieces(text)]
    events.append(chunk({}, finish_reason))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append({**base, "choices": [], "usage": _usage(body, text)})
    return events
