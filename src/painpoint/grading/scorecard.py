"""The rubric (data) and the scorecard (a typed result). Totals are computed here, never written by a model."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from painpoint.resources import data_dir
from painpoint.scenario.loader import load_file
from painpoint.scenario.persona import Strict


class Dimension(StrEnum):
    """The three things the grader scores."""

    DISCOVERY = "discovery"
    CUSTOMER_FOCUS = "customer_focus"
    CLOSE = "close"


class Source(StrEnum):
    """Who scored a criterion."""

    MEASURED = "measured"
    """Counted from the transcript by rules: deterministic."""
    JUDGE = "judge"
    """Scored by an LLM judge against the rubric."""


class RubricCriterion(Strict):
    """One criterion of the rubric."""

    id: str
    dimension: Dimension
    weight: float = Field(gt=0)
    source: Source
    title: str
    description: str
    sales_audition: bool = Field(default=False, description="Counts only in sales auditions.")


class Rubric(Strict):
    """The whole rubric, from `rules/rubric.yaml`."""

    scale_max: int = Field(ge=1, le=10)
    dimensions: dict[Dimension, float]
    criteria: list[RubricCriterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> Rubric:
        missing = [d.value for d in Dimension if d not in self.dimensions]
        if missing:
            raise ValueError(f"dimensions: missing weights for {', '.join(missing)}")
        ids = [c.id for c in self.criteria]
        if len(ids) != len(set(ids)):
            raise ValueError("criteria ids must be unique")
        return self

    def criterion(self, criterion_id: str) -> RubricCriterion:
        """The criterion with this id."""
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)


@lru_cache(maxsize=4)
def load_rubric(path: Path | None = None) -> Rubric:
    """The rubric (the shipped one by default)."""
    return load_file(Rubric, path or data_dir("rules") / "rubric.yaml")


class Evidence(BaseModel):
    """A verbatim quote from the transcript."""

    model_config = ConfigDict(extra="forbid")

    turn: int = Field(ge=0, description="Index of the turn in the transcript's `turns` list.")
    quote: str = Field(description="Words copied exactly from that turn.")


class CriterionScore(BaseModel):
    """One criterion, scored."""

    model_config = ConfigDict(extra="forbid")

    id: str
    dimension: Dimension
    title: str
    score: int = Field(ge=0, description="On the rubric's scale, 0 to max.")
    max: int = Field(ge=1)
    reason: str = Field(description="Why this score, in a sentence.")
    evidence: list[Evidence] = Field(default_factory=list)
    better_line: str = Field(default="", description="Something the candidate could have said instead.")
    source: Source


class PainPointResult(BaseModel):
    """What happened to one hidden pain point."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: str
    summary: str
    uncovered: bool
    depth: int = Field(ge=0, description="Deepest level revealed (0 = never came out).")
    max_depth: int
    turn: int | None = Field(description="Index of the turn where it first came out.")


class Unscored(BaseModel):
    """A criterion the judge could not score: kept for inspection, never counted as zero."""

    model_config = ConfigDict(extra="forbid")

    id: str
    reason: str
    raw: str = Field(default="", description="The judge's raw reply.")
    prompt: str = Field(default="", description="What the judge was sent.")


class Scorecard(BaseModel):
    """The grader's result. `overall` and `dimensions` are computed from `criteria`."""

    model_config = ConfigDict(extra="forbid")

    persona: str
    mode: str
    overall: float = Field(ge=0, le=100)
    dimensions: dict[Dimension, float]
    criteria: list[CriterionScore]
    pain_points: list[PainPointResult]
    unscored: list[Unscored] = Field(default_factory=list)
    not_applicable: list[str] = Field(default_factory=list, description="Criteria that did not apply here.")
    judge: str | None = Field(default=None, description="The judge model, when one was used.")


def compute_totals(criteria: list[CriterionScore], rubric: Rubric) -> tuple[float, dict[Dimension, float]]:
    """Dimension scores (weighted means of their criteria) and the overall score, each 0-100.

    A dimension with no scored criterion counts as 0 in the overall: nothing shown, nothing earned.
    """
    dimensions: dict[Dimension, float] = {}
    for dimension in Dimension:
        scored = [c for c in criteria if c.dimension is dimension]
        weight = sum(rubric.criterion(c.id).weight for c in scored)
        if not weight:
            dimensions[dimension] = 0.0
            continue
        total = sum(rubric.criterion(c.id).weight * c.score / c.max for c in scored)
        dimensions[dimension] = round(100 * total / weight, 1)
    weights = rubric.dimensions
    overall = sum(weights[d] * dimensions[d] for d in Dimension) / sum(weights.values())
    return round(overall, 1), dimensions
