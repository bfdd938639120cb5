"""Child servers for measurements: a local OpenAI-compatible model server and `painpoint serve` itself.

`painpoint bench` uses them to measure the app the way it runs: over HTTP and websockets, against a real model
endpoint. Each server writes its log to a file (a pipe would fill up and stall it) and is stopped on exit.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from painpoint.settings import ENVIRONMENT


class ServerError(RuntimeError):
    """A child server did not come up; the message holds the tail of its log."""


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], log: Path | None = None, seconds: float = 90) -> None:
    """Wait until `url` answers 200.

    Raises:
        ServerError: when the process exits first or the time is up.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"{' '.join(map(str, process.args))} exited:\n{_tail(log)}")  # type: ignore[arg-type]
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise ServerError(f"{url} did not answer within {seconds:.0f} s:\n{_tail(log)}")


def _tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-2000:] if log and log.exists() else ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def llama_server_available() -> bool:
    """Whether `python -m llama_cpp.server` can run here (llama-cpp-python with its `server` extra)."""
    return all(importlib.util.find_spec(name) is not None for name in ("llama_cpp", "sse_starlette", "uvicorn"))


def llama_server_command(model: Path, port: int, threads: int | None = None) -> list[str]:
    """The command line of llama.cpp's OpenAI-compatible server for a GGUF file on 127.0.0.1."""
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        str(threads or os.cpu_count() or 1),
        "--seed",
        "7",
        # By default a waiting request cuts the streaming one short after its next token: with several
        # interviews at once, every reply would be a word long.
        "--interrupt_requests",
        "False",
    ]


@contextmanager
def llama_server(model: Path, log: Path, threads: int | None = None) -> Iterator[str]:
    """`python -m llama_cpp.server` serving a GGUF file on 127.0.0.1; yields its base URL (`.../v1`).

    Raises:
        ServerError: when it does not start.
    """
    port = free_port()
    command = llama_server_command(model, port, threads)
    with log.open("ab") as sink:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink)
    try:
        base = f"http://127.0.0.1:{port}/v1"
        wait_http(f"{base}/models", process, log)
        yield base
    finally:
        _stop(process)


@contextmanager
def app_server(folder: Path, settings: str, log: Path) -> Iterator[str]:
    """`painpoint serve` on 127.0.0.1 with its own settings file and SQLite database in `folder`; yields its URL.

    Args:
        folder: where the settings file, the database and nothing else go.
        settings: the text of a `painpoint.toml`.
        log: the server's log file.

    Raises:
        ServerError: when it does not start.
    """
    port = free_port()
    config = folder / "painpoint.toml"
    config.write_text(settings, encoding="utf-8")
    # The settings file must win: model variables in the environment would override it.
    environment = {key: value for key, value in os.environ.items() if key not in ENVIRONMENT}
    environment.update(
        PAINPOINT_CONFIG=str(config),
        DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'app.db'}",
        CHAINLIT_AUTH_SECRET=os.urandom(32).hex(),
    )
    command = [sys.executable, "-m", "painpoint.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as sink:
        process = subprocess.Popen(command, env=environment, stdout=sink, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url, process, log, seconds=120)
        yield url
    finally:
        _stop(process)
