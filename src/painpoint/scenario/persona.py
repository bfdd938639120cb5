"""The scenario a coach writes: a hiring manager, the job ad, and what the manager keeps hidden.

These are pure data models. Loading them from YAML (with readable errors) lives in
:mod:`painpoint.scenario.loader`; deciding what may be revealed lives in :mod:`painpoint.conversation.engine`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=800)]


class Strict(BaseModel):
    """Base for data-file models: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Mode(StrEnum):
    """What kind of interview the scenario is."""

    INTERVIEW = "interview"
    """Any job: the candidate sells themselves."""
    SALES_AUDITION = "sales_audition"
    """A sales job: the interview is an audition of the candidate's selling, so the bar is higher."""


class Connection(StrEnum):
    """How the candidate reached the manager, weakest first (the connection ladder)."""

    BLIND_RESUME = "blind_resume"
    ADVERTISED_OPENING = "advertised_opening"
    INSIDER_REFERRAL = "insider_referral"
    DIRECT_INTRODUCTION = "direct_introduction"
    KNOWN_FROM_BEFORE = "known_from_before"


class Difficulty(StrEnum):
    """How guarded the manager is."""

    EASY = "easy"
    NORMAL = "normal"
    HARD = "hard"


class PainKind(StrEnum):
    """Whose problem a pain point is."""

    BUSINESS = "business"
    """The numbers: revenue, cost, customers, deadlines."""
    TEAM = "team"
    """The people: workload, turnover, skills, morale."""
    PERSONAL = "personal"
    """The manager's own self-interest: make my life easier, hit my goals, get me promoted."""


class Company(Strict):
    """The employer, as a well-prepared candidate could know it."""

    name: Line
    sells: Line = Field(description="What the company sells, and to whom.")
    makes_money: Line = Field(description="How the company makes its money.")


class AdItem(Strict):
    """One line of the public job ad."""

    id: Slug
    text: Line = Field(description="The line as the ad prints it.")
    fluff: bool = Field(
        default=False,
        description="True when the manager does not really care about it (the debrief points out time spent on it).",
    )
    answer: Line = Field(description="What the manager says when the candidate asks about this item.")
    keywords: list[Line] = Field(
        default_factory=list,
        description="Words or phrases that show a candidate is asking about this item.",
    )


class JobAd(Strict):
    """The public job ad, fluff included."""

    title: Line
    summary: Line
    items: list[AdItem] = Field(min_length=3)

    @model_validator(mode="after")
    def _has_fluff(self) -> JobAd:
        if not any(item.fluff for item in self.items):
            raise ValueError("mark at least one item as fluff: real job ads always carry some")
        return self


class PainPoint(Strict):
    """Something the manager needs solved and will not volunteer."""

    id: Slug
    kind: PainKind
    summary: Line = Field(description="One line, for the debrief and the grader; never shown before the debrief.")
    levels: list[Line] = Field(
        min_length=2,
        max_length=3,
        description="What the manager says at each reveal level: a hint, then the detail, then the full story.",
    )
    probes: list[Line] = Field(
        min_length=3,
        description="Example questions and phrases that go after this pain point.",
    )
    keywords: list[Line] = Field(
        default_factory=list,
        description="Extra words or short phrases that point at this pain point.",
    )
    benefit: Line = Field(description="What solving it would mean to the manager: what a good candidate ties to.")

    @property
    def max_level(self) -> int:
        """The deepest reveal level (2 or 3)."""
        return len(self.levels)


class Lines(Strict):
    """The manager's authored lines outside the pain points, enough for a twenty-turn interview."""

    opening: list[Line] = Field(min_length=2, description="Greetings; the first is the default opening line.")
    small_talk: list[Line] = Field(min_length=3, description="Replies to rapport and small talk.")
    role_overview: list[Line] = Field(
        min_length=3, description="Public answers about the role, the team and the company."
    )
    deflections: list[Line] = Field(min_length=4, description="Polite non-answers to closed questions.")
    guarded: list[Line] = Field(
        min_length=3,
        description="Holding back on a good open question because the candidate has not earned trust yet.",
    )
    follow_up_requests: list[Line] = Field(
        min_length=3, description="The manager asking the candidate to be more specific."
    )
    redirects: list[Line] = Field(
        min_length=3, description="Reactions to a candidate talking at length about themselves or past employers."
    )
    acknowledgements: list[Line] = Field(min_length=3, description="Neutral replies to a candidate's statement.")
    nothing_more: list[Line] = Field(
        min_length=3, description="When the candidate keeps digging into something already fully told."
    )
    refusals: list[Line] = Field(
        min_length=3, description="In-character replies to attempts to manipulate the manager."
    )
    close_accept: list[Line] = Field(min_length=2, description="Answers to a good ask for the next step.")
    close_hesitant: list[Line] = Field(
        min_length=2, description="Answers to an ask for the next step before the candidate has earned it."
    )
    wrap_up: list[Line] = Field(min_length=2, description="What the manager says once the interview is over.")


class Persona(Strict):
    """A hiring manager with hidden pain points: one scenario."""

    id: Slug
    version: int = Field(
        default=1, ge=1, description="Bump when the scenario changes, so old attempts stay comparable."
    )
    name: Line = Field(description="The manager's display name.")
    title: Line = Field(description="The manager's job title.")
    company: Company
    role: Line = Field(description="The role being hired.")
    mode: Mode
    context: Line = Field(description="One line that sets the scene for the candidate.")
    personality: Line
    speaking_style: Line
    connection: Connection = Field(description="Default connection level.")
    difficulty: Difficulty = Field(description="Default difficulty.")
    job_ad: JobAd
    pain_points: list[PainPoint] = Field(min_length=3)
    objections: list[Line] = Field(
        min_length=2, description="Concerns the manager has about candidates, raised when a close comes too early."
    )
    next_step: Line = Field(description="What the manager agrees to when asked well for a next step.")
    lines: Lines

    @model_validator(mode="after")
    def _consistent(self) -> Persona:
        ids = [p.id for p in self.pain_points]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"pain point ids must be unique; repeated: {', '.join(duplicates)}")
        ad_ids = [i.id for i in self.job_ad.items]
        duplicates = sorted({i for i in ad_ids if ad_ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"job ad item ids must be unique; repeated: {', '.join(duplicates)}")
        kinds = {p.kind for p in self.pain_points}
        if PainKind.PERSONAL not in kinds:
            raise ValueError("include at least one personal pain point (the manager's own self-interest)")
        if len(kinds) < 2:
            raise ValueError("mix kinds of pain points: business, team and personal")
        return self

    def pain_point(self, pain_id: str) -> PainPoint:
        """Return the pain point with this id.

        Raises:
            KeyError: when the persona has no such pain point.
        """
        for pain in self.pain_points:
            if pain.id == pain_id:
                return pain
        raise KeyError(pain_id)

    def ad_item(self, item_id: str) -> AdItem:
        """Return the job ad item with this id.

        Raises:
            KeyError: when the ad has no such item.
        """
        for item in self.job_ad.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    @property
    def fluff(self) -> list[AdItem]:
        """The job ad items the manager does not really care about."""
        return [item for item in self.job_ad.items if item.fluff]
