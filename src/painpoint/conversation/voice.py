"""The manager's voice: the same engine plan, said by the persona's authored lines or by an LLM.

An LLM voice gets a :class:`PublicPersona` and a :class:`~painpoint.conversation.engine.TurnPlan`, never the
:class:`~painpoint.scenario.persona.Persona` itself, so what is still hidden is not in its reach.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict

from painpoint.conversation.engine import Intent, TurnPlan
from painpoint.conversation.guards import Allowed, GuardResult, check_reply
from painpoint.conversation.tokens import TokenCounter
from painpoint.conversation.transcript import Fallback
from painpoint.errors import CUT_REPLY, ModelUnavailableError, describe_model_error
from painpoint.prompts import load_prompt
from painpoint.resources import data_dir
from painpoint.scenario.loader import validate_data
from painpoint.scenario.persona import Persona, Strict

OPENING_CUE = "(The candidate has just walked in and sat down.)"


class PublicPersona(BaseModel):
    """What anyone may know about the manager: no pain points, no fluff marks, no authored answers."""

    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    company: str
    company_sells: str
    role: str
    personality: str
    speaking_style: str
    job_ad: str

    @classmethod
    def of(cls, persona: Persona) -> PublicPersona:
        """The public view of a persona."""
        ad = "\n".join([persona.job_ad.title, persona.job_ad.summary, *(f"- {i.text}" for i in persona.job_ad.items)])
        return cls(
            name=persona.name,
            title=persona.title,
            company=persona.company.name,
            company_sells=persona.company.sells,
            role=persona.role,
            personality=persona.personality,
            speaking_style=persona.speaking_style,
            job_ad=ad,
        )

    @property
    def text(self) -> str:
        """All public fields as one text (what the guards accept facts from)."""
        return "\n".join(self.model_dump().values())


@dataclass(frozen=True)
class VoiceRequest:
    """Everything a voice gets for one reply."""

    persona: PublicPersona
    plan: TurnPlan
    candidate: str
    history: list[tuple[str, str]] = field(default_factory=list)
    """Recent turns as (speaker, text), oldest first, already windowed."""


@dataclass
class VoiceReply:
    """What the manager said, and how."""

    text: str
    voice: str
    fallback: Fallback | None = None
    prompt_tokens: int | None = None
    first_token_seconds: float | None = None


TokenSink = Callable[[str], None]


class Voice(Protocol):
    """Turns a plan into the manager's words."""

    name: str

    def speak(self, request: VoiceRequest, on_token: TokenSink | None = None) -> VoiceReply:
        """Say the plan; `on_token` receives text as it is produced."""
        ...


class ScriptedVoice:
    """The persona's authored lines, exactly. Offline, deterministic, instant."""

    name = "scripted"

    def speak(self, request: VoiceRequest, on_token: TokenSink | None = None) -> VoiceReply:
        """Say the authored line (streamed word by word, so every voice streams alike)."""
        if on_token is not None:
            for piece in re.findall(r"\S+\s*", request.plan.text):
                on_token(piece)
        return VoiceReply(text=request.plan.text, voice=self.name)


class Instructions(Strict):
    """One instruction per intent, from `prompts/manager_instructions.yaml`."""

    greet: str
    small_talk: str
    reveal: str
    role: str
    ad_item: str
    deflect: str
    guarded: str
    follow_up: str
    redirect: str
    acknowledge: str
    nothing_more: str
    refuse: str
    close_accept: str
    close_hesitant: str
    wrap_up: str

    def for_intent(self, intent: Intent) -> str:
        """The instruction for an engine intent."""
        return str(getattr(self, intent.value))


@lru_cache(maxsize=1)
def load_instructions() -> Instructions:
    """The shipped per-intent instructions."""
    path = data_dir("prompts") / "manager_instructions.yaml"
    return validate_data(Instructions, yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


def build_messages(request: VoiceRequest) -> list[BaseMessage]:
    """The chat prompt for one manager reply: public persona, recent talk, then this turn's note.

    What stays the same for the whole interview comes first and what changes every turn (the revealed lines, this
    turn's line) comes last, after the history, so a server that caches the prompt's prefix (llama.cpp does)
    re-reads only the newest turns.
    """
    persona = request.persona
    system = load_prompt("manager").render(
        name=persona.name,
        title=persona.title,
        company=persona.company,
        company_sells=persona.company_sells,
        role=persona.role,
        personality=persona.personality,
        speaking_style=persona.speaking_style,
        job_ad=persona.job_ad,
    )
    # Lines the recent talk already holds word for word (and this turn's own line) need not be repeated.
    said = [text for speaker, text in request.history if speaker == "manager"]
    earlier = [
        line for line in request.plan.revealed if line != request.plan.text and not any(line in text for text in said)
    ]
    note = load_prompt("manager_turn").render(
        revealed="\n".join(f"- {line}" for line in earlier) or "- (nothing beyond the conversation above)",
        instruction=load_instructions().for_intent(request.plan.intent),
        line=request.plan.text,
    )
    messages: list[BaseMessage] = [SystemMessage(system)]
    for speaker, text in request.history:
        messages.append(HumanMessage(text) if speaker == "candidate" else AIMessage(text))
    messages.append(HumanMessage(request.candidate or OPENING_CUE))
    messages.append(SystemMessage(note))
    return messages


def fold_note(messages: list[BaseMessage]) -> list[BaseMessage]:
    """The prompt with its trailing note moved into the candidate's message, for one-system-message templates."""
    *head, candidate, note = messages
    if not isinstance(note, SystemMessage) or not isinstance(candidate, HumanMessage):
        return messages
    folded = f"{candidate.content}\n\n(Note for you, not said by the candidate:\n{note.content})"
    return [*head, HumanMessage(folded)]


class ChatVoice:
    """An LLM says the plan in character; guards check the reply; a failing reply falls back to the authored line.

    A reply either arrives whole or not at all. When the endpoint fails, also after part of the reply was
    streamed to `on_token`, :meth:`speak` raises :class:`~painpoint.errors.ModelUnavailableError` and returns
    nothing: the interview records no turn, the candidate keeps their message and can send it again, and the
    caller discards whatever it showed of the broken reply. A reply the model ended because it ran out of
    tokens is complete on the wire but cut mid-thought, so it falls back to the authored line like any reply
    that fails a guard.
    """

    def __init__(
        self,
        model: BaseChatModel,
        name: str,
        counter: TokenCounter,
        max_prompt_tokens: int = 3000,
        expect_finish_reason: bool = False,
    ) -> None:
        """Wrap a chat model.

        Args:
            model: the chat model that speaks.
            name: the voice's name, recorded in the transcript.
            counter: counts prompt tokens for the budget.
            max_prompt_tokens: the prompt budget; the oldest turns are dropped to fit.
            expect_finish_reason: the model reports why each reply ended (OpenAI-compatible endpoints do), so a
                stream that stops without saying why was cut off, however cleanly the connection closed.
        """
        self.model = model
        self.name = name
        self.counter = counter
        self.max_prompt_tokens = max_prompt_tokens
        self.expect_finish_reason = expect_finish_reason
        self.fold_note = False
        """Set once the endpoint refused a system message after the first: the note then rides in the last
        candidate message (some chat templates, Gemma's and some of Mistral's, allow one system message only)."""

    def prompt_for(self, request: VoiceRequest) -> tuple[list[BaseMessage], int]:
        """The messages to send, trimmed to the token budget by dropping the oldest turns."""
        history = list(request.history)
        while True:
            messages = build_messages(VoiceRequest(request.persona, request.plan, request.candidate, history))
            tokens = sum(self.counter.count(str(m.content)) + 4 for m in messages)
            if tokens <= self.max_prompt_tokens or not history:
                return messages, tokens
            history = history[1:]

    def speak(self, request: VoiceRequest, on_token: TokenSink | None = None) -> VoiceReply:
        """Stream the model's reply, check it, and fall back to the authored line when a guard fails.

        Raises:
            ModelUnavailableError: when the endpoint fails or the reply stops short; nothing is returned.
        """
        messages, tokens = self.prompt_for(request)
        allowed = Allowed(
            line=request.plan.text,
            revealed="\n".join(request.plan.revealed),
            public=request.persona.text,
            conversation="\n".join([request.candidate, *(text for _, text in request.history)]),
            previous_replies=tuple(text for speaker, text in request.history if speaker == "manager"),
            must_cover=request.plan.reveal is not None,
        )
        started = time.perf_counter()
        first_token: float | None = None
        chunks: list[str] = []
        finish: str | None = None
        while True:
            try:
                for piece, reason in self._stream(fold_note(messages) if self.fold_note else messages):
                    finish = reason or finish
                    if not piece:
                        continue
                    if first_token is None:
                        first_token = time.perf_counter() - started
                    chunks.append(piece)
                    if on_token is not None:
                        on_token(piece)
                break
            except ModelUnavailableError:
                raise
            except Exception as exc:
                if not chunks and not self.fold_note and getattr(exc, "status_code", None) in (400, 422):
                    self.fold_note = True  # the request itself was refused: try the one-system-message form
                    continue
                raise ModelUnavailableError(CUT_REPLY if chunks else describe_model_error(exc)) from exc
        if finish is None and self.expect_finish_reason:
            raise ModelUnavailableError(CUT_REPLY)
        raw = "".join(chunks).strip()
        verdict = (
            GuardResult(False, "stopped at the reply token limit, mid-thought (raise `max_reply_tokens`)")
            if finish == "length"
            else check_reply(raw, allowed)
        )
        if verdict.ok:
            return VoiceReply(raw, self.name, prompt_tokens=tokens, first_token_seconds=first_token)
        return VoiceReply(
            request.plan.text,
            self.name,
            fallback=Fallback(reason=verdict.reason, raw=raw),
            prompt_tokens=tokens,
            first_token_seconds=first_token,
        )

    def _stream(self, messages: list[BaseMessage]) -> Iterator[tuple[str, str | None]]:
        """The reply's text, piece by piece, each with the finish reason when the model gives one."""
        for chunk in self.model.stream(messages):
            reason = chunk.response_metadata.get("finish_reason")
            content = chunk.content
            if isinstance(content, str):
                text = content
            else:
                text = "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in content)
            yield text, reason if isinstance(reason, str) else None
