"""Wiring: settings in, a ready :class:`~painpoint.conversation.interview.Interview` out, for the CLI and the app."""

from __future__ import annotations

from typing import Any

from painpoint.conversation.analysis import Analyzer
from painpoint.conversation.analyzer import OfflineAnalyzer
from painpoint.conversation.interview import Interview
from painpoint.conversation.rules import load_rules
from painpoint.conversation.tokens import TokenCounter
from painpoint.conversation.voice import ChatVoice, ScriptedVoice, Voice
from painpoint.grading.grader import Grader
from painpoint.grading.judge import Judge
from painpoint.models import build_chat_model, token_counter
from painpoint.scenario.persona import Connection, Difficulty, Persona
from painpoint.settings import Settings, load_settings


def build_voice(settings: Settings) -> tuple[Voice, TokenCounter]:
    """The configured voice and the token counter that matches its model."""
    if settings.voice == "scripted":
        return ScriptedVoice(), token_counter(settings)
    model = build_chat_model(settings)
    counter = token_counter(settings, model)
    # Both report why each reply ended; a stream that stops without saying why was cut off.
    voice = ChatVoice(model, settings.voice, counter, settings.max_prompt_tokens, expect_finish_reason=True)
    return voice, counter


def build_analyzer(settings: Settings, offline: OfflineAnalyzer | None = None) -> Analyzer:
    """The configured analyzer; the LLM one falls back to the offline one when a reply can't be used."""
    offline = offline or shared_offline_analyzer()
    if settings.analyzer == "offline":
        return offline
    from painpoint.conversation.llm_analyzer import LLMAnalyzer

    llm_settings = settings if settings.voice == "openai" else settings.model_copy(update={"voice": "openai"})
    return LLMAnalyzer(build_chat_model(llm_settings), fallback=offline)


_OFFLINE: OfflineAnalyzer | None = None


def shared_offline_analyzer() -> OfflineAnalyzer:
    """One offline analyzer per process: its per-persona indexes are read-only caches worth sharing."""
    global _OFFLINE
    if _OFFLINE is None:
        _OFFLINE = OfflineAnalyzer()
    return _OFFLINE


def build_grader(settings: Settings) -> Grader:
    """The grader: offline measurements, plus an LLM judge when `judge` is set."""
    judge = None
    if settings.judge:
        judge_settings = settings.model_copy(
            update={
                "voice": "openai",
                "model": settings.judge_model or settings.model,
                "temperature": 0.0,
                "max_reply_tokens": 1500,
            }
        )
        judge = Judge(build_chat_model(judge_settings), name=judge_settings.model)
    return Grader(shared_offline_analyzer(), judge)


def build_interview(
    persona: Persona,
    overrides: dict[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    difficulty: Difficulty | None = None,
    connection: Connection | None = None,
    seed: int = 0,
) -> Interview:
    """A fresh interview with everything built from settings (plus overrides such as command-line flags)."""
    settings = settings or load_settings(overrides)
    voice, counter = build_voice(settings)
    analyzer = build_analyzer(settings)
    extra: dict[str, Any] = {}
    if settings.voice == "openai":
        extra = {"model": settings.model, "base_url": settings.base_url}
    elif settings.voice == "local" and settings.model_path is not None:
        extra = {"model_path": settings.model_path.name}
    return Interview(
        persona,
        load_rules(),
        analyzer,
        voice,
        counter,
        difficulty=difficulty,
        connection=connection,
        max_message_tokens=settings.max_message_tokens,
        window_turns=settings.window_turns,
        seed=seed,
        extra_settings=extra,
    )
