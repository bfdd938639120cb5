"""The transcript: the one record of an interview. The CLI prints it, the grader reads it, a coach reviews it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidatorFunctionWrapHandler, field_validator

from painpoint.conversation.analysis import TurnAnalysis


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RevealRecord(BaseModel):
    """A pain point that reached a new level on this turn."""

    model_config = ConfigDict(extra="forbid")

    pain_point: str
    level: int = Field(ge=1, le=3)


class Fallback(BaseModel):
    """The model's reply failed a guard, so the authored line was said instead."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(description="Which guard failed, and why.")
    raw: str = Field(description="What the model said, kept for review.")


class Turn(BaseModel):
    """One line of the conversation. Unknown fields are ignored, so transcripts written elsewhere load."""

    model_config = ConfigDict(extra="ignore")

    speaker: Literal["candidate", "manager"]
    text: str
    analysis: TurnAnalysis | None = Field(default=None, description="Candidate turns: how the analyzer read it.")
    revealed: list[RevealRecord] = Field(default_factory=list, description="Manager turns: what it unlocked.")
    intent: str | None = Field(default=None, description="Manager turns: what the engine decided.")
    voice: str | None = Field(default=None, description="Manager turns: which voice spoke.")
    fallback: Fallback | None = None
    trust: float | None = Field(default=None, description="Manager turns: the manager's trust after this turn.")
    prompt_tokens: int | None = Field(default=None, description="LLM voices: tokens in the prompt for this turn.")

    @field_validator("analysis", mode="wrap")
    @classmethod
    def _analysis_or_none(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> TurnAnalysis | None:
        # An analysis in another shape (another tool, an older version) is dropped: the grader re-analyses.
        try:
            return handler(value)  # type: ignore[no-any-return]
        except ValidationError:
            return None


class TranscriptState(BaseModel):
    """The interview's state at the end of the transcript."""

    model_config = ConfigDict(extra="allow")

    trust: float
    pain_points: dict[str, int]
    phase: str = "discovery"


class Transcript(BaseModel):
    """A whole interview. Everything needed to replay or regrade it is here."""

    model_config = ConfigDict(extra="allow")

    format: int = 1
    persona: str
    persona_version: int = 1
    settings: dict[str, Any] = Field(default_factory=dict)
    started_at: str = Field(default_factory=_now)
    turns: list[Turn] = Field(default_factory=list)
    state: TranscriptState | None = None

    def candidate_turns(self) -> list[tuple[int, Turn]]:
        """Candidate turns with their index in `turns`."""
        return [(i, t) for i, t in enumerate(self.turns) if t.speaker == "candidate"]
