"""Fifty interviews at once over Chainlit's real websocket protocol, against one `painpoint serve` process backed
by the shared SmolLM2 server. No timing is asserted (the machine may be busy): only that every candidate got its
own greeting and replies, with no errors and no crosstalk, on the socket and in the database."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from painpoint.cli.bench import served_toml
from painpoint.scenario.library import Library
from painpoint.web.load import LoadConfig, run_load
from painpoint.web.servers import app_server

pytestmark = [pytest.mark.model, pytest.mark.load]

CLIENTS = 50
TURNS = 1  # the greeting and one reply each: 100 model calls, queued on one small server
PERSONA = "teresa-lindqvist-payments"


def test_fifty_interviews_at_once_each_on_its_own_thread(tmp_path: Path, llama_server: str, library: Library) -> None:
    with app_server(tmp_path, served_toml(llama_server), tmp_path / "serve.log") as url:
        config = LoadConfig(url=url, clients=CLIENTS, turns=TURNS, profiles=[PERSONA], reply_timeout=600)
        report = asyncio.run(run_load(config))
    print(report.summary())  # the figures of this run, for `pytest -s`

    assert report.errors == []
    manager = library.get(PERSONA).name
    threads = {r.thread_id for r in report.interviews}
    assert len(threads) == CLIENTS and None not in threads
    for result in report.interviews:
        assert result.greeting is not None and result.greeting.text.strip()
        assert result.sent == [config.message(result.index, turn) for turn in range(TURNS)]
        assert [reply.sent for reply in result.replies] == result.sent
        for line in [result.greeting, *result.replies]:
            # Each line came on this candidate's socket, from its own manager, in its own thread.
            assert line.author == manager and line.thread_id == result.thread_id and line.text.strip()
        assert len({line.message_id for line in [result.greeting, *result.replies]}) == TURNS + 1

    # The stored interview of each thread holds exactly what its candidate said and heard.
    with closing(sqlite3.connect(tmp_path / "app.db")) as db:
        rows = {
            thread: (user, json.loads(data))
            for thread, user, data in db.execute("SELECT thread_id, user_identifier, data FROM painpoint_interviews")
        }
    for result in report.interviews:
        assert result.thread_id in rows
        user, data = rows[result.thread_id]
        turns = data["transcript"]["turns"]
        assert user == "local" and data["transcript"]["persona"] == PERSONA
        assert [t["text"] for t in turns if t["speaker"] == "candidate"] == result.sent
        heard = [line.text for line in [result.greeting, *result.replies] if line is not None]
        assert [t["text"] for t in turns if t["speaker"] == "manager"] == heard
