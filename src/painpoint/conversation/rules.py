"""The engine's tunable rules, as data: trust by connection, trust changes, reveal thresholds per difficulty."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator

from painpoint.resources import data_dir
from painpoint.scenario.loader import load_file
from painpoint.scenario.persona import Connection, Difficulty, Strict


class TrustChanges(Strict):
    """How much one candidate turn moves the manager's trust."""

    small_talk: float
    small_talk_limit: int = Field(ge=0)
    small_talk_excess: float
    needs_question: float
    follow_up: float
    tie_in: float
    about_self: float
    past_employer_monologue: float
    manipulation: float
    early_close: float


class DifficultyRules(Strict):
    """How guarded the manager is at one difficulty."""

    trust_offset: float = Field(ge=-1, le=1)
    closed_question_max_level: int = Field(ge=0, le=3, description="A closed question reveals at most this level.")
    vague_question_hints: bool = Field(description="Whether a vague open question about needs earns a hint.")
    vague_hint_min_trust: float = Field(ge=0, le=1)
    follow_up_from_level: int | None = Field(
        ge=1, le=3, description="From this level on, deepening needs a follow-up to the previous answer."
    )
    level_min_trust: list[float] = Field(min_length=3, max_length=3, description="Trust to reach level 1, 2, 3.")
    personal_extra_trust: float = Field(ge=0, le=1)
    close_min_uncovered: int = Field(ge=0, description="Pain points past the hint before a close is accepted.")
    close_min_trust: float = Field(ge=0, le=1)


class EngineRules(Strict):
    """All the engine's rules."""

    connection_trust: dict[Connection, float]
    trust_changes: TrustChanges
    difficulties: dict[Difficulty, DifficultyRules]

    @model_validator(mode="after")
    def _complete(self) -> EngineRules:
        missing = [c.value for c in Connection if c not in self.connection_trust]
        missing += [d.value for d in Difficulty if d not in self.difficulties]
        if missing:
            raise ValueError(f"missing entries for: {', '.join(missing)}")
        return self

    def starting_trust(self, connection: Connection, difficulty: Difficulty) -> float:
        """Trust at the start of an interview."""
        value = self.connection_trust[connection] + self.difficulties[difficulty].trust_offset
        return round(min(1.0, max(0.0, value)), 4)


def rules_path() -> Path:
    """The shipped engine rules file."""
    return data_dir("rules") / "engine.yaml"


@lru_cache(maxsize=8)
def load_rules(path: Path | None = None) -> EngineRules:
    """Load (and cache) engine rules; the shipped file by default."""
    return load_file(EngineRules, path or rules_path())
