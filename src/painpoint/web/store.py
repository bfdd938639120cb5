"""The database: Chainlit's history tables plus painpoint's own interview snapshots.

Chainlit's SQLAlchemy data layer creates no tables, so this module does, for SQLite (the default, a file) and
PostgreSQL (when DATABASE_URL is set). Interview state lives in a table of its own rather than in the thread's
metadata, because Chainlit sends thread metadata to the browser and the state names pain points.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from painpoint.coaching import records

_CHAINLIT_POSTGRES = [
    """CREATE TABLE IF NOT EXISTS users (
        "id" UUID PRIMARY KEY, "identifier" TEXT NOT NULL UNIQUE, "metadata" JSONB NOT NULL, "createdAt" TEXT)""",
    """CREATE TABLE IF NOT EXISTS threads (
        "id" UUID PRIMARY KEY, "createdAt" TEXT, "name" TEXT, "userId" UUID, "userIdentifier" TEXT,
        "tags" TEXT[], "metadata" JSONB, FOREIGN KEY ("userId") REFERENCES users("id") ON DELETE CASCADE)""",
    """CREATE TABLE IF NOT EXISTS steps (
        "id" UUID PRIMARY KEY, "name" TEXT NOT NULL, "type" TEXT NOT NULL, "threadId" UUID NOT NULL,
        "parentId" UUID, "streaming" BOOLEAN NOT NULL, "waitForAnswer" BOOLEAN, "isError" BOOLEAN,
        "metadata" JSONB, "tags" TEXT[], "input" TEXT, "output" TEXT, "createdAt" TEXT, "command" TEXT,
        "start" TEXT, "end" TEXT, "generation" JSONB, "showInput" TEXT, "language" TEXT, "indent" INT,
        "defaultOpen" BOOLEAN, "autoCollapse" BOOLEAN, "icon" TEXT, "modes" JSONB,
        FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE)""",
    """CREATE TABLE IF NOT EXISTS elements (
        "id" UUID PRIMARY KEY, "threadId" UUID, "type" TEXT, "url" TEXT, "chainlitKey" TEXT, "name" TEXT NOT NULL,
        "display" TEXT, "objectKey" TEXT, "size" TEXT, "page" INT, "language" TEXT, "forId" UUID, "mime" TEXT,
        "props" JSONB, "autoPlay" BOOLEAN, "playerConfig" JSONB,
        FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE)""",
    """CREATE TABLE IF NOT EXISTS feedbacks (
        "id" UUID PRIMARY KEY, "forId" UUID NOT NULL, "threadId" UUID NOT NULL, "value" INT NOT NULL,
        "comment" TEXT, FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE)""",
]


def _sqlite(statement: str) -> str:
    # SQLite has no UUID, JSONB or array types; Chainlit's layer stores them as text there.
    return statement.replace("UUID", "TEXT").replace("JSONB", "TEXT").replace("TEXT[]", "TEXT")


# Columns Chainlit added after a table was first created: added to older databases on start.
_LATER_COLUMNS = [
    ("steps", "command", "TEXT"),
    ("steps", "defaultOpen", "BOOLEAN"),
    ("steps", "autoCollapse", "BOOLEAN"),
    ("steps", "icon", "TEXT"),
    ("steps", "modes", "JSONB"),
    ("elements", "autoPlay", "BOOLEAN"),
    ("elements", "playerConfig", "JSONB"),
]

_PAINPOINT = """CREATE TABLE IF NOT EXISTS painpoint_interviews (
    "thread_id" TEXT PRIMARY KEY, "user_identifier" TEXT, "persona" TEXT NOT NULL, "data" TEXT NOT NULL,
    "updated_at" TEXT NOT NULL)"""


def database_url(home: Path) -> str:
    """The async SQLAlchemy URL: $DATABASE_URL (PostgreSQL) or a SQLite file in the user's data folder `home`."""
    configured = os.environ.get("DATABASE_URL", "").strip()
    if configured:
        for prefix in ("postgres://", "postgresql://"):
            if configured.startswith(prefix):
                return "postgresql+asyncpg://" + configured[len(prefix) :]
        return configured
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{home / 'painpoint.db'}"


class Store:
    """Creates the schema and keeps interview snapshots."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url)
        self.is_sqlite = url.startswith("sqlite")
        self.records = records.Records(self.engine)
        self._ready = False

    async def create_schema(self) -> None:
        """Create every table that is missing (idempotent, safe on every start)."""
        if self._ready:
            return
        statements = [_sqlite(s) if self.is_sqlite else s for s in _CHAINLIT_POSTGRES] + [_PAINPOINT, *records.SCHEMA]
        async with self.engine.begin() as connection:
            if not self.is_sqlite:
                # Processes starting together on an empty database would race to create the same tables.
                await connection.execute(text("SELECT pg_advisory_xact_lock(7262467)"))
            for statement in statements:
                await connection.execute(text(statement))
            for table, column, kind in _LATER_COLUMNS:
                if self.is_sqlite:
                    rows = await connection.execute(text(f"PRAGMA table_info({table})"))
                    if column not in {row[1] for row in rows}:
                        await connection.execute(text(f'ALTER TABLE {table} ADD COLUMN "{column}" {_sqlite(kind)}'))
                else:
                    await connection.execute(text(f'ALTER TABLE {table} ADD COLUMN IF NOT EXISTS "{column}" {kind}'))
        self._ready = True

    async def save_interview(self, thread_id: str, user: str | None, persona: str, data: dict[str, Any]) -> None:
        """Insert or replace the snapshot of one interview."""
        await self.create_schema()
        now = datetime.now(UTC).isoformat()
        async with self.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO painpoint_interviews "
                    '("thread_id", "user_identifier", "persona", "data", "updated_at") '
                    "VALUES (:thread_id, :user, :persona, :data, :now) "
                    'ON CONFLICT ("thread_id") DO UPDATE SET "data" = :data, "persona" = :persona, "updated_at" = :now '
                    # Never over another user's interview, whatever thread id a client names.
                    "WHERE COALESCE(painpoint_interviews.\"user_identifier\", '') = COALESCE(:user, '')"
                ),
                {"thread_id": thread_id, "user": user, "persona": persona, "data": json.dumps(data), "now": now},
            )

    async def load_interview(self, thread_id: str, user: str | None) -> dict[str, Any] | None:
        """The snapshot of one interview, only for the user who owns it."""
        await self.create_schema()
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    text('SELECT "data", "user_identifier" FROM painpoint_interviews WHERE "thread_id" = :thread_id'),
                    {"thread_id": thread_id},
                )
            ).first()
        if row is None or (row[1] is not None and row[1] != user):
            return None
        data: dict[str, Any] = json.loads(row[0])
        return data

    async def close(self) -> None:
        """Release the connections."""
        await self.engine.dispose()
