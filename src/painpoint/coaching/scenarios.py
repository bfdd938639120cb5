"""What coaches and learners do, shared by the web app and the CLI: scenarios, scenario lookup, exports.

No web framework here: the Chainlit desk and the `painpoint` command both call these.
"""

from __future__ import annotations

import csv
import io
import json

from painpoint.coaching.accounts import Account, Role
from painpoint.coaching.records import Assignment, Attempt, Records
from painpoint.coaching.review import effective_scorecard
from painpoint.errors import DataFileError
from painpoint.grading.scorecard import Dimension, Rubric
from painpoint.scenario.library import Library
from painpoint.scenario.loader import load_bytes, load_text
from painpoint.scenario.persona import Persona

ASSIGNMENT_PREFIX = "assignment:"
MAX_SCENARIO_BYTES = 256 * 1024


async def add_scenario(records: Records, library: Library, owner: Account, raw: bytes, source: str) -> Persona:
    """Validate a persona file (the CLI's checks and errors) and store it as the coach's scenario.

    Raises:
        DataFileError: `source: field.path: problem`, as `painpoint personas validate` prints it.
        AccountError: when the id belongs to another coach's scenario.
    """
    if owner.role is not Role.COACH:
        raise DataFileError(source, ["only coaches can add scenarios"])
    if len(raw) > MAX_SCENARIO_BYTES:
        raise DataFileError(source, [f"the file is {len(raw):,} bytes; a scenario is at most {MAX_SCENARIO_BYTES:,}"])
    persona = load_bytes(Persona, raw, source)
    if any(p.id == persona.id for p in library.personas):
        raise DataFileError(source, [f"id: {persona.id!r} is already used by a persona in the shipped library"])
    await records.save_scenario(owner.name, persona.id, raw.decode("utf-8"))
    return persona


async def scenario_persona(records: Records, persona_id: str, owner: str) -> Persona | None:
    """A coach's stored scenario as a persona, only if that coach owns it."""
    scenario = await records.scenario(persona_id)
    if scenario is None or scenario.owner != owner:
        return None
    return load_text(Persona, scenario.yaml, f"scenario {persona_id}")


async def resolve_profile(
    records: Records, library: Library, account: Account, profile: str | None
) -> tuple[Persona, Assignment | None] | None:
    """The persona (and assignment) behind a chat profile name, if this account may use it."""
    if profile and profile.startswith(ASSIGNMENT_PREFIX):
        assignment = await records.assignment_for(account, profile.removeprefix(ASSIGNMENT_PREFIX))
        if assignment is None:
            return None
        persona = await persona_by_id(records, library, assignment.persona, assignment.coach)
        return None if persona is None else (persona, assignment)
    if profile is None:
        return None
    owner = account.name if account.role is Role.COACH else None
    persona = await persona_by_id(records, library, profile, owner)
    return None if persona is None else (persona, None)


async def persona_by_id(records: Records, library: Library, persona_id: str, owner: str | None) -> Persona | None:
    """A library persona, or (with an owner) that coach's own scenario."""
    for persona in library.personas:
        if persona.id == persona_id:
            return persona
    return await scenario_persona(records, persona_id, owner) if owner else None


def scores_csv(attempts: list[Attempt], rubric: Rubric) -> str:
    """One row per attempt: when, what, status and the scores that count (the coach's where overridden)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["attempt", "learner", "started_at", "persona", "assignment", "status", "overall"]
        + [d.value for d in Dimension]
        + ["coach_overrides", "coach_note"]
    )
    for attempt in attempts:
        row = [
            attempt.id,
            attempt.learner,
            attempt.started_at.isoformat(),
            attempt.persona,
            attempt.assignment_id or "",
        ]
        if attempt.scorecard is None:
            writer.writerow(row + ["in progress", ""] + [""] * len(Dimension) + ["", ""])
            continue
        card = effective_scorecard(attempt.scorecard, attempt.review, rubric)
        review = attempt.review
        overrides = ";".join(f"{k}={v.score}" for k, v in review.overrides.items()) if review else ""
        writer.writerow(
            row
            + ["graded", f"{card.overall:.1f}"]
            + [f"{card.dimensions[d]:.1f}" for d in Dimension]
            + [overrides, review.note if review else ""]
        )
    return out.getvalue()


def attempts_json(attempts: list[Attempt]) -> str:
    """Every attempt in full: transcript, the grader's scorecard and the coach's review."""
    return json.dumps([a.model_dump(mode="json") for a in attempts], indent=2)
