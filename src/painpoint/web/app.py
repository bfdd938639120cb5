"""The Chainlit adapter: handlers only. Rules live in the engine, wiring in `session`, storage in `store`.

Run it with `painpoint serve`. Nothing hidden is sent to the browser before the debrief: messages carry the
manager's spoken lines, the sidebar carries the public job ad and counts, and action payloads carry nothing
about the persona.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import chainlit as cl
import plotly.graph_objects as go  # type: ignore[import-untyped]
from chainlit.config import ChainlitConfig
from chainlit.config import config as chainlit_config
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.input_widget import Select, Switch
from chainlit.server import app as http_app
from chainlit.session import WebsocketSession
from chainlit.types import ThreadDict
from fastapi import Request
from fastapi.responses import JSONResponse

from painpoint.coaching.accounts import (
    DUMMY_HASH,
    LOCAL,
    Account,
    AccountError,
    Role,
    SignInPolicy,
    check_name,
    verify_password,
)
from painpoint.coaching.records import Assignment, Attempt
from painpoint.coaching.scenarios import persona_by_id, resolve_profile
from painpoint.conversation.coach import hint, progress
from painpoint.conversation.interview import Interview
from painpoint.conversation.session import build_grader, build_interview, shared_offline_analyzer
from painpoint.conversation.transcript import Turn
from painpoint.errors import ModelUnavailableError, PainpointError
from painpoint.grading.debrief import render_debrief
from painpoint.grading.scorecard import Dimension, Scorecard
from painpoint.scenario.persona import Connection, Difficulty, Mode, Persona
from painpoint.web import desk
from painpoint.web.app_context import (
    LIBRARY,
    RECORDS,
    SETTINGS,
    STORE,
    account_of,
    current_account,
    local_mode,
    refuse_session,
)


@dataclass
class WebSession:
    """Everything one browser tab's interview needs, kept in `cl.user_session` under one key."""

    account: Account
    persona: Persona
    interview: Interview
    difficulty: Difficulty
    connection: Connection
    hints: bool
    assignment: Assignment | None = None
    """Set when the coach fixed the settings: they can't be changed here."""
    seed: int = 0
    attempt_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    pending: str | None = None
    """A message that could not be sent (the model was down), kept for Retry."""
    last_message: cl.Message | None = None
    graded: Scorecard | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)


def _session() -> WebSession | None:
    value = cl.user_session.get("painpoint")
    return value if isinstance(value, WebSession) else None


# -- configuration hooks -----------------------------------------------------------------------------------


@cl.on_app_startup
async def _startup() -> None:
    await STORE.create_schema()
    _BACKGROUND.add(asyncio.ensure_future(_warm_up()))


_BACKGROUND: set[asyncio.Future[None]] = set()


async def _warm_up(persona: Persona | None = None) -> None:
    """Load the embedding model (and index a persona) in the background, so first turns answer at once."""
    analyzer = shared_offline_analyzer()
    if persona is not None:
        await asyncio.to_thread(analyzer.prepare, persona)
    elif analyzer.embedder is not None:
        await asyncio.to_thread(analyzer.embedder.embed, ["warm up"])


class _DataLayer(SQLAlchemyDataLayer):
    """Chainlit's layer, naming each conversation after what it is rather than its first click or words."""

    async def update_thread(
        self,
        thread_id: str,
        name: str | None = None,
        user_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> None:
        if name is not None:
            name = _thread_name() or name
        await super().update_thread(thread_id, name=name, user_id=user_id, metadata=metadata, tags=tags)


def _thread_name() -> str | None:
    try:
        web = _session()
        if web is not None:
            return f"{web.persona.name} · {web.persona.role}"
        if cl.user_session.get("desk"):
            user = cl.context.session.user
            return "Coach desk" if user and (user.metadata or {}).get("role") == Role.COACH.value else "My desk"
    except Exception:  # outside a session: keep Chainlit's name
        return None
    return None


@cl.data_layer
def _data_layer() -> SQLAlchemyDataLayer:
    return _DataLayer(conninfo=STORE.url)


# Failed sign-ins are limited per name (someone guessing one account's password) and per client address (someone
# trying many names); behind a proxy every client shares the proxy's address, hence the higher allowance there.
NAME_POLICY = SignInPolicy(free=5)
ADDRESS_POLICY = SignInPolicy(free=30)


async def _sign_in_wait(address: str, name: str) -> float:
    await STORE.create_schema()
    now = time.time()
    waits = [
        policy.retry_after(await RECORDS.sign_in_failures(key, now - policy.window), now)
        for key, policy in ((address, ADDRESS_POLICY), (name, NAME_POLICY))
    ]
    return max(waits)


class _SignInLimit:
    """ASGI middleware around POST /login: refuses with 429 and Retry-After while a name or address is locked out.

    Written against raw ASGI because the form must be read here and read again by Chainlit's route.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith("/login"):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body") or len(body) > 65_536:
                break
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        client = scope.get("client") or ("unknown", 0)
        address = f"address:{client[0]}"
        try:
            form = await Request(scope, replay).form()
            name = "name:" + str(form.get("username", "")).strip().lower()
        except Exception:  # an unreadable form is the route's to refuse
            name = "name:"
        replayed = False
        wait = await _sign_in_wait(address, name)
        if wait:
            seconds = math.ceil(wait)
            response = JSONResponse(
                {"detail": f"Too many failed sign-ins: try again in {seconds} s."},
                status_code=429,
                headers={"Retry-After": str(seconds)},
            )
            await response(scope, replay, send)
            return

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                now = time.time()
                forget = now - max(NAME_POLICY.window, ADDRESS_POLICY.window)
                if message["status"] == 401:
                    await RECORDS.sign_in_failed([address, name], now, forget)
                elif message["status"] == 200:
                    await RECORDS.sign_in_succeeded(name)
            await send(message)

        await self.app(scope, replay, watch)


http_app.add_middleware(_SignInLimit)


def _global_config(self: WebsocketSession) -> ChainlitConfig:
    config: ChainlitConfig = chainlit_config
    return config


# Chainlit looks for per-profile config overrides by running the (async) profile list to completion inside the
# running event loop, re-entrantly; with the database reads our profile list needs, 50 connecting sessions
# exhausted the connection pool and locked SQLite. painpoint's profiles have no overrides: skip the lookup.
WebsocketSession.get_config = _global_config  # type: ignore[method-assign]


def _user(account: Account) -> cl.User:
    # The token carries the name only as an identity claim; the role is read from the database on every use.
    return cl.User(identifier=account.name, metadata={"role": account.role.value, "provider": account.provider})


@cl.password_auth_callback
async def _password_sign_in(username: str, password: str) -> cl.User | None:
    if SETTINGS.auth == "header":
        return None
    await STORE.create_schema()
    # Rate limits are applied around this, in `_limit_sign_ins`.
    found = await RECORDS.account(username.strip().lower())
    stored = found[1] if found else None
    # Always pay for one hash, so a wrong name takes as long as a wrong password.
    matches = await asyncio.to_thread(verify_password, password, stored or DUMMY_HASH)
    if found is None or stored is None or not matches:
        return None
    return _user(found[0])


@cl.header_auth_callback
async def _header_sign_in(headers: Any) -> cl.User | None:
    if SETTINGS.auth == "header":
        # A single-sign-on proxy names the user; only safe behind a proxy that strips this header from clients.
        try:
            name = check_name(str(headers.get(SETTINGS.auth_header, "")))
        except AccountError:
            return None
        await STORE.create_schema()
        found = await RECORDS.account(name)
        if found is None:
            with contextlib.suppress(AccountError):  # created by a concurrent request
                await RECORDS.add_account(name, Role.LEARNER, None)
            found = await RECORDS.account(name)
        return None if found is None else _user(found[0].model_copy(update={"provider": "header"}))
    if await local_mode():
        # One local user until accounts exist: history needs a user to belong to.
        return _user(LOCAL)
    return None


def _persona_profile(persona: Persona, name: str, display: str, default: bool) -> cl.ChatProfile:
    return cl.ChatProfile(
        name=name,
        display_name=display,
        markdown_description=(
            f"**{persona.name}**, {persona.title} at {persona.company.name}.  \n"
            f"Hiring: **{persona.role}** · "
            f"{'Sales audition' if persona.mode is Mode.SALES_AUDITION else 'Interview'} · "
            f"{persona.difficulty.value}  \n{persona.context}"
        ),
        default=default,
    )


@cl.set_chat_profiles
async def _profiles(user: cl.User | None = None, language: str | None = None) -> list[cl.ChatProfile]:
    account = await account_of(user)
    if account is None:
        return []
    desk_label = {Role.COACH: "🧭 Coach desk", Role.LEARNER: "🧭 My desk"}[account.role]
    desk_profile = cl.ChatProfile(
        name=desk.DESK,
        display_name="📈 My progress" if account is LOCAL else desk_label,
        markdown_description="Assignments, scenarios and review of your learners' attempts."
        if account.role is Role.COACH
        else "Your assignments, your attempts and your progress over time.",
        default=account is not LOCAL,
    )
    profiles: list[cl.ChatProfile] = [] if account is LOCAL else [desk_profile]
    if account.role is Role.LEARNER and account is not LOCAL:
        for assignment in await RECORDS.assignments_for(account.name):
            persona = await persona_by_id(RECORDS, LIBRARY, assignment.persona, assignment.coach)
            if persona is not None:
                label = "📋 " + desk.assignment_label(assignment, persona)
                profiles.append(_persona_profile(persona, desk.assignment_profile(assignment), label, False))
    for index, persona in enumerate(LIBRARY.personas):
        default = account is LOCAL and index == 0
        profiles.append(_persona_profile(persona, persona.id, f"{persona.name} · {persona.role}", default))
    if account.role is Role.COACH:
        for scenario in await RECORDS.scenarios_of(account.name):
            persona = await persona_by_id(RECORDS, LIBRARY, scenario.persona_id, account.name)
            if persona is not None:
                profiles.append(_persona_profile(persona, persona.id, f"✏️ {persona.name} · {persona.role}", False))
    if account is LOCAL:
        profiles.append(desk_profile)
    return profiles


def _settings_widgets(persona: Persona, difficulty: Difficulty, connection: Connection, hints: bool) -> cl.ChatSettings:
    return cl.ChatSettings(
        [
            Select(
                id="difficulty",
                label="Difficulty",
                values=[d.value for d in Difficulty],
                initial_value=difficulty.value,
                description="How guarded the manager is.",
            ),
            Select(
                id="connection",
                label="How you reached the manager",
                items={label: value.value for value, label in desk.CONNECTION_LABELS.items()},
                initial_value=connection.value,
                description="A warmer connection starts with more trust.",
            ),
            Switch(id="hints", label="Coaching (hints and the trust meter)", initial=hints),
        ]
    )


# -- the interview -----------------------------------------------------------------------------------------


def _new_interview(persona: Persona, difficulty: Difficulty, connection: Connection, seed: int) -> Interview:
    return build_interview(persona, settings=SETTINGS, difficulty=difficulty, connection=connection, seed=seed)


def _job_ad(persona: Persona) -> str:
    ad = persona.job_ad
    items = "\n".join(f"- {item.text}" for item in ad.items)
    return f"### {ad.title}\n**{persona.company.name}**: {persona.company.sells}\n\n{ad.summary}\n\n{items}"


async def _show_sidebar(web: WebSession) -> None:
    elements: list[Any] = [cl.Text(name="Job ad", content=_job_ad(web.persona), display="side")]
    if web.assignment is not None:
        fixed = desk.assignment_label(web.assignment, web.persona)
        elements.insert(0, cl.Text(name="Assignment", content=f"From {web.assignment.coach}: {fixed}", display="side"))
    if web.interview.state is not None:
        report = progress(web.persona, web.interview.state).render(show_trust=web.hints)
        elements.insert(0, cl.Text(name="Progress", content=report, display="side"))
    await cl.ElementSidebar.set_elements(elements)
    await cl.ElementSidebar.set_title(f"{web.persona.name} · {web.persona.role}")


# Openers offered under the greeting: Chainlit's own starters show only on an empty thread, and here the
# manager speaks first.
STARTERS = [
    ("Break the ice", "Thanks for making the time today. How has your week been?"),
    ("Ask about their world", "What's the biggest challenge you're facing right now?"),
    ("Ask why the role is open", "Why is this position open?"),
]


def _actions(web: WebSession) -> list[cl.Action]:
    actions = [cl.Action(name="end_and_grade", payload={}, label="End & grade", icon="flag")]
    if not web.interview.transcript.candidate_turns():
        actions = [
            cl.Action(name="starter", payload={"text": text}, label=label, icon="message-circle")
            for label, text in STARTERS
        ] + actions
    if web.hints:
        actions.insert(0, cl.Action(name="hint", payload={}, label="Hint", icon="lightbulb"))
    actions.append(cl.Action(name="try_again", payload={}, label="Try again", icon="rotate-ccw"))
    return actions


async def _move_actions(web: WebSession, message: cl.Message) -> None:
    if web.last_message is not None and web.last_message is not message:
        await web.last_message.remove_actions()
    message.actions = _actions(web)
    web.last_message = message


async def _save(web: WebSession) -> None:
    thread_id = cl.context.session.thread_id
    user = cl.context.session.user
    data = web.interview.snapshot() | {
        "ui": {
            "difficulty": web.difficulty.value,
            "connection": web.connection.value,
            "hints": web.hints,
            "seed": web.seed,
            "assignment": web.assignment.id if web.assignment else None,
            "attempt_id": web.attempt_id,
            "started_at": web.started_at.isoformat(),
        },
        "scorecard": web.graded.model_dump(mode="json") if web.graded else None,
        "attempts": web.attempts,
    }
    await STORE.save_interview(thread_id, user.identifier if user else None, web.persona.id, data)
    transcript = web.interview.transcript
    if transcript.candidate_turns():
        await RECORDS.save_attempt(
            Attempt(
                id=web.attempt_id,
                learner=web.account.name,
                thread_id=thread_id,
                persona=web.persona.id,
                assignment_id=web.assignment.id if web.assignment else None,
                started_at=web.started_at,
                updated_at=datetime.now(UTC),
                graded_at=datetime.now(UTC) if web.graded else None,
                transcript=transcript.model_dump(mode="json", exclude_none=True),
                scorecard=web.graded,
                review=None,
            )
        )


async def _speak(web: WebSession, work: Callable[..., Turn], *args: Any) -> tuple[cl.Message, Turn]:
    """Run an interview call in a worker thread, streaming the manager's words into a new message."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()
    message = cl.Message(content="", author=web.persona.name)

    def sink(piece: str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, piece)

    task = asyncio.ensure_future(asyncio.to_thread(work, *args, sink))
    while not (task.done() and queue.empty()):
        getter = asyncio.ensure_future(queue.get())
        done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            await message.stream_token(getter.result())
        else:
            getter.cancel()
    try:
        turn: Turn = task.result()
    except BaseException:
        if message.content:  # part of a reply was streamed before the endpoint failed: take it back
            await message.remove()
        raise
    if message.content != turn.text:
        # A guard replaced the model's words with the authored line.
        message.content = turn.text
    return message, turn


async def _open(web: WebSession) -> None:
    task = asyncio.ensure_future(_warm_up(web.persona))
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)
    try:
        message, _turn = await _speak(web, web.interview.open)
    except PainpointError as exc:
        retry = [cl.Action(name="retry_open", payload={}, label="Retry", icon="refresh-cw")]
        await cl.Message(content=f"⚠️ {exc}", author="painpoint", actions=retry).send()
        return
    await _move_actions(web, message)
    await message.send()
    await _show_sidebar(web)
    await _save(web)


async def _respond(web: WebSession, text: str) -> None:
    try:
        message, _turn = await _speak(web, web.interview.respond, text)
    except PainpointError as exc:
        retry = [cl.Action(name="retry", payload={}, label="Retry", icon="refresh-cw")]
        kept = "Your message was kept: press Retry to send it again." if isinstance(exc, ModelUnavailableError) else ""
        if kept:
            web.pending = text
        await cl.Message(content=f"⚠️ {exc} {kept}".strip(), author="painpoint", actions=retry if kept else []).send()
        return
    web.pending = None
    await _move_actions(web, message)
    await message.send()
    await _show_sidebar(web)
    await _save(web)


@cl.on_chat_start
async def _start() -> None:
    account = await current_account()
    if account is None:
        await refuse_session()
        return
    profile = cl.user_session.get("chat_profile")
    if profile == desk.DESK:
        cl.user_session.set("desk", True)
        await desk.open_desk(account)
        return
    if not LIBRARY.personas:
        await cl.Message(content="No valid persona files were found in `personas/`.", author="painpoint").send()
        return
    resolved = await resolve_profile(RECORDS, LIBRARY, account, profile)
    if resolved is None and profile is None:
        resolved = (LIBRARY.personas[0], None)
    if resolved is None:
        await cl.Message(content="That scenario is not available to you.", author="painpoint").send()
        return
    persona, assignment = resolved
    if assignment is None:
        chosen = await _settings_widgets(persona, persona.difficulty, persona.connection, True).send()
        difficulty = Difficulty(chosen.get("difficulty", persona.difficulty.value))
        connection = Connection(chosen.get("connection", persona.connection.value))
        hints = bool(chosen.get("hints", True))
    else:
        difficulty, connection, hints = assignment.difficulty, assignment.connection, assignment.hints
    seed = random.randrange(1_000_000)
    web = WebSession(
        account=account,
        persona=persona,
        interview=_new_interview(persona, difficulty, connection, seed),
        difficulty=difficulty,
        connection=connection,
        hints=hints,
        assignment=assignment,
        seed=seed,
    )
    cl.user_session.set("painpoint", web)
    await _open(web)


@cl.on_message
async def _message(message: cl.Message) -> None:
    account = await current_account()
    if account is None:
        await refuse_session()
        return
    if cl.user_session.get("desk"):
        await desk.desk_message(account, message.content, list(message.elements or []))
        return
    web = _session()
    if web is None:
        await cl.Message(content="This conversation has no interview. Start a new chat.", author="painpoint").send()
        return
    if web.graded is not None:
        await cl.Message(
            content="This interview has been graded. Press *Try again* for a fresh attempt.", author="painpoint"
        ).send()
        return
    await _respond(web, message.content)


@cl.on_settings_update
async def _settings_changed(values: dict[str, Any]) -> None:
    web = _session()
    if web is None:
        return
    if web.assignment is not None:
        await cl.Message(
            content="Your coach set this assignment's difficulty, connection and hints; they can't be changed here.",
            author="painpoint",
        ).send()
        return
    web.hints = bool(values.get("hints", web.hints))
    difficulty = Difficulty(values.get("difficulty", web.difficulty.value))
    connection = Connection(values.get("connection", web.connection.value))
    if (difficulty, connection) != (web.difficulty, web.connection):
        web.difficulty, web.connection = difficulty, connection
        await cl.Message(
            content=f"New settings ({difficulty.value}, {desk.CONNECTION_LABELS[connection].lower()}) "
            "apply from your next attempt: press *Try again* to start over with them.",
            author="painpoint",
        ).send()
    if web.last_message is not None:
        web.last_message.actions = _actions(web)
        await web.last_message.update()
    await _show_sidebar(web)
    await _save(web)


@cl.action_callback("hint")
async def _hint(action: cl.Action) -> None:
    web = _session()
    if web is None or web.interview.state is None or not web.hints:
        return
    await cl.Message(
        content=f"💡 {hint(web.persona, web.interview.state, web.interview.transcript)}", author="Coach"
    ).send()


@cl.action_callback("starter")
async def _starter(action: cl.Action) -> None:
    web = _session()
    text = str(action.payload.get("text", ""))
    if web is None or text not in {line for _, line in STARTERS}:
        return
    await cl.Message(content=text, type="user_message", author="You").send()
    await _respond(web, text)


@cl.action_callback("retry")
async def _retry(action: cl.Action) -> None:
    web = _session()
    if web is None or web.pending is None:
        return
    await action.remove()
    await _respond(web, web.pending)


@cl.action_callback("retry_open")
async def _retry_open(action: cl.Action) -> None:
    web = _session()
    if web is None or web.interview.state is not None:
        return
    await action.remove()
    await _open(web)


@cl.action_callback("try_again")
async def _try_again(action: cl.Action) -> None:
    web = _session()
    if web is None:
        return
    if web.interview.transcript.candidate_turns():
        web.attempts.append(
            {
                "transcript": web.interview.transcript.model_dump(mode="json", exclude_none=True),
                "scorecard": web.graded.model_dump(mode="json") if web.graded else None,
            }
        )
    web.seed += 1
    web.attempt_id = uuid.uuid4().hex
    web.started_at = datetime.now(UTC)
    web.graded = None
    web.pending = None
    web.interview = _new_interview(web.persona, web.difficulty, web.connection, web.seed)
    await cl.Message(content="**New attempt.** Same manager, fresh start.", author="painpoint").send()
    await _open(web)


@cl.action_callback("end_and_grade")
async def _end_and_grade(action: cl.Action) -> None:
    web = _session()
    if web is None:
        return
    transcript = web.interview.transcript
    if not transcript.candidate_turns():
        await cl.Message(
            content="Say something to the manager first: there is nothing to grade yet.", author="painpoint"
        ).send()
        return
    async with cl.Step(name="Grading the interview", type="tool") as step:
        step.input = f"{sum(t.speaker == 'candidate' for t in transcript.turns)} candidate turns"
        grader = build_grader(SETTINGS)
        scorecard = await asyncio.to_thread(grader.grade, web.persona, transcript)
        step.output = f"Overall {scorecard.overall:.0f}/100"
    web.graded = scorecard
    if web.last_message is not None:
        await web.last_message.remove_actions()
    await _send_debrief(web, scorecard)
    await _show_sidebar(web)
    await _save(web)


def _chart(scorecard: Scorecard) -> Any:
    labels = [desk.DIMENSION_LABELS[d] for d in Dimension] + ["Overall"]
    values = [scorecard.dimensions[d] for d in Dimension] + [scorecard.overall]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=values,
            text=[f"{v:.0f}" for v in values],
            textposition="outside",
            marker_color=["#4C78A8", "#F58518", "#54A24B", "#333333"],
        )
    )
    figure.update_layout(
        yaxis={"range": [0, 105], "title": "score / 100"}, height=320, margin={"l": 40, "r": 10, "t": 20, "b": 40}
    )
    return figure


async def _send_debrief(web: WebSession, scorecard: Scorecard) -> None:
    transcript = web.interview.transcript
    debrief = render_debrief(scorecard, web.persona, transcript)
    transcript_json = json.dumps(transcript.model_dump(mode="json", exclude_none=True), indent=2)
    elements = [
        cl.Plotly(name="Scores", figure=_chart(scorecard), display="inline"),
        cl.File(name="transcript.json", content=transcript_json.encode(), mime="application/json", display="inline"),
        cl.File(name="debrief.md", content=debrief.encode(), mime="text/markdown", display="inline"),
    ]
    actions = [cl.Action(name="try_again", payload={}, label="Try again", icon="rotate-ccw")]
    await cl.Message(content=debrief, author="Debrief", elements=elements, actions=actions).send()


@cl.on_chat_resume
async def _resume(thread: ThreadDict) -> None:
    account = await current_account()
    if account is None:
        await refuse_session()
        return
    data = await STORE.load_interview(thread["id"], account.name)
    if data is None:
        # A desk conversation (or one whose interview never started): the desk is safe to reopen for anyone.
        cl.user_session.set("desk", True)
        task = asyncio.ensure_future(_after_resume(desk.open_desk(account)))
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)
        return
    ui = data.get("ui", {})
    assignment = await RECORDS.assignment_for(account, ui["assignment"]) if ui.get("assignment") else None
    owner = assignment.coach if assignment else (account.name if account.role is Role.COACH else None)
    persona = await persona_by_id(RECORDS, LIBRARY, data["transcript"]["persona"], owner)
    if persona is None or (ui.get("assignment") and assignment is None):
        await cl.Message(content="This scenario is no longer available.", author="painpoint").send()
        return
    difficulty = Difficulty(ui.get("difficulty", persona.difficulty.value))
    connection = Connection(ui.get("connection", persona.connection.value))
    seed = int(ui.get("seed", 0))
    web = WebSession(
        account=account,
        persona=persona,
        interview=_new_interview(persona, difficulty, connection, seed),
        difficulty=difficulty,
        connection=connection,
        hints=bool(ui.get("hints", True)),
        assignment=assignment,
        seed=seed,
        attempts=list(data.get("attempts", [])),
    )
    if ui.get("attempt_id"):
        web.attempt_id = str(ui["attempt_id"])
        web.started_at = datetime.fromisoformat(ui["started_at"])
    web.interview.restore(data)
    if data.get("scorecard"):
        web.graded = Scorecard.model_validate(data["scorecard"])
    cl.user_session.set("painpoint", web)
    # This process may never have served this scenario (after a restart, or behind a proxy): index it now.
    warm = asyncio.ensure_future(_warm_up(persona))
    _BACKGROUND.add(warm)
    warm.add_done_callback(_BACKGROUND.discard)
    if assignment is None:
        await _settings_widgets(persona, web.difficulty, web.connection, web.hints).send()
    # Chainlit replaces the message list with the stored thread right after this handler returns, so anything
    # shown now would vanish: greet the returning candidate just after that.
    task = asyncio.ensure_future(_welcome_back(web))
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


async def _after_resume(work: Awaitable[None], delay: float = 0.5) -> None:
    await asyncio.sleep(delay)
    await work


async def _welcome_back(web: WebSession, delay: float = 0.5) -> None:
    await asyncio.sleep(delay)
    await _show_sidebar(web)
    note = cl.Message(
        content=f"Welcome back. You were interviewing with {web.persona.name}"
        + (": this attempt was graded." if web.graded else "; carry on where you left off."),
        author="painpoint",
    )
    if web.graded is None:
        await _move_actions(web, note)
    else:
        note.actions = [cl.Action(name="try_again", payload={}, label="Try again", icon="rotate-ccw")]
    await note.send()
