"""The one place chat models are built from settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from painpoint.conversation.tokens import CallableCounter, TokenCounter, tiktoken_counter
from painpoint.errors import ConfigError
from painpoint.settings import Settings

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class LlamaCppChat(BaseChatModel):
    """A GGUF chat model run in-process by llama-cpp-python, as a LangChain chat model."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    temperature: float = 0.4
    max_tokens: int = 160
    repeat_penalty: float = 1.15
    n_ctx: int = 4096
    n_threads: int | None = None
    seed: int = 0
    _llama: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def llama(self) -> Any:
        """The loaded model (loaded on first use)."""
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ConfigError(
                    "The local voice needs llama-cpp-python: pip install -e '.[local]' (it compiles, ~9 minutes)."
                ) from None
            self._llama = Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads or os.cpu_count() or 2,
                seed=self.seed,
                verbose=False,
            )
        return self._llama

    def tokenize(self, text: str) -> list[int]:
        """Tokens of `text` with the model's own tokenizer."""
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _payload(self, messages: list[BaseMessage]) -> list[dict[str, str]]:
        return [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]

    def _options(self, stop: list[str] | None) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "repeat_penalty": self.repeat_penalty,
            "stop": stop or None,
            "seed": self.seed,
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result = self.llama.create_chat_completion(messages=self._payload(messages), **self._options(stop))
        text = result["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        stream = self.llama.create_chat_completion(messages=self._payload(messages), stream=True, **self._options(stop))
        for event in stream:
            choice = event["choices"][0]
            piece = choice["delta"].get("content") or ""
            finish = choice.get("finish_reason")
            if piece or finish:
                chunk = ChatGenerationChunk(
                    message=AIMessageChunk(content=piece),
                    generation_info={"finish_reason": finish} if finish else None,
                )
                if run_manager is not None and piece:
                    run_manager.on_llm_new_token(piece, chunk=chunk)
                yield chunk


def build_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model for the configured voice.

    Raises:
        ConfigError: when the voice is scripted (no model) or its settings can't work.
    """
    if settings.voice == "local":
        if settings.model_path is None:
            raise ConfigError("The local voice needs a GGUF file: pass --model-path or set PAINPOINT_MODEL_PATH.")
        path = Path(settings.model_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"No model file at {path}.")
        return LlamaCppChat(
            model_path=str(path),
            temperature=settings.temperature,
            max_tokens=settings.max_reply_tokens,
            repeat_penalty=settings.repeat_penalty,
            n_ctx=settings.context_tokens,
            n_threads=settings.threads,
        )
    if settings.voice == "openai":
        from langchain_openai import ChatOpenAI

        if settings.api_key is None and settings.base_url is None:
            raise ConfigError(
                "The openai voice needs OPENAI_API_KEY (for OpenAI) or OPENAI_BASE_URL (for a compatible server)."
            )
        key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
        # LangChain sends `max_tokens` as `max_completion_tokens`, which compatible servers such as llama.cpp's
        # ignore (they generate until the context is full): send them the classic field instead.
        cap: dict[str, Any] = (
            {"max_tokens": settings.max_reply_tokens}
            if settings.base_url is None
            else {"extra_body": {"max_tokens": settings.max_reply_tokens}}
        )
        return ChatOpenAI(
            model=settings.model,
            base_url=settings.base_url,
            api_key=key,
            temperature=settings.temperature,
            timeout=settings.request_timeout,
            max_retries=settings.max_retries,
            streaming=True,
            **cap,
        )
    raise ConfigError("The scripted voice uses no model.")


def token_counter(settings: Settings, model: BaseChatModel | None = None) -> TokenCounter:
    """Count with the model's own tokenizer when it is a local GGUF, with tiktoken otherwise."""
    if isinstance(model, LlamaCppChat):
        return CallableCounter(f"gguf:{Path(model.model_path).name}", model.tokenize)
    return tiktoken_counter(settings.model if settings.voice == "openai" else None)
