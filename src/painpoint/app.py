"""The Chainlit adapter: handlers only. Rules live in the engine, wiring in `session`, storage in `store`.

Run it with `painpoint serve`. Nothing hidden is sent to the browser before the debrief: messages carry the
manager's spoken lines, the sidebar carries the public job ad and counts, and action payloads carry nothing
about the persona.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import chainlit as cl
import plotly.graph_objects as go  # type: ignore[import-untyped]
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.input_widget import Select, Switch
from chainlit.types import ThreadDict

from painpoint.coach import hint, progress
from painpoint.debrief import render_debrief
from painpoint.errors import ModelUnavailableError, PainpointError
from painpoint.interview import Interview
from painpoint.library import Library, load_library
from painpoint.persona import Connection, Difficulty, Mode, Persona
from painpoint.resources import app_root
from painpoint.scorecard import Dimension, Scorecard
from painpoint.session import build_grader, build_interview, shared_offline_analyzer
from painpoint.settings import Settings, load_settings
from painpoint.store import Store, database_url
from painpoint.transcript import Turn

log = logging.getLogger("painpoint.app")

LIBRARY: Library = load_library()
for _error in LIBRARY.errors:
    log.warning("persona skipped: %s", _error)
STORE = Store(database_url(app_root()))
SETTINGS: Settings = load_settings()

_DIMENSION_LABELS = {
    Dimension.DISCOVERY: "Discovery",
    Dimension.CUSTOMER_FOCUS: "Customer focus",
    Dimension.CLOSE: "Close",
}
_CONNECTION_LABELS = {
    Connection.BLIND_RESUME.value: "Blind resume",
    Connection.ADVERTISED_OPENING.value: "Answered the job ad",
    Connection.INSIDER_REFERRAL.value: "Referred by an insider",
    Connection.DIRECT_INTRODUCTION.value: "Introduced to the manager",
    Connection.KNOWN_FROM_BEFORE.value: "Known from before",
}


@dataclass
class WebSession:
    """Everything one browser tab's interview needs, kept in `cl.user_session` under one key."""

    persona: Persona
    interview: Interview
    difficulty: Difficulty
    connection: Connection
    hints: bool
    seed: int = 0
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


@cl.data_layer
def _data_layer() -> SQLAlchemyDataLayer:
    return SQLAlchemyDataLayer(conninfo=STORE.url)


@cl.header_auth_callback
async def _local_user(headers: Any) -> cl.User | None:
    # One local user until accounts exist: history needs a user to belong to.
    return cl.User(identifier="local", metadata={"role": "learner", "provider": "local"})


@cl.set_chat_profiles
async def _profiles(user: cl.User | None = None, language: str | None = None) -> list[cl.ChatProfile]:
    return [
        cl.ChatProfile(
            name=persona.id,
            display_name=f"{persona.name} · {persona.role}",
            markdown_description=(
                f"**{persona.name}**, {persona.title} at {persona.company.name}.  \n"
                f"Hiring: **{persona.role}** · "
                f"{'Sales audition' if persona.mode is Mode.SALES_AUDITION else 'Interview'} · "
                f"{persona.difficulty.value}  \n{persona.context}"
            ),
            default=index == 0,
        )
        for index, persona in enumerate(LIBRARY.personas)
    ]


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
                items={label: value for value, label in _CONNECTION_LABELS.items()},
                initial_value=connection.value,
                description="A warmer connection starts with more trust.",
            ),
            Switch(id="hints", label="Coaching (hints and the trust meter)", initial=hints),
        ]
    )


# -- the interview -----------------------------------------------------------------------------------------


def _persona_for(profile: str | None) -> Persona:
    for persona in LIBRARY.personas:
        if persona.id == profile:
            return persona
    return LIBRARY.personas[0]


def _new_interview(persona: Persona, difficulty: Difficulty, connection: Connection, seed: int) -> Interview:
    return build_interview(persona, settings=SETTINGS, difficulty=difficulty, connection=connection, seed=seed)


def _job_ad(persona: Persona) -> str:
    ad = persona.job_ad
    items = "\n".join(f"- {item.text}" for item in ad.items)
    return f"### {ad.title}\n**{persona.company.name}**: {persona.company.sells}\n\n{ad.summary}\n\n{items}"


async def _show_sidebar(web: WebSession) -> None:
    elements: list[Any] = [cl.Text(name="Job ad", content=_job_ad(web.persona), display="side")]
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
        },
        "scorecard": web.graded.model_dump(mode="json") if web.graded else None,
        "attempts": web.attempts,
    }
    await STORE.save_interview(thread_id, user.identifier if user else None, web.persona.id, data)


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
    turn: Turn = task.result()
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
    if not LIBRARY.personas:
        await cl.Message(content="No valid persona files were found in `personas/`.", author="painpoint").send()
        return
    persona = _persona_for(cl.user_session.get("chat_profile"))
    chosen = await _settings_widgets(persona, persona.difficulty, persona.connection, True).send()
    difficulty = Difficulty(chosen.get("difficulty", persona.difficulty.value))
    connection = Connection(chosen.get("connection", persona.connection.value))
    seed = random.randrange(1_000_000)
    web = WebSession(
        persona=persona,
        interview=_new_interview(persona, difficulty, connection, seed),
        difficulty=difficulty,
        connection=connection,
        hints=bool(chosen.get("hints", True)),
        seed=seed,
    )
    cl.user_session.set("painpoint", web)
    await _open(web)


@cl.on_message
async def _message(message: cl.Message) -> None:
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
    web.hints = bool(values.get("hints", web.hints))
    difficulty = Difficulty(values.get("difficulty", web.difficulty.value))
    connection = Connection(values.get("connection", web.connection.value))
    if (difficulty, connection) != (web.difficulty, web.connection):
        web.difficulty, web.connection = difficulty, connection
        await cl.Message(
            content=f"New settings ({difficulty.value}, {_CONNECTION_LABELS[connection.value].lower()}) "
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
    if web is None or web.interview.state is None:
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
    labels = [_DIMENSION_LABELS[d] for d in Dimension] + ["Overall"]
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
    user = cl.context.session.user
    data = await STORE.load_interview(thread["id"], user.identifier if user else None)
    if data is None:
        await cl.Message(content="This conversation's interview could not be found.", author="painpoint").send()
        return
    persona = _persona_for(data["transcript"]["persona"])
    if persona.id != data["transcript"]["persona"]:
        await cl.Message(content="This scenario is no longer in the library.", author="painpoint").send()
        return
    ui = data.get("ui", {})
    difficulty = Difficulty(ui.get("difficulty", persona.difficulty.value))
    connection = Connection(ui.get("connection", persona.connection.value))
    seed = int(ui.get("seed", 0))
    web = WebSession(
        persona=persona,
        interview=_new_interview(persona, difficulty, connection, seed),
        difficulty=difficulty,
        connection=connection,
        hints=bool(ui.get("hints", True)),
        seed=seed,
        attempts=list(data.get("attempts", [])),
    )
    web.interview.restore(data)
    if data.get("scorecard"):
        web.graded = Scorecard.model_validate(data["scorecard"])
    cl.user_session.set("painpoint", web)
    await _settings_widgets(persona, web.difficulty, web.connection, web.hints).send()
    # Chainlit replaces the message list with the stored thread right after this handler returns, so anything
    # shown now would vanish: greet the returning candidate just after that.
    task = asyncio.ensure_future(_welcome_back(web))
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


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
