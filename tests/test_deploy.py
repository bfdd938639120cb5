"""Several `painpoint serve` processes on one PostgreSQL behind nginx with sticky sessions (docs/deploy.md)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Playwright

from painpoint.scenario.library import Library

from . import test_browser
from .conftest import REPO, free_port, wait_http
from .test_browser import Server, open_page, pick_persona, ready, say

pytestmark = pytest.mark.browser
playwright = test_browser.playwright  # the same module-scoped fixture: Playwright driving Debian's Chromium

NGINX = "/usr/sbin/nginx"
SITE = REPO / "docs" / "deploy-nginx.conf"
DEPLOY_DOC = REPO / "docs" / "deploy.md"
SOCKET = "/ws/socket.io/"


class Nginx:
    """nginx in front of `backends`, from the site config in docs/, run as a plain process in `folder`."""

    def __init__(self, folder: Path, backends: list[Server]) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = folder / "access.log"
        self.error_log = folder / "error.log"
        site = SITE.read_text()
        # The guide's file as it is, but for the addresses: its processes listen on 8001 and 8002.
        for old, new in {
            "listen 80;": f"listen 127.0.0.1:{self.port};",
            "/var/log/nginx/painpoint.access.log": str(self.access_log),
        }.items():
            assert site.count(old) == 1, f"{SITE.name} should hold {old!r} exactly once"
            site = site.replace(old, new)
        for number, server in enumerate(backends, start=1):
            assert f"127.0.0.1:800{number}" in site
            site = site.replace(f"127.0.0.1:800{number}", f"127.0.0.1:{server.port}")
        temp = folder / "temp"
        temp.mkdir()
        self.conf = folder / "nginx.conf"
        self.conf.write_text(
            # One process, no master: nginx keeps the user that started it, whoever that is.
            f"master_process off;\npid {folder / 'nginx.pid'};\nerror_log {self.error_log} info;\n"
            "events { worker_connections 256; }\nhttp {\n"
            + "".join(
                f"    {kind}_temp_path {temp / kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + site
            + "}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        check = subprocess.run(
            [NGINX, "-t", "-p", str(self.folder), "-c", str(self.conf), "-e", str(self.error_log)],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen(
            [NGINX, "-p", str(self.folder), "-c", str(self.conf), "-e", str(self.error_log), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=self.error_log.open("ab"),
        )
        wait_http(self.url, self.process, self.error_log, seconds=60)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def mark(self) -> int:
        """Where the access log ends now: `answered(since=...)` reads what comes after."""
        return self.access_log.stat().st_size

    def answered(self, since: int = 0, path: str = "") -> list[str]:
        """The process that answered each request logged after byte `since` (the last one tried, after a failover),
        for requests whose line holds `path`."""
        text = self.access_log.read_bytes()[since:].decode(errors="replace")
        return [
            match.group(1).split(", ")[-1]
            for line in text.splitlines()
            if path in line and (match := re.search(r"upstream=([^\s,]+(?:, [^\s,]+)*)", line))
        ]


def test_the_deploy_guide_shows_the_tested_nginx_config() -> None:
    assert SITE.read_text().strip() in DEPLOY_DOC.read_text()


@pytest.fixture
def postgres() -> str:
    url = os.environ.get("PAINPOINT_TEST_POSTGRES")
    if not url:
        pytest.skip("PAINPOINT_TEST_POSTGRES is not set: run the README's test command, which starts PostgreSQL")
    return url


@pytest.fixture
def cluster(tmp_path: Path, postgres: str) -> Iterator[tuple[Nginx, list[Server]]]:
    if not Path(NGINX).exists():
        pytest.fail("Debian's nginx is not installed: run the README's test command")
    # Every process gets the same database and the same sign-in secret, as docs/deploy.md says.
    shared = {"DATABASE_URL": postgres, "CHAINLIT_AUTH_SECRET": "deploy-test-secret-" + "s" * 40}
    servers = [Server(tmp_path, shared) for _ in range(2)]
    nginx = Nginx(tmp_path, servers)
    try:
        for server in servers:
            server.start()
        yield nginx.start(), servers
    finally:
        nginx.stop()
        for server in servers:
            server.stop()


@pytest.mark.parametrize("restart", [False, True], ids=["crash", "rolling-restart"])
def test_an_interview_moves_to_another_process_when_its_own_goes_away(
    playwright: Playwright, library: Library, cluster: tuple[Nginx, list[Server]], restart: bool
) -> None:
    nginx, servers = cluster
    persona = library.get("teresa-lindqvist-payments")
    opener = f"Thanks for making the time today, I'm candidate {uuid.uuid4().hex[:8]}."
    lines = [opener, "What's the biggest challenge you're facing right now?", "How is that affecting the team?"]
    # Generous bounds, never timing assertions: a process that has not served a scenario yet indexes it on its first
    # turn, which takes a while on a busy two-core machine.
    slow = 180_000
    pages = [open_page(playwright, nginx.url)]
    try:
        page = pages[0]
        pick_persona(page, persona.id)
        replies = [say(page, line, timeout=slow) for line in lines]
        assert replies[1].startswith(persona.pain_points[0].levels[0][:30])
        page.wait_for_selector("text=Turn 3", timeout=10_000)

        # Sticky: every socket.io request of this browser reached one process. Take that one away: killed (a
        # crash), or stopped and started again (a rolling restart).
        served = set(nginx.answered(path=SOCKET))
        assert len(served) == 1, served
        (first,) = served
        gone = next(server for server in servers if first == f"127.0.0.1:{server.port}")
        other = next(server for server in servers if server is not gone)
        second = f"127.0.0.1:{other.port}"
        gone.stop(signal.SIGTERM if restart else signal.SIGKILL)
        since_stop = nginx.mark()

        # The open tab reconnects through nginx to the other process, which resumes the interview from PostgreSQL.
        page.wait_for_selector("text=Welcome back", timeout=60_000)
        ready(page)
        page.wait_for_selector("text=Turn 3", timeout=10_000)
        for text in [*lines, *replies]:
            assert page.get_by_text(text[:60]).count() >= 1, text
        assert nginx.answered(since_stop, SOCKET)[-1] == second

        if restart:
            # Back past its fail_timeout: nginx would send it browsers again, but this one stays pinned where its
            # chat now lives, side panel included (Chainlit serves that from the process that made it).
            gone.start()
            page.wait_for_timeout(11_000)
        since_move = nginx.mark()
        lines.append("Tell me more about that.")
        replies.append(say(page, lines[-1], timeout=slow))
        assert replies[-1].strip()
        page.wait_for_selector("text=Turn 4", timeout=30_000)
        assert set(nginx.answered(since_move)) == {second}

        # A new sign-in opens the interview from the history; grading works there too.
        pages.append(open_page(playwright, nginx.url))
        page = pages[1]
        page.locator('#thread-history a[href^="/thread/"]').filter(has_text=persona.name).first.click()
        page.wait_for_selector("text=Welcome back", timeout=60_000)
        ready(page)
        page.wait_for_selector("text=Turn 4", timeout=10_000)
        for text in [*lines, *replies]:
            assert page.get_by_text(text[:60]).count() >= 1, text
        page.get_by_role("button", name="End & grade").last.click()
        page.wait_for_selector("text=Debrief: Teresa Lindqvist", timeout=slow)
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        with page.expect_download() as download:
            page.get_by_text("transcript.json").last.click()
        transcript = json.loads(Path(download.value.path()).read_text())
        assert [turn["text"] for turn in transcript["turns"] if turn["speaker"] == "candidate"] == lines
    finally:
        for each in pages:
            each.context.browser.close()  # type: ignore[union-attr]


def test_sign_in_lockouts_hold_across_processes(cluster: tuple[Nginx, list[Server]]) -> None:
    _, (first, second) = cluster
    name = f"mallory-{uuid.uuid4().hex[:8]}"
    for _ in range(5):
        assert httpx.post(first.url + "/login", data={"username": name, "password": "guess"}).status_code == 401
    # The failures are in the shared database: the other process locks the name out too.
    locked = httpx.post(second.url + "/login", data={"username": name, "password": "guess"})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
