"""What a candidate's turn is doing, as a typed record. Produced by an analyzer, consumed by the engine."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from painpoint.scenario.persona import Persona


class Act(StrEnum):
    """Whether the candidate asked or told."""

    QUESTION = "question"
    STATEMENT = "statement"


class Form(StrEnum):
    """The shape of a question."""

    OPEN = "open"
    """Invites a story: what, how, why, tell me about..."""
    CLOSED = "closed"
    """Invites yes, no or a fact."""
    NONE = "none"
    """Not a question."""


class Focus(StrEnum):
    """Whose world the turn is about."""

    MANAGER = "manager"
    CANDIDATE = "candidate"
    NEUTRAL = "neutral"


class TurnAnalysis(BaseModel):
    """One candidate turn, classified. Ids refer to the persona being interviewed."""

    model_config = ConfigDict(extra="forbid")

    act: Act
    form: Form = Field(description="open or closed for a question; none for a statement.")
    targets: list[str] = Field(
        default_factory=list, description="Pain point ids the turn goes after, best match first; empty for none."
    )
    ad_items: list[str] = Field(default_factory=list, description="Job ad item ids the turn asks about.")
    focus: Focus = Focus.NEUTRAL
    small_talk: bool = False
    vague_needs: bool = Field(
        default=False, description="A question about the manager's needs that names no specific area."
    )
    role_question: bool = Field(default=False, description="A question about the job, team or company in general.")
    next_step_ask: bool = Field(default=False, description="Asks for the next step, the job or a decision.")
    manipulation: bool = Field(default=False, description="Tries to make the manager leave the role or the rules.")
    past_employer: bool = Field(default=False, description="Narrates what the candidate did for past employers.")
    words: int = Field(default=0, ge=0)
    source: str = Field(default="offline", description="Which analyzer produced this.")

    @property
    def is_open_question(self) -> bool:
        """True for an open question."""
        return self.act is Act.QUESTION and self.form is Form.OPEN


class Analyzer(Protocol):
    """Classifies a candidate turn against a persona."""

    name: str

    def analyze(self, persona: Persona, text: str, last_topic: str | None = None) -> TurnAnalysis:
        """Classify `text`; `last_topic` is the pain point the manager spoke about last, for follow-ups."""
        ...
