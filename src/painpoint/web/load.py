"""A load driver: simulated candidates hold interviews at once against a running `painpoint serve`.

Each candidate speaks Chainlit 2.12's own protocol, as the browser does, over a real socket.io websocket:

1. Sign in over HTTP. `GET /auth/config` says which way: `POST /auth/header` (header auth: the app's single
   local user) or `POST /login` with the form fields `username` and `password`. Either answers
   `{"success": true}` and sets the JWT as the `access_token` cookie (`access_token_0`, `_1`, ... when long).
2. Connect to socket.io at `/ws/socket.io` (websocket transport) sending that cookie, with the connect auth
   `{sessionId: a new uuid4, clientType: "webapp", threadId: "", userEnv: "{}", chatProfile: a profile name}`.
   The server refuses the connection when the cookie is missing or invalid. The browser connects only once a
   chat profile is chosen (the default one from `GET /project/settings`), so the driver does the same: a
   profile makes Chainlit call the app's `set_chat_profiles` while it sets up the session.
3. Emit `connection_successful`: the server runs `on_chat_start` as a run step, between `task_start` and
   `task_end`. The manager's greeting is the first assistant message.
4. A candidate line is the event `client_message` with `{message: {id: a uuid4, threadId: "", name, type:
   "user_message", output: the text, createdAt, metadata}, fileReferences: []}`; `on_message` runs between
   `task_start` and `task_end`.
5. A reply streams as `stream_start` (the step: `id`, `threadId`, `name` = the author, `output` = the first
   token), then `stream_token` (`{id, token}`), then `new_message` with the whole step, whose `output` is the
   final text (it differs from the streamed words when a guard replaced the model's reply).

Every step carries its `threadId`, so a step from another conversation arriving on a socket is caught. An
error is a message from anyone but the manager during a turn (the app's "⚠️ ..." notices, Chainlit's own
error messages), a refused connection, a disconnect, or a reply that does not come in time.

Run it against any server: `python -m painpoint.web.load --url http://127.0.0.1:8000 --clients 50`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click
import httpx
import socketio
from pydantic import BaseModel, Field, SecretStr

# Ordinary discovery questions, asked in this order.
DISCOVERY_QUESTIONS = [
    "What's the biggest challenge you're facing right now?",
    "How is the team coping with the workload?",
    "What would success look like in the first ninety days?",
    "Why is this position open?",
    "What happens if that doesn't get fixed?",
]
SOCKET_PATH = "/ws/socket.io"
_STEP_EVENTS = {"new_message", "update_message", "stream_start", "delete_message"}


class LoadError(Exception):
    """The server can't be driven at all: unreachable, or sign-in refused."""


class LoadConfig(BaseModel):
    """One load run."""

    url: str = Field(description="The app, e.g. http://127.0.0.1:8000.")
    clients: int = Field(default=50, ge=1, description="Interviews held at once.")
    turns: int = Field(default=2, ge=0, description="Candidate messages per interview, after the greeting.")
    questions: list[str] = Field(default_factory=lambda: list(DISCOVERY_QUESTIONS), min_length=1)
    sign: bool = Field(default=True, description="Open with the candidate's number, so transcripts differ.")
    profiles: list[str] = Field(
        default_factory=list, description="Chat profiles (persona ids), dealt in turn; default: the server's default."
    )
    username: str | None = Field(default=None, description="Password login; header auth when unset.")
    password: SecretStr | None = None
    reply_timeout: float = Field(default=300.0, gt=0, description="Seconds to wait for one reply.")
    connect_timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for the socket to open.")
    ramp_seconds: float = Field(default=0.0, ge=0, description="Spread the clients' starts over this long.")

    def message(self, index: int, turn: int) -> str:
        """What candidate `index` says on its `turn` (both from 0)."""
        question = self.questions[turn % len(self.questions)]
        return f"Hi, I'm candidate {index}. {question}" if self.sign and turn == 0 else question

    def profile(self, index: int) -> str | None:
        """The chat profile candidate `index` opens with."""
        return self.profiles[index % len(self.profiles)] if self.profiles else None


class Reply(BaseModel):
    """One line from the manager, as one candidate's socket received it."""

    sent: str = Field(description="The candidate's message it answers; empty for the greeting.")
    message_id: str
    thread_id: str
    author: str
    text: str
    first_token_s: float = Field(description="From sending (or connecting) to the first streamed token.")
    reply_s: float = Field(description="From sending (or connecting) to the complete message.")


class InterviewResult(BaseModel):
    """Everything one simulated candidate saw."""

    index: int
    profile: str | None = None
    thread_id: str | None = None
    manager: str | None = Field(default=None, description="The greeting's author: every reply must match it.")
    connect_s: float | None = Field(default=None, description="Seconds to open the socket (after sign-in).")
    greeting: Reply | None = None
    replies: list[Reply] = Field(default_factory=list)
    sent: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)


class LoadReport(BaseModel):
    """A whole run."""

    url: str
    clients: int
    turns: int
    seconds: float
    interviews: list[InterviewResult]

    @property
    def errors(self) -> list[str]:
        """Every error, prefixed with its candidate's number."""
        return [f"candidate {r.index}: {error}" for r in self.interviews for error in r.errors]

    def summary(self) -> dict[str, float | int]:
        """The headline figures (seconds; p95 over every reply to a candidate message)."""
        replies = [reply for r in self.interviews for reply in r.replies]
        greetings = [r.greeting for r in self.interviews if r.greeting is not None]
        figures: dict[str, float | int] = {
            "interviews": self.clients,
            "turns per interview": self.turns,
            "replies received": len(replies),
            "greetings received": len(greetings),
            "errors": len(self.errors),
            "wall time": round(self.seconds, 1),
        }
        connects = [r.connect_s for r in self.interviews if r.connect_s is not None]
        if connects:
            figures["connect p95"] = round(percentile(connects, 0.95), 2)
        if greetings:
            figures["greeting p95"] = round(percentile([g.reply_s for g in greetings], 0.95), 2)
        if replies:
            first = [reply.first_token_s for reply in replies]
            full = [reply.reply_s for reply in replies]
            figures |= {
                "first token p50": round(percentile(first, 0.5), 2),
                "first token p95": round(percentile(first, 0.95), 2),
                "full reply p50": round(percentile(full, 0.5), 2),
                "full reply p95": round(percentile(full, 0.95), 2),
            }
        return figures


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank `q` quantile (0 to 1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def sign_in(http: httpx.AsyncClient, username: str | None = None, password: str | None = None) -> str:
    """Sign in the way the server offers and return the `Cookie` header that carries the session token.

    Raises:
        LoadError: when the server is unreachable or refuses the sign-in.
    """
    try:
        auth = (await http.get("/auth/config")).raise_for_status().json()
        if not auth.get("requireLogin"):
            return ""
        if username is not None:
            if not auth.get("passwordAuth"):
                raise LoadError("the server has no password login; leave out the username for header auth")
            response = await http.post("/login", data={"username": username, "password": password or ""})
        elif auth.get("headerAuth"):
            response = await http.post("/auth/header")
        else:
            raise LoadError("the server needs a username and password")
    except httpx.HTTPError as exc:
        raise LoadError(f"cannot reach {http.base_url}: {exc}") from None
    if response.status_code != 200:
        hint = " (the server has accounts: pass a username and password)" if username is None else ""
        raise LoadError(f"sign-in refused: HTTP {response.status_code} {response.text[:200]}{hint}")
    cookies = {name: value for name, value in response.cookies.items() if name.startswith("access_token")}
    if not cookies:
        raise LoadError("sign-in answered without an access_token cookie")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


async def default_profile(http: httpx.AsyncClient, cookie: str) -> str | None:
    """The chat profile a browser would open with: the server's default one, else its first; None without any."""
    response = await http.get("/project/settings", headers={"Cookie": cookie} if cookie else {})
    if response.status_code != 200:
        raise LoadError(f"cannot read the project settings: HTTP {response.status_code}")
    profiles = response.json().get("chatProfiles") or []
    chosen = next((p for p in profiles if p.get("default")), profiles[0] if profiles else None)
    return str(chosen["name"]) if chosen else None


def _first_line(text: Any, limit: int = 200) -> str:
    line = str(text or "").strip().split("\n", 1)[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass
class _Event:
    at: float
    name: str
    data: Any


class _TurnFailed(Exception):
    """This interview can't go on; the message says why."""


class _Candidate:
    """One simulated candidate on its own socket."""

    def __init__(self, index: int, config: LoadConfig, cookie: str) -> None:
        self.index = index
        self.config = config
        self.cookie = cookie
        self.result = InterviewResult(index=index, profile=config.profile(index))
        self.inbox: asyncio.Queue[_Event] = asyncio.Queue()
        self.closing = False
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("*", self._on_event)
        self.sio.on("disconnect", self._on_disconnect)

    async def _on_event(self, name: str, *args: Any) -> None:
        self.inbox.put_nowait(_Event(time.perf_counter(), name, args[0] if args else None))

    async def _on_disconnect(self, *reason: Any) -> None:
        if not self.closing:
            self.inbox.put_nowait(_Event(time.perf_counter(), "disconnect", reason[0] if reason else None))

    async def run(self) -> InterviewResult:
        try:
            started = time.perf_counter()
            await self._connect()
            self.result.connect_s = time.perf_counter() - started
            started = time.perf_counter()
            await self.sio.emit("connection_successful")
            self.result.greeting = await self._reply("", started)
            await self._settled()
            for turn in range(self.config.turns):
                text = self.config.message(self.index, turn)
                message = {
                    "id": str(uuid.uuid4()),
                    "threadId": "",
                    "name": "Candidate",
                    "type": "user_message",
                    "output": text,
                    "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                    "metadata": {},
                }
                started = time.perf_counter()
                await self.sio.emit("client_message", {"message": message, "fileReferences": []})
                self.result.sent.append(text)
                self.result.replies.append(await self._reply(text, started))
                await self._settled()
        except _TurnFailed as exc:
            self.result.errors.append(str(exc))
        except Exception as exc:
            self.result.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.closing = True
            await self.sio.disconnect()
        return self.result

    async def _connect(self) -> None:
        auth = {
            "sessionId": str(uuid.uuid4()),
            "clientType": "webapp",
            "threadId": "",
            "userEnv": "{}",
            "chatProfile": self.result.profile or "",
        }
        try:
            await self.sio.connect(
                self.config.url,
                headers={"Cookie": self.cookie} if self.cookie else {},
                auth=auth,
                transports=["websocket"],
                socketio_path=SOCKET_PATH,
                wait_timeout=self.config.connect_timeout,
            )
        except socketio.exceptions.ConnectionError as exc:
            raise _TurnFailed(f"connection refused: {exc}") from None
        # The server pings every 25 s and python-engineio's write loop gives up when 30 s pass without one,
        # after which nothing this client emits is sent; browsers allow 45 s. A server busy for a few seconds
        # must show up as a slow reply, not as a silently dead socket: the reply timeout is the limit here.
        self.sio.eio.ping_timeout = max(self.sio.eio.ping_timeout, self.config.reply_timeout)

    async def _next(self, deadline: float, waiting_for: str) -> _Event:
        try:
            event = await asyncio.wait_for(self.inbox.get(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise _TurnFailed(f"no {waiting_for} within {self.config.reply_timeout:.0f} s") from None
        if event.name == "disconnect":
            raise _TurnFailed(f"disconnected by the server ({event.data}) while waiting for {waiting_for}")
        if event.name in _STEP_EVENTS and isinstance(event.data, dict):
            thread = event.data.get("threadId")
            if thread and self.result.thread_id is None:
                self.result.thread_id = thread
            elif thread and thread != self.result.thread_id:
                self.result.errors.append(f"a step of thread {thread} arrived on the socket of {self.result.thread_id}")
        return event

    async def _reply(self, sent: str, started: float) -> Reply:
        """Wait for the manager's next complete message, timing its first token and its end."""
        waiting_for = "reply" if sent else "greeting"
        deadline = time.monotonic() + self.config.reply_timeout
        first_token: float | None = None
        while True:
            event = await self._next(deadline, waiting_for)
            step = event.data if isinstance(event.data, dict) else {}
            if step.get("type") != "assistant_message":
                continue
            author = str(step.get("name", ""))
            is_manager = not step.get("isError") and author == (self.result.manager or author) and author != "painpoint"
            if event.name == "stream_start" and is_manager and first_token is None:
                first_token = event.at
            elif event.name == "new_message":
                if not is_manager:
                    said = _first_line(step.get("output"))
                    raise _TurnFailed(f"{author or 'the app'} said, instead of the {waiting_for}: {said}")
                self.result.manager = author
                return Reply(
                    sent=sent,
                    message_id=str(step.get("id")),
                    thread_id=str(step.get("threadId")),
                    author=author,
                    text=str(step.get("output", "")),
                    first_token_s=(first_token or event.at) - started,
                    reply_s=event.at - started,
                )

    async def _settled(self) -> None:
        """Wait for the server to finish the turn (`task_end`), as the browser does before its input frees up."""
        deadline = time.monotonic() + self.config.reply_timeout
        while True:
            event = await self._next(deadline, "end of the turn")
            step = event.data if isinstance(event.data, dict) else {}
            if event.name == "new_message" and step.get("type") == "assistant_message":
                raise _TurnFailed(f"{step.get('name')} said, after the reply: {_first_line(step.get('output'))}")
            if event.name == "task_end":
                return


async def run_load(config: LoadConfig) -> LoadReport:
    """Hold `config.clients` interviews at once and report what each candidate saw.

    Raises:
        LoadError: when the server can't be reached or refuses the sign-in.
    """
    password = config.password.get_secret_value() if config.password else None
    async with httpx.AsyncClient(base_url=config.url, timeout=30) as http:
        cookie = await sign_in(http, config.username, password)
        if not config.profiles:
            # The browser connects only once a chat profile is chosen, so the load does too.
            chosen = await default_profile(http, cookie)
            config = config.model_copy(update={"profiles": [chosen] if chosen else []})
    candidates = [_Candidate(index, config, cookie) for index in range(config.clients)]

    async def start(candidate: _Candidate) -> InterviewResult:
        await asyncio.sleep(config.ramp_seconds * candidate.index / config.clients)
        return await candidate.run()

    started = time.perf_counter()
    results = await asyncio.gather(*(start(candidate) for candidate in candidates))
    return LoadReport(
        url=config.url,
        clients=config.clients,
        turns=config.turns,
        seconds=time.perf_counter() - started,
        interviews=list(results),
    )


def format_load(report: LoadReport, limit: int = 10) -> str:
    """The summary, then the first errors."""
    lines = [f"{name:<20} {value}" for name, value in report.summary().items()]
    errors = report.errors
    lines += [f"error: {error}" for error in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more errors")
    return "\n".join(lines)


@click.command()
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="The running `painpoint serve`.")
@click.option("--clients", default=50, show_default=True, type=click.IntRange(1), help="Interviews at once.")
@click.option("--turns", default=2, show_default=True, type=click.IntRange(0), help="Messages per interview.")
@click.option("--profile", "profiles", multiple=True, help="Profile to open (repeat to mix); default: the server's.")
@click.option("--username", help="Sign in with a password (default: header auth, the single local user).")
@click.option("--password", help="The password for --username (asked for when left out).")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for one reply.")
@click.option("--ramp", default=0.0, show_default=True, help="Spread the clients' starts over this many seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print every interview as JSON.")
def main(
    url: str,
    clients: int,
    turns: int,
    profiles: tuple[str, ...],
    username: str | None,
    password: str | None,
    timeout: float,
    ramp: float,
    as_json: bool,
) -> None:
    """Hold CLIENTS interviews at once over websockets; exit 1 when any had an error."""
    if username is not None and password is None:
        password = click.prompt("Password", hide_input=True)
    config = LoadConfig(
        url=url,
        clients=clients,
        turns=turns,
        profiles=list(profiles),
        username=username,
        password=SecretStr(password) if password is not None else None,
        reply_timeout=timeout,
        ramp_seconds=ramp,
    )
    try:
        report = asyncio.run(run_load(config))
    except LoadError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.model_dump(mode="json") | {"summary": report.summary()}, indent=2))
    else:
        click.echo(format_load(report))
    if report.errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
