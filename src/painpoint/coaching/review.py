"""A coach's review of an attempt: a note and score overrides. The coach's score counts; the grader's is kept.

Pure: `effective_scorecard` recomputes the totals from the criteria with the overrides applied, through the same
`compute_totals` the grader uses, so a coach can never write a total directly either.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from painpoint.grading.scorecard import Dimension, Rubric, Scorecard, compute_totals


class Override(BaseModel):
    """A coach's score for one criterion."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=0)
    reason: str = Field(default="", max_length=2000)
    coach: str
    at: datetime


class Review(BaseModel):
    """Everything a coach added to one attempt."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=10_000)
    note_by: str | None = None
    overrides: dict[str, Override] = Field(default_factory=dict, description="By criterion id.")


class ReviewError(ValueError):
    """An override that does not fit the scorecard."""


def add_override(review: Review, scorecard: Scorecard, criterion_id: str, override: Override) -> Review:
    """The review with one more override, checked against the scorecard's criteria and scale.

    Raises:
        ReviewError: for a criterion the scorecard did not score, or a score off the scale.
    """
    scored = {c.id: c for c in scorecard.criteria}
    if criterion_id not in scored:
        raise ReviewError(f"{criterion_id!r} was not scored in this attempt, so it can't be overridden.")
    if override.score > scored[criterion_id].max:
        raise ReviewError(f"A score for {criterion_id!r} is 0 to {scored[criterion_id].max}.")
    return review.model_copy(update={"overrides": review.overrides | {criterion_id: override}})


def effective_scorecard(scorecard: Scorecard, review: Review | None, rubric: Rubric) -> Scorecard:
    """The scorecard with the coach's scores in place of the grader's, and totals recomputed."""
    if review is None or not review.overrides:
        return scorecard
    criteria = [
        criterion.model_copy(update={"score": review.overrides[criterion.id].score})
        if criterion.id in review.overrides
        else criterion
        for criterion in scorecard.criteria
    ]
    overall, dimensions = compute_totals(criteria, rubric)
    return scorecard.model_copy(update={"criteria": criteria, "overall": overall, "dimensions": dimensions})


class ProgressPoint(BaseModel):
    """One graded attempt on the progress chart."""

    model_config = ConfigDict(extra="forbid")

    at: datetime
    persona: str
    overall: float
    dimensions: dict[Dimension, float]
    reviewed: bool


def progress_series(attempts: list[tuple[datetime, Scorecard, Review | None]], rubric: Rubric) -> list[ProgressPoint]:
    """Graded attempts in time order, with the coach's scores counting where there are any."""
    points = []
    for at, scorecard, review in sorted(attempts, key=lambda item: item[0]):
        card = effective_scorecard(scorecard, review, rubric)
        points.append(
            ProgressPoint(
                at=at,
                persona=scorecard.persona,
                overall=card.overall,
                dimensions=card.dimensions,
                reviewed=bool(review and review.overrides),
            )
        )
    return points
