"""One interview in progress: analyzer, engine and voice wired together, recorded in a transcript.

This is the only place the three meet. Adapters (the CLI, the Chainlit app) hold an :class:`Interview` and call
:meth:`Interview.respond`; they never touch the rules.
"""

from __future__ import annotations

import re
from typing import Any

from painpoint.conversation.analysis import Analyzer
from painpoint.conversation.engine import Engine, InterviewState, Phase, TurnPlan
from painpoint.conversation.guards import leaks
from painpoint.conversation.rules import EngineRules
from painpoint.conversation.tokens import TokenCounter
from painpoint.conversation.transcript import Fallback, RevealRecord, Transcript, TranscriptState, Turn
from painpoint.conversation.voice import PublicPersona, TokenSink, Voice, VoiceReply, VoiceRequest
from painpoint.errors import EmptyMessageError, MessageTooLongError
from painpoint.scenario.persona import Connection, Difficulty, Persona

# Terminal escape sequences (CSI such as `ESC[2J`, OSC such as a window title, and two-byte ones such as `ESC c`),
# removed whole so that no half of one is left in the text.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[0-~])")


class Interview:
    """A candidate talking with one manager."""

    def __init__(
        self,
        persona: Persona,
        rules: EngineRules,
        analyzer: Analyzer,
        voice: Voice,
        counter: TokenCounter,
        *,
        difficulty: Difficulty | None = None,
        connection: Connection | None = None,
        max_message_tokens: int = 400,
        window_turns: int = 6,
        seed: int = 0,
        extra_settings: dict[str, Any] | None = None,
    ) -> None:
        self.persona = persona
        self.public = PublicPersona.of(persona)
        self.analyzer = analyzer
        self.voice = voice
        self.counter = counter
        self.max_message_tokens = max_message_tokens
        self.window_turns = window_turns
        self.engine = Engine(persona, rules, difficulty, seed)
        self.connection = connection or persona.connection
        self.state: InterviewState | None = None
        self.transcript = Transcript(
            persona=persona.id,
            persona_version=persona.version,
            settings={
                "difficulty": self.engine.difficulty.value,
                "connection": self.connection.value,
                "voice": voice.name,
                "analyzer": analyzer.name,
                "seed": seed,
                "window_turns": window_turns,
                **(extra_settings or {}),
            },
        )

    @property
    def ended(self) -> bool:
        """True once the manager has agreed to a next step."""
        return self.state is not None and self.state.phase is Phase.ENDED

    def open(self, on_token: TokenSink | None = None) -> Turn:
        """The manager's opening line. Call once, before the first candidate message."""
        if self.state is not None:
            raise RuntimeError("the interview has already opened")
        state, plan = self.engine.start(self.connection)
        reply = self._say(plan, "", on_token)
        self.state = state
        return self._record_manager(plan, reply, state)

    def check_message(self, text: str) -> str:
        """Validate a candidate message before anything is sent.

        Returns:
            The message as it will be recorded: control characters (terminal escapes, NULs, carriage returns)
            removed, so none reaches the transcript or a screen that shows it.

        Raises:
            EmptyMessageError: for an empty or blank message.
            MessageTooLongError: for one over the token limit, with its count.
        """
        cleaned = "".join(ch for ch in _ESCAPE.sub("", text) if ch.isprintable() or ch in "\n\t").strip()
        if not cleaned:
            raise EmptyMessageError()
        # Tokenise at most a bounded prefix of a huge message and extrapolate: a megabyte of text is refused in
        # milliseconds, with its approximate size in tokens (and the message says it is approximate).
        limit = self.max_message_tokens
        head = cleaned[: limit * 40]
        tokens = self.counter.count(head)
        if len(head) < len(cleaned):
            if tokens > limit:
                raise MessageTooLongError(round(tokens * len(cleaned) / len(head)), limit, approximate=True)
            tokens = self.counter.count(cleaned)  # long but sparse in tokens (runs of spaces): count it all
        if tokens > limit:
            raise MessageTooLongError(tokens, limit)
        return cleaned

    def respond(self, text: str, on_token: TokenSink | None = None) -> Turn:
        """Answer one candidate message and record both turns.

        Nothing is recorded unless the manager's reply succeeds, so on any error the caller still holds the
        message and can send it again.

        Raises:
            EmptyMessageError, MessageTooLongError: for a message that can't be sent.
            ModelUnavailableError: when the model endpoint fails.
        """
        if self.state is None:
            self.open()
        assert self.state is not None
        message = self.check_message(text)
        analysis = self.analyzer.analyze(self.persona, message, self.state.last_topic)
        step = self.engine.step(self.state, analysis, message)
        reply = self._say(step.plan, message, on_token)
        self.transcript.turns.append(Turn(speaker="candidate", text=message, analysis=analysis))
        self.state = step.state
        return self._record_manager(step.plan, reply, step.state)

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to resume this interview later (JSON-ready)."""
        return {
            "transcript": self.transcript.model_dump(mode="json", exclude_none=True),
            "state": self.state.model_dump(mode="json") if self.state else None,
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Continue from a snapshot of this persona's interview (settings come from the snapshot).

        Raises:
            ValueError: when the snapshot belongs to another persona.
        """
        transcript = Transcript.model_validate(snapshot["transcript"])
        if transcript.persona != self.persona.id:
            raise ValueError(f"snapshot is for {transcript.persona!r}, not {self.persona.id!r}")
        self.transcript = transcript
        self.state = InterviewState.model_validate(snapshot["state"]) if snapshot.get("state") else None

    def _say(self, plan: TurnPlan, message: str, on_token: TokenSink | None) -> VoiceReply:
        request = VoiceRequest(self.public, plan, message, self._window())
        reply = self.voice.speak(request, on_token)
        if reply.fallback is None and leaks(reply.text, self._locked_lines(plan)):
            # The voice never saw locked lines, so this can only be a coincidence; still, say the authored line.
            reply = VoiceReply(
                plan.text,
                reply.voice,
                Fallback(reason="overlaps a line that is still locked", raw=reply.text),
                reply.prompt_tokens,
                reply.first_token_seconds,
            )
        return reply

    def _locked_lines(self, plan: TurnPlan) -> list[str]:
        unlocked = set(plan.revealed)
        return [line for pain in self.persona.pain_points for line in pain.levels if line not in unlocked]

    def _window(self) -> list[tuple[str, str]]:
        if self.window_turns == 0:
            return []
        turns = self.transcript.turns
        # The window's start moves in steps of two exchanges, not every turn, so the history at the front of the
        # prompt stays the same for a while and a prefix cache keeps it: between window-3 and window turns.
        step = max(2, (self.window_turns - 2) // 2 * 2)
        overflow = len(turns) - self.window_turns
        start = 0 if overflow <= 0 else -(-overflow // step) * step
        return [(t.speaker, t.text) for t in turns[start:]]

    def _record_manager(self, plan: TurnPlan, reply: VoiceReply, state: InterviewState) -> Turn:
        turn = Turn(
            speaker="manager",
            text=reply.text,
            revealed=[RevealRecord(pain_point=plan.reveal.pain_point, level=plan.reveal.level)] if plan.reveal else [],
            intent=plan.intent.value,
            voice=reply.voice,
            fallback=reply.fallback,
            trust=state.trust,
            prompt_tokens=reply.prompt_tokens,
        )
        self.transcript.turns.append(turn)
        self.transcript.state = TranscriptState(
            trust=state.trust, pain_points=dict(state.levels), phase=state.phase.value
        )
        return turn
