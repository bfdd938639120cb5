"""The desks: a coach's (assignments, scenarios, review, export) and a learner's (assignments, attempts, progress).

Every action re-reads the account from the database and every id in an action payload is looked up through
`Records` with the viewer, which filters by ownership in SQL: a forged payload finds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import chainlit as cl
import plotly.graph_objects as go  # type: ignore[import-untyped]

from painpoint.coaching.accounts import LOCAL, Account, AccountError, Role
from painpoint.coaching.records import Assignment, Attempt
from painpoint.coaching.review import Override, Review, ReviewError, add_override, effective_scorecard, progress_series
from painpoint.coaching.scenarios import ASSIGNMENT_PREFIX, add_scenario, attempts_json, persona_by_id, scores_csv
from painpoint.conversation.transcript import Transcript
from painpoint.errors import DataFileError
from painpoint.grading.debrief import render_debrief
from painpoint.grading.scorecard import Dimension, load_rubric
from painpoint.scenario.persona import Connection, Difficulty, Persona
from painpoint.web.app_context import LIBRARY, RECORDS, current_account, refuse_session

DESK = "desk"
ASK_TIMEOUT = 600
DIMENSION_LABELS = {
    Dimension.DISCOVERY: "Discovery",
    Dimension.CUSTOMER_FOCUS: "Customer focus",
    Dimension.CLOSE: "Close",
}
CONNECTION_LABELS = {
    Connection.BLIND_RESUME: "Blind resume",
    Connection.ADVERTISED_OPENING: "Answered the job ad",
    Connection.INSIDER_REFERRAL: "Referred by an insider",
    Connection.DIRECT_INTRODUCTION: "Introduced to the manager",
    Connection.KNOWN_FROM_BEFORE: "Known from before",
}


def _say(content: str, actions: list[cl.Action] | None = None, **kwargs: Any) -> cl.Message:
    return cl.Message(content=content, author="Desk", actions=actions or [], **kwargs)


async def _choose(prompt: str, options: list[tuple[str, str]]) -> str | None:
    """Ask with one button per option; the chosen value, or None on timeout."""
    actions = [cl.Action(name="choice", payload={"value": value}, label=label) for value, label in options]
    reply = await cl.AskActionMessage(content=prompt, actions=actions, author="Desk", timeout=ASK_TIMEOUT).send()
    if not reply:
        return None
    value = reply.get("payload", {}).get("value")
    allowed = {v for v, _ in options}
    return value if value in allowed else None


async def _ask_text(prompt: str) -> str | None:
    reply = await cl.AskUserMessage(content=prompt, author="Desk", timeout=ASK_TIMEOUT).send()
    if not reply:
        return None
    return str(reply.get("output", "")).strip()


def assignment_label(assignment: Assignment, persona: Persona | None) -> str:
    """How an assignment is named in menus and lists."""
    who = f"{persona.name} · {persona.role}" if persona else assignment.persona
    hints = "hints on" if assignment.hints else "no hints"
    connection = CONNECTION_LABELS[assignment.connection].lower()
    return f"{who} ({assignment.difficulty.value}, {connection}, {hints})"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _attempt_line(attempt: Attempt) -> str:
    if attempt.scorecard is None:
        status = "in progress"
    else:
        card = effective_scorecard(attempt.scorecard, attempt.review, load_rubric())
        status = f"{card.overall:.0f}/100" + (
            " (coach-reviewed)" if attempt.review and attempt.review.overrides else ""
        )
    return f"{_when(attempt.started_at)} · {attempt.persona} · {status}"


# -- opening a desk ----------------------------------------------------------------------------------------


async def open_desk(account: Account) -> None:
    """Show the desk for this account's role."""
    if account.role is Role.COACH:
        await _coach_home(account)
    else:
        await _learner_home(account)


def _coach_actions() -> list[cl.Action]:
    return [
        cl.Action(name="desk_new_assignment", payload={}, label="New assignment", icon="clipboard-plus"),
        cl.Action(name="desk_review", payload={}, label="Review attempts", icon="list-checks"),
        cl.Action(name="desk_upload_scenario", payload={}, label="Upload a scenario", icon="upload"),
        cl.Action(name="desk_export", payload={}, label="Export a learner", icon="download"),
    ]


async def _coach_home(coach: Account) -> None:
    learners = await RECORDS.learners_of(coach.name)
    assignments = await RECORDS.assignments_by(coach.name)
    scenarios = await RECORDS.scenarios_of(coach.name)
    attempts = await RECORDS.attempts_for_coach(coach.name)
    lines = [f"## Coach desk · {coach.name}", ""]
    lines.append(
        "**Your learners:** "
        + (
            ", ".join(learners)
            if learners
            else "none yet (add them with "
            "`painpoint users add NAME --role learner --coach " + coach.name + "`, or hand out a join code)."
        )
    )
    lines += ["", f"**Assignments ({len(assignments)})**"]
    for assignment in assignments:
        persona = await persona_by_id(RECORDS, LIBRARY, assignment.persona, coach.name)
        given = ", ".join(assignment.learners) or "nobody yet"
        code = f" · join code **{assignment.join_code}**" if assignment.join_code else ""
        done = sum(1 for a in attempts if a.assignment_id == assignment.id)
        lines.append(f"- {assignment_label(assignment, persona)} · for {given}{code} · {done} attempt(s)")
    lines += ["", f"**Your scenarios ({len(scenarios)}):** " + (", ".join(s.persona_id for s in scenarios) or "none")]
    lines += [
        "",
        "To add or update a scenario, paste its YAML here as a message, or upload the file. It is checked exactly "
        "as `painpoint personas validate` checks it.",
    ]
    await _say("\n".join(lines), _coach_actions()).send()


async def _learner_home(learner: Account) -> None:
    lines = ["## Your desk" if learner is not LOCAL else "## Your progress", ""]
    if learner is not LOCAL:
        assignments = await RECORDS.assignments_for(learner.name)
        lines.append(f"**Assignments ({len(assignments)})**")
        for assignment in assignments:
            persona = await persona_by_id(RECORDS, LIBRARY, assignment.persona, assignment.coach)
            lines.append(f"- {assignment_label(assignment, persona)}, from {assignment.coach}")
        if assignments:
            lines.append("\nStart one by choosing it (📋) in the scenario menu at the top.")
        else:
            lines.append("None yet. Have a join code from your coach? Press *Join with a code*.")
        lines.append("")
    attempts = await RECORDS.attempts_of(learner.name)
    graded = [a for a in attempts if a.scorecard is not None]
    lines.append(f"**Your attempts:** {len(attempts)} ({len(graded)} graded).")
    elements: list[Any] = []
    if graded:
        elements.append(cl.Plotly(name="Progress", figure=progress_chart(graded), display="inline"))
    else:
        lines.append("Finish an interview with *End & grade* to see your progress here.")
    actions = [cl.Action(name="desk_attempts", payload={}, label="My attempts", icon="history")]
    if learner is not LOCAL:
        actions.insert(0, cl.Action(name="desk_join", payload={}, label="Join with a code", icon="key-round"))
    await _say("\n".join(lines), actions, elements=elements).send()


def progress_chart(attempts: list[Attempt]) -> Any:
    """Scores per dimension (and overall) across graded attempts, the coach's scores counting."""
    rubric = load_rubric()
    points = progress_series(
        [(a.graded_at or a.started_at, a.scorecard, a.review) for a in attempts if a.scorecard is not None], rubric
    )
    x = [f"#{i + 1} {p.persona.split('-')[0]}" for i, p in enumerate(points)]
    figure = go.Figure()
    for dimension, label in DIMENSION_LABELS.items():
        figure.add_trace(go.Scatter(x=x, y=[p.dimensions[dimension] for p in points], mode="lines+markers", name=label))
    figure.add_trace(
        go.Scatter(x=x, y=[p.overall for p in points], mode="lines+markers", name="Overall", line={"width": 4})
    )
    figure.update_layout(
        yaxis={"range": [0, 105], "title": "score / 100"}, height=340, margin={"l": 40, "r": 10, "t": 20, "b": 40}
    )
    return figure


# -- messages typed at a desk --------------------------------------------------------------------------------


async def desk_message(account: Account, content: str, files: list[Any]) -> None:
    """A coach pastes (or attaches) a scenario; a learner types a join code."""
    if account.role is Role.COACH:
        if files:
            for element in files:
                await _take_scenario(account, _read_upload(element), getattr(element, "name", "upload.yaml"))
        elif content.strip():
            await _take_scenario(account, content.encode("utf-8"), "pasted.yaml")
        return
    if account is LOCAL:
        await _say("This is your progress page. Pick a scenario from the menu at the top to practise.").send()
        return
    await _join(account, content)


def _read_upload(element: Any) -> bytes:
    path = getattr(element, "path", None)
    if path:
        with open(path, "rb") as handle:
            return handle.read()
    content = getattr(element, "content", b"")
    return content if isinstance(content, bytes) else str(content).encode()


async def _take_scenario(coach: Account, raw: bytes, source: str) -> None:
    try:
        persona = await add_scenario(RECORDS, LIBRARY, coach, raw, source)
    except DataFileError as exc:
        await _say(f"**The scenario was not saved.**\n\n```\nFAIL {exc}\n```").send()
        return
    except AccountError as exc:
        await _say(f"**The scenario was not saved.**\n\n```\nFAIL {source}: {exc}\n```").send()
        return
    await _say(
        f"ok   {source} ({persona.id}: {len(persona.pain_points)} pain points)\n\n"
        f"Saved **{persona.name}** ({persona.role}). It is in your scenario menu now (reload the page to see it) "
        "and can be assigned.",
        _coach_actions(),
    ).send()


async def _join(learner: Account, code: str) -> None:
    assignment = await RECORDS.join(learner.name, code) if code.strip() else None
    if assignment is None:
        await _say("No assignment has that join code. Check it with your coach (8 letters and digits).").send()
        return
    persona = await persona_by_id(RECORDS, LIBRARY, assignment.persona, assignment.coach)
    await _say(
        f"Joined: **{assignment_label(assignment, persona)}** from {assignment.coach}. Reload the page and choose it "
        "(📋) in the scenario menu to start."
    ).send()


# -- actions -----------------------------------------------------------------------------------------------

Handler = Callable[[Account, cl.Action], Awaitable[None]]


def _for(role: Role | None) -> Callable[[Handler], Handler]:
    """Register an action that only a signed-in account (of this role, if given) may run."""

    def register(handler: Handler) -> Handler:
        async def run(action: cl.Action) -> None:
            account = await current_account()
            if account is None:
                await refuse_session()
                return
            if role is not None and account.role is not role:
                await _say("That is not available to you.").send()
                return
            try:
                await handler(account, action)
            finally:
                # An answered question ends the browser's task early and its restart is never closed: close it,
                # or the desk's buttons stay disabled.
                await cl.context.emitter.task_end()

        cl.action_callback(handler.__name__.removeprefix("_"))(run)
        return handler

    return register


@_for(Role.LEARNER)
async def _desk_join(learner: Account, action: cl.Action) -> None:
    code = await _ask_text("Type the join code your coach gave you.")
    if code:
        await _join(learner, code)


@_for(Role.LEARNER)
async def _desk_attempts(learner: Account, action: cl.Action) -> None:
    attempts = list(reversed(await RECORDS.attempts_of(learner.name)))[:20]
    if not attempts:
        await _say("No attempts yet.").send()
        return
    chosen = await _choose("Which attempt?", [(a.id, _attempt_line(a)) for a in attempts])
    if chosen:
        await show_attempt(learner, chosen)


@_for(Role.COACH)
async def _desk_review(coach: Account, action: cl.Action) -> None:
    attempts = list(reversed(await RECORDS.attempts_for_coach(coach.name)))[:25]
    if not attempts:
        await _say("None of your learners has attempted one of your assignments yet.").send()
        return
    chosen = await _choose("Which attempt?", [(a.id, f"{a.learner} · {_attempt_line(a)}") for a in attempts])
    if chosen:
        await show_attempt(coach, chosen)


@_for(None)
async def _desk_show_attempt(account: Account, action: cl.Action) -> None:
    await show_attempt(account, str(action.payload.get("attempt", "")))


async def show_attempt(viewer: Account, attempt_id: str) -> None:
    """One attempt, in full, to its learner or to the coach whose assignment it answers."""
    attempt = await RECORDS.attempt_for(viewer, attempt_id)
    if attempt is None:
        await _say("No such attempt among yours.").send()
        return
    transcript = Transcript.model_validate(attempt.transcript)
    persona = await persona_by_id(
        RECORDS, LIBRARY, attempt.persona, await _scenario_owner(viewer, attempt) if attempt.assignment_id else None
    )
    header = f"### {attempt.learner} · {attempt.persona} · started {_when(attempt.started_at)}"
    lines = [header, ""]
    lines += [
        f"**{'You' if t.speaker == 'candidate' else (persona.name if persona else 'Manager')}:** {t.text}"
        if viewer.role is Role.LEARNER
        else f"**{'Candidate' if t.speaker == 'candidate' else (persona.name if persona else 'Manager')}:** {t.text}"
        for t in transcript.turns
    ]
    transcript_text = "\n\n".join(lines[2:]) or "(no turns)"
    elements: list[Any] = [
        cl.Text(name="Transcript", content=transcript_text, display="inline"),
        cl.File(
            name=f"attempt-{attempt.id[:8]}.json",
            content=attempts_json([attempt]).encode(),
            mime="application/json",
            display="inline",
        ),
    ]
    actions: list[cl.Action] = []
    if attempt.scorecard is None:
        body = [header, "", "Not graded yet: the debrief appears once the interview is ended and graded."]
    else:
        rubric = load_rubric()
        card = effective_scorecard(attempt.scorecard, attempt.review, rubric)
        review = attempt.review or Review()
        body = [
            header,
            "",
            f"**Overall {card.overall:.0f}/100** · "
            + " · ".join(f"{label} {card.dimensions[d]:.0f}" for d, label in DIMENSION_LABELS.items()),
        ]
        body += ["", "| Criterion | Grader | Coach | Why (grader) |", "|---|---|---|---|"]
        for criterion in attempt.scorecard.criteria:
            override = review.overrides.get(criterion.id)
            coach_score = f"**{override.score}**/{criterion.max}" if override else "·"
            body.append(
                f"| {criterion.title} | {criterion.score}/{criterion.max} | {coach_score} | "
                f"{criterion.reason.replace('|', '/')} |"
            )
        if review.overrides:
            body.append("\nThe coach's scores count; the grader's are kept beside them.")
            for criterion_id, override in review.overrides.items():
                if override.reason:
                    body.append(f"- *{criterion_id}*: {override.reason} ({override.coach})")
        if review.note:
            body += ["", f"**Coach's note** ({review.note_by}): {review.note}"]
        if persona is not None:
            elements.append(
                cl.Text(name="Debrief", content=render_debrief(card, persona, transcript), display="inline")
            )
        if viewer.role is Role.COACH:
            actions = [
                cl.Action(
                    name="desk_override", payload={"attempt": attempt.id}, label="Override a score", icon="pencil"
                ),
                cl.Action(name="desk_note", payload={"attempt": attempt.id}, label="Add a note", icon="notebook-pen"),
            ]
    await _say("\n".join(body), actions, elements=elements).send()


async def _scenario_owner(viewer: Account, attempt: Attempt) -> str | None:
    if attempt.assignment_id is None:
        return viewer.name if viewer.role is Role.COACH else None
    assignment = await RECORDS.assignment_for(viewer, attempt.assignment_id)
    return assignment.coach if assignment else None


@_for(Role.COACH)
async def _desk_override(coach: Account, action: cl.Action) -> None:
    attempt = await RECORDS.attempt_for(coach, str(action.payload.get("attempt", "")))
    if attempt is None or attempt.scorecard is None:
        await _say("No such graded attempt among your learners'.").send()
        return
    criteria = attempt.scorecard.criteria
    criterion_id = await _choose(
        "Which criterion?", [(c.id, f"{c.title} (grader {c.score}/{c.max})") for c in criteria]
    )
    if criterion_id is None:
        return
    criterion = next(c for c in criteria if c.id == criterion_id)
    score = await _choose(f"Your score for *{criterion.title}*", [(str(s), str(s)) for s in range(criterion.max + 1)])
    if score is None:
        return
    reason = await _ask_text("Why? (one sentence, shown to the learner; type - to skip)") or ""
    override = Override(
        score=int(score), reason="" if reason == "-" else reason, coach=coach.name, at=datetime.now(UTC)
    )
    try:
        review = add_override(attempt.review or Review(), attempt.scorecard, criterion_id, override)
    except ReviewError as exc:
        await _say(str(exc)).send()
        return
    if await RECORDS.save_review(coach, attempt.id, review):
        await show_attempt(coach, attempt.id)


@_for(Role.COACH)
async def _desk_note(coach: Account, action: cl.Action) -> None:
    attempt = await RECORDS.attempt_for(coach, str(action.payload.get("attempt", "")))
    if attempt is None:
        await _say("No such attempt among your learners'.").send()
        return
    note = await _ask_text("Your note for the learner:")
    if not note:
        return
    review = (attempt.review or Review()).model_copy(update={"note": note[:10_000], "note_by": coach.name})
    if await RECORDS.save_review(coach, attempt.id, review):
        await show_attempt(coach, attempt.id)


@_for(Role.COACH)
async def _desk_new_assignment(coach: Account, action: cl.Action) -> None:
    scenarios = [(p.id, f"{p.name} · {p.role}") for p in LIBRARY.personas]
    scenarios += [(s.persona_id, f"Yours: {s.persona_id}") for s in await RECORDS.scenarios_of(coach.name)]
    persona_id = await _choose("Which scenario?", scenarios)
    if persona_id is None:
        return
    difficulty = await _choose("Difficulty?", [(d.value, d.value) for d in Difficulty])
    if difficulty is None:
        return
    connection = await _choose(
        "How has the candidate reached the manager?", [(c.value, label) for c, label in CONNECTION_LABELS.items()]
    )
    if connection is None:
        return
    hints = await _choose("Hints and the trust meter?", [("yes", "Allowed"), ("no", "Not allowed")])
    if hints is None:
        return
    roster = await RECORDS.learners_of(coach.name)
    listed = ", ".join(roster) if roster else "none yet"
    who = await _ask_text(
        f"For whom? Type learner names separated by commas (yours: {listed}), or **code** for a join code, "
        "or both (e.g. `ana, ben, code`)."
    )
    if not who:
        return
    names = [n.strip().lower() for n in who.split(",") if n.strip()]
    with_code = "code" in names
    try:
        assignment = await RECORDS.create_assignment(
            coach.name,
            persona_id,
            Difficulty(difficulty),
            Connection(connection),
            hints == "yes",
            [n for n in names if n != "code"],
            with_code,
        )
    except AccountError as exc:
        await _say(f"The assignment was not made: {exc}", _coach_actions()).send()
        return
    persona = await persona_by_id(RECORDS, LIBRARY, persona_id, coach.name)
    code = (
        f"\n\nJoin code: **{assignment.join_code}** (learners type it on their desk)." if assignment.join_code else ""
    )
    given = ", ".join(assignment.learners) or "nobody yet"
    await _say(f"Assigned **{assignment_label(assignment, persona)}** to {given}.{code}", _coach_actions()).send()


@_for(Role.COACH)
async def _desk_upload_scenario(coach: Account, action: cl.Action) -> None:
    ask = cl.AskFileMessage(
        content="Upload a persona YAML file.",
        accept={
            "text/plain": [".yaml", ".yml"],
            "application/x-yaml": [".yaml", ".yml"],
            "text/yaml": [".yaml", ".yml"],
            "application/octet-stream": [".yaml", ".yml"],
        },
        max_size_mb=1,
        author="Desk",
        timeout=ASK_TIMEOUT,
    )
    # Chainlit files the upload's spec under the question's parent id, which the browser sends back with the
    # upload; outside a step there is none and the upload is refused, so give the question a parent.
    ask.parent_id = action.forId or str(uuid.uuid4())
    files = await ask.send()
    for element in files or []:
        await _take_scenario(coach, _read_upload(element), element.name)


@_for(Role.COACH)
async def _desk_export(coach: Account, action: cl.Action) -> None:
    roster = await RECORDS.learners_of(coach.name)
    if not roster:
        await _say("You have no learners yet.").send()
        return
    learner = await _choose("Whose attempts?", [(name, name) for name in roster])
    if learner is None:
        return
    attempts = await RECORDS.attempts_for_coach(coach.name, learner)
    elements = [
        cl.File(
            name=f"{learner}-scores.csv",
            content=scores_csv(attempts, load_rubric()).encode(),
            mime="text/csv",
            display="inline",
        ),
        cl.File(
            name=f"{learner}-attempts.json",
            content=attempts_json(attempts).encode(),
            mime="application/json",
            display="inline",
        ),
    ]
    await _say(f"{len(attempts)} attempt(s) by {learner} at your assignments.", elements=elements).send()


def assignment_profile(assignment: Assignment) -> str:
    """The chat profile name of an assignment."""
    return ASSIGNMENT_PREFIX + assignment.id
