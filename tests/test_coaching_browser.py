"""Coaches and learners in real browsers: accounts from the CLI, an assignment, an attempt, a coach's override;
then one learner (and another coach) trying to read that attempt by every route the app offers."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import socketio  # type: ignore[import-untyped]
from playwright.sync_api import Page, Playwright

from painpoint.coaching.records import Attempt
from painpoint.scenario.library import Library
from painpoint.web.store import Store

from .test_browser import ARGS, ASSISTANT, CHROMIUM, Server, idle, ready, say
from .test_browser import playwright as playwright

pytestmark = pytest.mark.browser

PASSWORDS = {"carla": "carla's password", "dave": "dave's password", "ana": "ana's password", "ben": "ben's password"}
TERESA = "teresa-lindqvist-payments"


def run_async(coroutine: Any) -> Any:
    """Run a coroutine to completion off this thread (Playwright's sync API keeps a loop running on it)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def users_cli(server: Server, *args: str, password: str | None = None) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "painpoint.cli.main", "users", *args, *(["--password-stdin"] if password else [])],
        input=f"{password}\n" if password else None,
        env=server.env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def sign_in(playwright: Playwright, server: Server, name: str) -> Page:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    page = browser.new_context().new_page()
    page.goto(server.url + "/login")
    page.fill("#email", name)
    page.fill("#password", PASSWORDS[name])
    page.get_by_role("button", name=re.compile("sign in|continue|log in", re.I)).first.click()
    page.wait_for_selector(ASSISTANT, timeout=60_000)
    idle(page)
    return page


def click_button(page: Page, label: str | re.Pattern[str]) -> None:
    page.get_by_role("button", name=label).last.click(timeout=30_000)


def answer(page: Page, text: str) -> None:
    """Type into the chat input (which answers the pending question) and send."""
    for _ in range(20):
        # The input is re-rendered when a question arrives, dropping what was typed before it: type until it sticks.
        page.fill("#chat-input", text)
        page.wait_for_timeout(300)
        if page.locator("#chat-submit:not([disabled])").count():
            page.click("#chat-submit")
            return
    raise AssertionError(f"could not send {text!r}")


def open_profile(page: Page, label: str) -> None:
    page.click("#chat-profiles")
    page.get_by_role("option", name=re.compile(re.escape(label))).first.click()
    confirm = page.get_by_role("button", name="Confirm")
    if confirm.count():
        confirm.click()


def token_cookie(server: Server, name: str) -> str:
    response = httpx.post(server.url + "/login", data={"username": name, "password": PASSWORDS[name]})
    assert response.status_code == 200, response.text
    return "; ".join(f"{k}={v}" for k, v in response.cookies.items() if k.startswith("access_token"))


class Probe:
    """A signed-in socket.io session of our own, to send what a hand-made client could send."""

    def __init__(self, server: Server, cookie: str, thread_id: str = "", profile: str = "desk") -> None:
        self.server, self.cookie, self.thread_id, self.profile = server, cookie, thread_id, profile
        self.session_id = str(uuid.uuid4())
        self.frames: list[str] = []

    async def __aenter__(self) -> Probe:
        self.sio = socketio.AsyncClient(reconnection=False)

        @self.sio.on("*")  # type: ignore[untyped-decorator]
        async def _any(event: str, *data: Any) -> None:
            self.frames.append(f"{event} {data!r}")

        await self.sio.connect(
            self.server.url,
            headers={"Cookie": self.cookie},
            auth={
                "sessionId": self.session_id,
                "clientType": "webapp",
                "threadId": self.thread_id,
                "userEnv": "{}",
                "chatProfile": self.profile,
            },
            transports=["websocket"],
            socketio_path="/ws/socket.io",
            wait_timeout=30,
        )
        await self.sio.emit("connection_successful")
        await self.settle()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.sio.disconnect()

    async def settle(self, seconds: float = 2.0) -> None:
        """Wait until no frame has arrived for a while."""
        count, quiet = -1, 0.0
        while quiet < seconds:
            await asyncio.sleep(0.25)
            quiet = quiet + 0.25 if len(self.frames) == count else 0.0
            count = len(self.frames)

    async def action(self, name: str, payload: dict[str, Any], session_id: str | None = None) -> int:
        async with httpx.AsyncClient(base_url=self.server.url, headers={"Cookie": self.cookie}) as http:
            response = await http.post(
                "/project/action",
                json={
                    "sessionId": session_id or self.session_id,
                    "action": {"id": str(uuid.uuid4()), "name": name, "payload": payload, "forId": ""},
                },
                timeout=60,
            )
        await self.settle()
        return response.status_code


def test_coach_assigns_learner_attempts_coach_overrides_and_nobody_else_can_read_it(
    tmp_path: Path, playwright: Playwright, library: Library
) -> None:
    server = Server(tmp_path)
    users_cli(server, "add", "carla", "--role", "coach", password=PASSWORDS["carla"])
    users_cli(server, "add", "dave", "--role", "coach", password=PASSWORDS["dave"])
    users_cli(server, "add", "ana", "--role", "learner", "--coach", "carla", password=PASSWORDS["ana"])
    users_cli(server, "add", "ben", "--role", "learner", password=PASSWORDS["ben"])
    server.start()
    persona = library.get(TERESA)
    try:
        # -- a wrong password is refused, and the page says so -------------------------------------------
        assert httpx.post(server.url + "/login", data={"username": "ana", "password": "guess"}).status_code == 401

        # -- the coach makes an assignment for ana, with a join code ----------------------------------------
        coach = sign_in(playwright, server, "carla")
        coach.wait_for_selector("text=Coach desk · carla")
        click_button(coach, "New assignment")
        click_button(coach, f"{persona.name} · {persona.role}")
        click_button(coach, "hard")
        click_button(coach, "Blind resume")
        click_button(coach, "Not allowed")
        coach.wait_for_selector("text=For whom?")
        answer(coach, "ana, code")
        coach.wait_for_selector("text=Join code:", timeout=30_000)
        code = re.search(r"Join code: ([A-Z0-9]{8})", coach.locator(ASSISTANT).last.inner_text())
        assert code, coach.locator(ASSISTANT).last.inner_text()

        # -- ben joins with the code; ana does the assignment ------------------------------------------------
        ben = sign_in(playwright, server, "ben")
        ben.wait_for_selector("text=Your desk")
        click_button(ben, "Join with a code")
        ben.wait_for_selector("text=Type the join code")
        answer(ben, code.group(1).lower())
        ben.wait_for_selector("text=Joined:", timeout=30_000)

        learner = sign_in(playwright, server, "ana")
        learner.wait_for_selector("text=Your desk")
        assert learner.get_by_text("no hints").count() >= 1
        open_profile(learner, "📋")
        ready(learner)
        assert learner.get_by_role("button", name="Hint").count() == 0  # the coach did not allow hints
        first = "Thanks for making the time today. What's the biggest challenge you're facing right now?"
        say(learner, first)
        say(learner, "What happens if that doesn't get fixed?")
        click_button(learner, "End & grade")
        learner.wait_for_selector(f"text=Debrief: {persona.name}", timeout=60_000)

        # -- the coach reviews it and overrides a score ------------------------------------------------------
        coach.reload()
        coach.wait_for_selector("text=Coach desk · carla", timeout=60_000)
        # Conversations are listed by what they are, not by the first button pressed.
        assert coach.get_by_text("desk_new_assignment").count() == 0
        click_button(coach, "Review attempts")
        click_button(coach, re.compile(r"^ana · "))
        coach.wait_for_selector("text=Override a score", timeout=30_000)
        click_button(coach, "Override a score")
        low = coach.get_by_role("button", name=re.compile(r"grader 0.4")).first
        criterion_title = low.inner_text().split(" (grader")[0]
        low.click()
        click_button(coach, "4")
        coach.wait_for_selector("text=Why?")
        answer(coach, "She named the cost of the problem in her own words.")
        coach.wait_for_selector("text=The coach's scores count", timeout=30_000)

        async def ana_attempts() -> list[Attempt]:
            store = Store(server.env["DATABASE_URL"])
            try:
                return await store.records.attempts_of("ana")
            finally:
                await store.close()

        attempts = run_async(ana_attempts())
        assert len(attempts) == 1 and attempts[0].scorecard and attempts[0].review
        attempt = attempts[0]
        override = next(iter(attempt.review.overrides.values()))
        assert override.score == 4 and override.coach == "carla"
        assert any(c.title == criterion_title for c in attempt.scorecard.criteria)

        # -- ana sees the coach's score beside the grader's --------------------------------------------------
        open_profile(learner, "My desk")
        learner.wait_for_selector("text=Your attempts: 1 (1 graded)", timeout=30_000)
        learner.wait_for_selector(".js-plotly-plot", timeout=30_000)
        click_button(learner, "My attempts")
        click_button(learner, re.compile("coach-reviewed"))
        learner.wait_for_selector("text=The coach's scores count", timeout=30_000)
        assert learner.get_by_text("She named the cost of the problem").count() >= 1

        # -- ben, in his browser: nothing of ana's ------------------------------------------------------------
        ben.reload()
        ben.wait_for_selector("text=Your desk", timeout=60_000)
        click_button(ben, "My attempts")
        ben.wait_for_selector("text=No attempts yet.", timeout=30_000)
        assert ben.get_by_text(first).count() == 0

        assert attempt.thread_id is not None
        probe_all_routes(server, attempt.id, attempt.thread_id, first)
    finally:
        server.stop()


def probe_all_routes(server: Server, attempt_id: str, thread_id: str, secret_line: str) -> None:
    """Ben (a learner) and Dave (another coach) try every route to ana's attempt; each finds nothing."""
    ben, dave, ana = token_cookie(server, "ben"), token_cookie(server, "dave"), token_cookie(server, "ana")
    http = httpx.Client(base_url=server.url)

    # Chainlit's own HTTP routes, by guessed id.
    assert http.get(f"/project/thread/{thread_id}", headers={"Cookie": ana}).status_code == 200  # the owner can
    for cookie in (ben, dave):
        response = http.get(f"/project/thread/{thread_id}", headers={"Cookie": cookie})
        assert response.status_code in (401, 403, 404) and secret_line not in response.text
        listed = http.post(
            "/project/threads",
            json={"pagination": {"first": 50}, "filter": {"userId": None, "search": None}},
            headers={"Cookie": cookie},
        )
        assert listed.status_code == 200 and thread_id not in listed.text
        response = http.get(f"/project/thread/{thread_id}/element/{uuid.uuid4()}", headers={"Cookie": cookie})
        assert response.status_code in (401, 403, 404)
    assert http.get(f"/project/thread/{thread_id}").status_code == 401  # and nobody without a token

    async def sockets() -> None:
        # Resuming ana's thread is refused at the door.
        with pytest.raises(socketio.exceptions.ConnectionError):
            async with Probe(server, ben, thread_id=thread_id, profile=TERESA):
                pass
        # A learner's own session, with ana's attempt id in hand-made action payloads.
        async with Probe(server, ben) as probe:
            for name in ("desk_show_attempt", "desk_override", "desk_note"):
                assert await probe.action(name, {"attempt": attempt_id}) == 200
            await probe.action("desk_review", {})
            await probe.action("desk_export", {})
            seen = "\n".join(probe.frames)
            assert "No such attempt among yours." in seen and "That is not available to you." in seen
            assert secret_line not in seen
            # Someone else's session id, with ben's token: refused by Chainlit.
            status = await probe.action("desk_show_attempt", {"attempt": attempt_id}, session_id=str(uuid.uuid4()))
            assert status != 200 or secret_line not in "\n".join(probe.frames)
        # Another coach, same tricks.
        async with Probe(server, dave) as probe:
            await probe.action("desk_show_attempt", {"attempt": attempt_id})
            await probe.action("desk_review", {})
            seen = "\n".join(probe.frames)
            assert "No such attempt among yours." in seen and secret_line not in seen
        # Ana's assignment opened as a chat profile by someone it was not given to.
        store = Store(server.env["DATABASE_URL"])
        assignment_id = (await store.records.attempts_of("ana"))[0].assignment_id
        await store.close()
        async with Probe(server, dave, profile=f"assignment:{assignment_id}") as probe:
            assert "That scenario is not available to you." in "\n".join(probe.frames)
        # A token minted for the local user before accounts existed no longer opens anything.
        local = jwt.encode(
            {"identifier": "local", "metadata": {"provider": "local"}, "exp": time.time() + 600},
            server.env["CHAINLIT_AUTH_SECRET"],
            algorithm="HS256",
        )
        async with Probe(server, f"access_token={local}", profile=TERESA) as probe:
            seen = "\n".join(probe.frames)
            assert "no longer valid" in seen and "Teresa" not in seen

    run_async(sockets())
    # Header sign-in (the local user) is closed once accounts exist.
    assert http.post("/auth/header").status_code == 401


def test_a_coach_authors_scenarios_in_the_browser_with_the_clis_errors(
    tmp_path: Path, playwright: Playwright, library: Library
) -> None:
    server = Server(tmp_path)
    users_cli(server, "add", "carla", "--role", "coach", password=PASSWORDS["carla"])
    users_cli(server, "add", "ana", "--role", "learner", "--coach", "carla", password=PASSWORDS["ana"])
    server.start()
    good = (Path(__file__).parents[1] / "personas" / f"{TERESA}.yaml").read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(good.replace("difficulty: ", "difficulty: impossible_", 1).replace(TERESA, "carla-drill", 1))
    cli = subprocess.run(
        [sys.executable, "-m", "painpoint.cli.main", "personas", "validate", str(broken)],
        capture_output=True,
        text=True,
    )
    problem = cli.stderr.splitlines()[0].removeprefix(f"FAIL {broken}: ").strip()
    assert cli.returncode == 2 and problem
    try:
        coach = sign_in(playwright, server, "carla")
        coach.wait_for_selector("text=Coach desk · carla")
        # Pasted as a message: refused with the CLI's own words.
        answer(coach, broken.read_text())
        coach.wait_for_selector("text=The scenario was not saved.", timeout=30_000)
        shown = coach.locator(ASSISTANT).last.inner_text()
        assert "pasted.yaml" in shown and problem in shown
        # Uploaded as a file: saved, then in the coach's menu (and nobody else's).
        fixed = tmp_path / "carla-drill.yaml"
        fixed.write_text(good.replace(TERESA, "carla-drill", 1).replace("Teresa Lindqvist", "Tess Lindqvist"))
        click_button(coach, "Upload a scenario")
        coach.wait_for_selector("text=Upload a persona YAML file.")
        coach.locator("#ask-button-input").set_input_files(str(fixed))
        coach.wait_for_selector("text=carla-drill.yaml (carla-drill: 4 pain points)", timeout=30_000)
        coach.reload()
        coach.wait_for_selector("text=Coach desk · carla", timeout=60_000)
        open_profile(coach, "✏️ Tess Lindqvist")
        ready(coach)
        learner = sign_in(playwright, server, "ana")
        learner.click("#chat-profiles")
        assert learner.get_by_role("option", name=re.compile("Tess Lindqvist")).count() == 0
        assert learner.get_by_role("option", name=re.compile("Teresa Lindqvist")).count() == 1
        # Guessing ana's password: five tries, then HTTP 429 with Retry-After, even for the right password.
        http = httpx.Client(base_url=server.url)
        for _ in range(5):
            assert http.post("/login", data={"username": "ana", "password": "guess guess"}).status_code == 401
        for password in ("guess guess", PASSWORDS["ana"]):
            locked = http.post("/login", data={"username": "ana", "password": password})
            assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= 30
        assert http.post("/login", data={"username": "carla", "password": PASSWORDS["carla"]}).status_code == 200
    finally:
        server.stop()


def test_header_sign_in_behind_a_sign_on_proxy(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"PAINPOINT_AUTH": "header", "PAINPOINT_AUTH_HEADER": "X-Remote-User"})
    users_cli(server, "add", "carla", "--role", "coach", password=PASSWORDS["carla"])
    server.start()
    try:
        http = httpx.Client(base_url=server.url)
        assert http.post("/auth/header").status_code == 401  # no header, no entry
        assert http.post("/auth/header", headers={"X-Remote-User": "not a name!"}).status_code == 401
        signed = http.post("/auth/header", headers={"X-Remote-User": "Zoe"})
        assert signed.status_code == 200
        cookie = "; ".join(f"{k}={v}" for k, v in signed.cookies.items() if k.startswith("access_token"))
        me = http.get("/user", headers={"Cookie": cookie}).json()
        assert me["identifier"] == "zoe" and me["metadata"]["role"] == "learner"  # a new learner
        coach = http.post("/auth/header", headers={"X-Remote-User": "carla"})
        assert coach.status_code == 200
        # Passwords are off in this mode: the proxy is the only door.
        assert http.post("/login", data={"username": "carla", "password": PASSWORDS["carla"]}).status_code == 401
        listing = subprocess.run(
            [sys.executable, "-m", "painpoint.cli.main", "users", "list"],
            env=server.env,
            capture_output=True,
            text=True,
        )
        assert "zoe" in listing.stdout and "learner" in listing.stdout
    finally:
        server.stop()
