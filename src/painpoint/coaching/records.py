"""Accounts, coaching links, assignments, authored scenarios and attempts, in the app's database.

Every read that can return another person's data takes the viewer and filters in SQL: a learner gets rows where
they are the learner, a coach gets rows of assignments they made. Nothing here trusts an id sent by a browser.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from painpoint.coaching.accounts import Account, AccountError, Role, join_code
from painpoint.coaching.review import Review
from painpoint.grading.scorecard import Scorecard
from painpoint.scenario.persona import Connection, Difficulty

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS painpoint_accounts (
        "name" TEXT PRIMARY KEY, "role" TEXT NOT NULL, "password_hash" TEXT, "created_at" TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS painpoint_roster (
        "coach" TEXT NOT NULL, "learner" TEXT NOT NULL, PRIMARY KEY ("coach", "learner"))""",
    """CREATE TABLE IF NOT EXISTS painpoint_scenarios (
        "persona_id" TEXT PRIMARY KEY, "owner" TEXT NOT NULL, "yaml" TEXT NOT NULL, "updated_at" TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS painpoint_assignments (
        "id" TEXT PRIMARY KEY, "coach" TEXT NOT NULL, "persona" TEXT NOT NULL, "difficulty" TEXT NOT NULL,
        "connection" TEXT NOT NULL, "hints" INTEGER NOT NULL, "join_code" TEXT UNIQUE, "created_at" TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS painpoint_assignees (
        "assignment_id" TEXT NOT NULL, "learner" TEXT NOT NULL, PRIMARY KEY ("assignment_id", "learner"))""",
    """CREATE TABLE IF NOT EXISTS painpoint_attempts (
        "id" TEXT PRIMARY KEY, "learner" TEXT NOT NULL, "thread_id" TEXT, "persona" TEXT NOT NULL,
        "assignment_id" TEXT, "started_at" TEXT NOT NULL, "updated_at" TEXT NOT NULL, "graded_at" TEXT,
        "transcript" TEXT NOT NULL, "scorecard" TEXT, "review" TEXT)""",
    """CREATE TABLE IF NOT EXISTS painpoint_sign_in_failures ("key" TEXT NOT NULL, "at" DOUBLE PRECISION NOT NULL)""",
    'CREATE INDEX IF NOT EXISTS painpoint_sign_in_failures_key ON painpoint_sign_in_failures ("key")',
    'CREATE INDEX IF NOT EXISTS painpoint_attempts_learner ON painpoint_attempts ("learner")',
    'CREATE INDEX IF NOT EXISTS painpoint_attempts_assignment ON painpoint_attempts ("assignment_id")',
]


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Assignment(BaseModel):
    """A scenario with fixed settings, given by a coach to chosen learners or to whoever has the join code."""

    model_config = ConfigDict(extra="forbid")

    id: str
    coach: str
    persona: str
    difficulty: Difficulty
    connection: Connection
    hints: bool
    join_code: str | None
    created_at: datetime
    learners: list[str] = []


class Scenario(BaseModel):
    """A persona a coach authored, kept as the YAML they gave."""

    model_config = ConfigDict(extra="forbid")

    persona_id: str
    owner: str
    yaml: str
    updated_at: datetime


class Attempt(BaseModel):
    """One attempt at one scenario: the transcript, the grader's scorecard and the coach's review."""

    model_config = ConfigDict(extra="forbid")

    id: str
    learner: str
    thread_id: str | None
    persona: str
    assignment_id: str | None
    started_at: datetime
    updated_at: datetime
    graded_at: datetime | None
    transcript: dict[str, Any]
    scorecard: Scorecard | None
    review: Review | None


_ATTEMPT_COLUMNS = (
    '"id", "learner", "thread_id", "persona", "assignment_id", "started_at", "updated_at", "graded_at", '
    '"transcript", "scorecard", "review"'
)


def _attempt(row: Any) -> Attempt:
    return Attempt(
        id=row[0],
        learner=row[1],
        thread_id=row[2],
        persona=row[3],
        assignment_id=row[4],
        started_at=row[5],
        updated_at=row[6],
        graded_at=row[7],
        transcript=json.loads(row[8]),
        scorecard=Scorecard.model_validate_json(row[9]) if row[9] else None,
        review=Review.model_validate_json(row[10]) if row[10] else None,
    )


class Records:
    """Queries over the painpoint tables. Create the schema first (`Store.create_schema` does)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- accounts ----------------------------------------------------------------------------------------

    async def count_accounts(self) -> int:
        """How many accounts exist (0: the installation runs as a single local user)."""
        async with self.engine.connect() as connection:
            return int((await connection.execute(text("SELECT COUNT(*) FROM painpoint_accounts"))).scalar_one())

    async def add_account(self, name: str, role: Role, password_hash: str | None) -> Account:
        """Create an account.

        Raises:
            AccountError: when the name is taken.
        """
        try:
            async with self.engine.begin() as connection:
                await connection.execute(
                    text(
                        'INSERT INTO painpoint_accounts ("name", "role", "password_hash", "created_at") '
                        "VALUES (:name, :role, :hash, :now)"
                    ),
                    {"name": name, "role": role.value, "hash": password_hash, "now": _now()},
                )
        except IntegrityError:
            raise AccountError(f"There is already an account named {name!r}.") from None
        return Account(name=name, role=role)

    async def account(self, name: str) -> tuple[Account, str | None] | None:
        """The account with this name and its password hash, or None."""
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    text('SELECT "role", "password_hash" FROM painpoint_accounts WHERE "name" = :name'),
                    {"name": name},
                )
            ).first()
        if row is None:
            return None
        return Account(name=name, role=Role(row[0])), row[1]

    async def set_password(self, name: str, password_hash: str) -> None:
        """Replace an account's password hash.

        Raises:
            AccountError: when there is no such account.
        """
        async with self.engine.begin() as connection:
            result = await connection.execute(
                text('UPDATE painpoint_accounts SET "password_hash" = :hash WHERE "name" = :name'),
                {"name": name, "hash": password_hash},
            )
        if not result.rowcount:
            raise AccountError(f"There is no account named {name!r}.")

    async def accounts(self) -> list[tuple[Account, datetime, list[str]]]:
        """Every account with its creation time and its coaches (learners) or learners (coaches)."""
        async with self.engine.connect() as connection:
            rows = (
                await connection.execute(
                    text('SELECT "name", "role", "created_at" FROM painpoint_accounts ORDER BY "role", "name"')
                )
            ).all()
            links = (await connection.execute(text('SELECT "coach", "learner" FROM painpoint_roster'))).all()
        result = []
        for name, role, created in rows:
            if role == Role.COACH.value:
                linked = sorted(learner for coach, learner in links if coach == name)
            else:
                linked = sorted(coach for coach, learner in links if learner == name)
            result.append((Account(name=name, role=Role(role)), datetime.fromisoformat(created), linked))
        return result

    async def link(self, coach: str, learner: str) -> None:
        """Put a learner on a coach's roster (idempotent)."""
        async with self.engine.begin() as connection:
            exists = (
                await connection.execute(
                    text('SELECT 1 FROM painpoint_roster WHERE "coach" = :coach AND "learner" = :learner'),
                    {"coach": coach, "learner": learner},
                )
            ).first()
            if exists is None:
                await connection.execute(
                    text('INSERT INTO painpoint_roster ("coach", "learner") VALUES (:coach, :learner)'),
                    {"coach": coach, "learner": learner},
                )

    async def learners_of(self, coach: str) -> list[str]:
        """The learners on a coach's roster, sorted."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                text('SELECT "learner" FROM painpoint_roster WHERE "coach" = :coach ORDER BY "learner"'),
                {"coach": coach},
            )
            return [row[0] for row in rows]

    # -- sign-in failures --------------------------------------------------------------------------------

    async def sign_in_failures(self, key: str, since: float) -> list[float]:
        """When this key failed to sign in (epoch seconds), from `since` on."""
        async with self.engine.connect() as db:
            rows = await db.execute(
                text('SELECT "at" FROM painpoint_sign_in_failures WHERE "key" = :key AND "at" >= :since'),
                {"key": key, "since": since},
            )
            return [float(row[0]) for row in rows]

    async def sign_in_failed(self, keys: list[str], at: float, forget_before: float) -> None:
        """Record a failed sign-in under each key, and forget failures too old to count."""
        async with self.engine.begin() as db:
            await db.execute(
                text('DELETE FROM painpoint_sign_in_failures WHERE "at" < :before'), {"before": forget_before}
            )
            for key in keys:
                await db.execute(
                    text('INSERT INTO painpoint_sign_in_failures ("key", "at") VALUES (:key, :at)'),
                    {"key": key, "at": at},
                )

    async def sign_in_succeeded(self, key: str) -> None:
        """Clear a key's failures."""
        async with self.engine.begin() as db:
            await db.execute(text('DELETE FROM painpoint_sign_in_failures WHERE "key" = :key'), {"key": key})

    # -- scenarios ---------------------------------------------------------------------------------------

    async def save_scenario(self, owner: str, persona_id: str, yaml_text: str) -> bool:
        """Store a coach's scenario; True if it replaced their earlier version.

        Raises:
            AccountError: when another coach already uses this persona id.
        """
        async with self.engine.begin() as connection:
            row = (
                await connection.execute(
                    text('SELECT "owner" FROM painpoint_scenarios WHERE "persona_id" = :id'), {"id": persona_id}
                )
            ).first()
            if row is not None and row[0] != owner:
                raise AccountError(f"id: {persona_id!r} is already used by another coach's scenario; choose another.")
            if row is None:
                await connection.execute(
                    text(
                        'INSERT INTO painpoint_scenarios ("persona_id", "owner", "yaml", "updated_at") '
                        "VALUES (:id, :owner, :yaml, :now)"
                    ),
                    {"id": persona_id, "owner": owner, "yaml": yaml_text, "now": _now()},
                )
            else:
                await connection.execute(
                    text('UPDATE painpoint_scenarios SET "yaml" = :yaml, "updated_at" = :now WHERE "persona_id" = :id'),
                    {"id": persona_id, "yaml": yaml_text, "now": _now()},
                )
        return row is not None

    async def scenarios_of(self, owner: str) -> list[Scenario]:
        """A coach's own scenarios."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                text(
                    'SELECT "persona_id", "owner", "yaml", "updated_at" FROM painpoint_scenarios '
                    'WHERE "owner" = :owner ORDER BY "persona_id"'
                ),
                {"owner": owner},
            )
            return [Scenario(persona_id=r[0], owner=r[1], yaml=r[2], updated_at=r[3]) for r in rows]

    async def scenario(self, persona_id: str) -> Scenario | None:
        """A scenario by persona id (callers check that the viewer may use it)."""
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        'SELECT "persona_id", "owner", "yaml", "updated_at" FROM painpoint_scenarios '
                        'WHERE "persona_id" = :id'
                    ),
                    {"id": persona_id},
                )
            ).first()
        return None if row is None else Scenario(persona_id=row[0], owner=row[1], yaml=row[2], updated_at=row[3])

    # -- assignments -------------------------------------------------------------------------------------

    async def create_assignment(
        self,
        coach: str,
        persona: str,
        difficulty: Difficulty,
        connection: Connection,
        hints: bool,
        learners: list[str],
        with_code: bool,
    ) -> Assignment:
        """Make an assignment for learners on the coach's roster, with a join code if asked.

        Raises:
            AccountError: when a learner is not on the coach's roster, or there is nobody to give it to.
        """
        roster = set(await self.learners_of(coach))
        strangers = sorted(set(learners) - roster)
        if strangers:
            raise AccountError(f"Not among your learners: {', '.join(strangers)}.")
        if not learners and not with_code:
            raise AccountError("Choose at least one learner, or make a join code.")
        assignment = Assignment(
            id=uuid.uuid4().hex,
            coach=coach,
            persona=persona,
            difficulty=difficulty,
            connection=connection,
            hints=hints,
            join_code=join_code() if with_code else None,
            created_at=datetime.now(UTC),
            learners=sorted(set(learners)),
        )
        async with self.engine.begin() as db:
            await db.execute(
                text(
                    "INSERT INTO painpoint_assignments "
                    '("id", "coach", "persona", "difficulty", "connection", "hints", "join_code", "created_at") '
                    "VALUES (:id, :coach, :persona, :difficulty, :connection, :hints, :code, :at)"
                ),
                {
                    "id": assignment.id,
                    "coach": coach,
                    "persona": persona,
                    "difficulty": difficulty.value,
                    "connection": connection.value,
                    "hints": int(hints),
                    "code": assignment.join_code,
                    "at": assignment.created_at.isoformat(),
                },
            )
            for learner in assignment.learners:
                await db.execute(
                    text('INSERT INTO painpoint_assignees ("assignment_id", "learner") VALUES (:id, :learner)'),
                    {"id": assignment.id, "learner": learner},
                )
        return assignment

    async def _assignments(self, where: str, values: dict[str, Any]) -> list[Assignment]:
        async with self.engine.connect() as db:
            rows = (
                await db.execute(
                    text(
                        'SELECT a."id", a."coach", a."persona", a."difficulty", a."connection", a."hints", '
                        f'a."join_code", a."created_at" FROM painpoint_assignments a WHERE {where} '
                        'ORDER BY a."created_at" DESC'
                    ),
                    values,
                )
            ).all()
            learners = (
                await db.execute(text('SELECT "assignment_id", "learner" FROM painpoint_assignees ORDER BY "learner"'))
            ).all()
        return [
            Assignment(
                id=r[0],
                coach=r[1],
                persona=r[2],
                difficulty=Difficulty(r[3]),
                connection=Connection(r[4]),
                hints=bool(r[5]),
                join_code=r[6],
                created_at=r[7],
                learners=[learner for assignment_id, learner in learners if assignment_id == r[0]],
            )
            for r in rows
        ]

    async def assignments_by(self, coach: str) -> list[Assignment]:
        """The assignments a coach made."""
        return await self._assignments('a."coach" = :coach', {"coach": coach})

    async def assignments_for(self, learner: str) -> list[Assignment]:
        """The assignments given to a learner (join codes are not shown to them)."""
        found = await self._assignments(
            'a."id" IN (SELECT "assignment_id" FROM painpoint_assignees WHERE "learner" = :learner)',
            {"learner": learner},
        )
        return [a.model_copy(update={"join_code": None, "learners": [learner]}) for a in found]

    async def assignment_for(self, viewer: Account, assignment_id: str) -> Assignment | None:
        """One assignment, only if the viewer made it (coach) or was given it (learner)."""
        if viewer.role is Role.COACH:
            found = [a for a in await self.assignments_by(viewer.name) if a.id == assignment_id]
        else:
            found = [a for a in await self.assignments_for(viewer.name) if a.id == assignment_id]
        return found[0] if found else None

    async def join(self, learner: str, code: str) -> Assignment | None:
        """Add a learner to the assignment with this join code (and to its coach's roster); None if no such code."""
        cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
        async with self.engine.connect() as db:
            row = (
                await db.execute(
                    text('SELECT "id", "coach" FROM painpoint_assignments WHERE "join_code" = :code'),
                    {"code": cleaned},
                )
            ).first()
        if row is None:
            return None
        assignment_id, coach = row[0], row[1]
        async with self.engine.begin() as db:
            exists = (
                await db.execute(
                    text('SELECT 1 FROM painpoint_assignees WHERE "assignment_id" = :id AND "learner" = :learner'),
                    {"id": assignment_id, "learner": learner},
                )
            ).first()
            if exists is None:
                await db.execute(
                    text('INSERT INTO painpoint_assignees ("assignment_id", "learner") VALUES (:id, :learner)'),
                    {"id": assignment_id, "learner": learner},
                )
        await self.link(coach, learner)
        return next(a for a in await self.assignments_for(learner) if a.id == assignment_id)

    # -- attempts ----------------------------------------------------------------------------------------

    async def save_attempt(self, attempt: Attempt) -> None:
        """Insert or update an attempt. An update never changes whose attempt it is, nor its review."""
        values = {
            "id": attempt.id,
            "learner": attempt.learner,
            "thread_id": attempt.thread_id,
            "persona": attempt.persona,
            "assignment_id": attempt.assignment_id,
            "started_at": attempt.started_at.isoformat(),
            "updated_at": _now(),
            "graded_at": attempt.graded_at.isoformat() if attempt.graded_at else None,
            "transcript": json.dumps(attempt.transcript),
            "scorecard": attempt.scorecard.model_dump_json() if attempt.scorecard else None,
        }
        async with self.engine.begin() as db:
            updated = await db.execute(
                text(
                    'UPDATE painpoint_attempts SET "updated_at" = :updated_at, "graded_at" = :graded_at, '
                    '"transcript" = :transcript, "scorecard" = :scorecard '
                    'WHERE "id" = :id AND "learner" = :learner'
                ),
                values,
            )
            if not updated.rowcount:
                await db.execute(
                    text(
                        f"INSERT INTO painpoint_attempts ({_ATTEMPT_COLUMNS}) VALUES (:id, :learner, :thread_id, "
                        ":persona, :assignment_id, :started_at, :updated_at, :graded_at, :transcript, :scorecard, NULL)"
                    ),
                    values,
                )

    async def _attempts(self, where: str, values: dict[str, Any]) -> list[Attempt]:
        columns = ", ".join(f"t.{c.strip()}" for c in _ATTEMPT_COLUMNS.split(","))
        async with self.engine.connect() as db:
            rows = await db.execute(
                text(
                    f"SELECT {columns} FROM painpoint_attempts t "
                    'LEFT JOIN painpoint_assignments a ON a."id" = t."assignment_id" '
                    f'WHERE {where} ORDER BY t."started_at"'
                ),
                values,
            )
            return [_attempt(row) for row in rows]

    async def attempts_of(self, learner: str) -> list[Attempt]:
        """A learner's own attempts, oldest first."""
        return await self._attempts('t."learner" = :learner', {"learner": learner})

    async def attempts_for_coach(self, coach: str, learner: str | None = None) -> list[Attempt]:
        """Attempts at a coach's assignments (optionally one learner's), oldest first.

        Practice outside the coach's assignments stays private to the learner.
        """
        where = 'a."coach" = :coach'
        if learner is not None:
            where += ' AND t."learner" = :learner'
        return await self._attempts(where, {"coach": coach, "learner": learner})

    async def attempt_for(self, viewer: Account, attempt_id: str) -> Attempt | None:
        """One attempt, only for its learner or the coach whose assignment it answers."""
        if viewer.role is Role.COACH:
            found = await self._attempts(
                't."id" = :id AND a."coach" = :coach', {"id": attempt_id, "coach": viewer.name}
            )
        else:
            found = await self._attempts('t."id" = :id AND t."learner" = :me', {"id": attempt_id, "me": viewer.name})
        return found[0] if found else None

    async def save_review(self, coach: Account, attempt_id: str, review: Review) -> bool:
        """Store a coach's review; False (nothing written) unless the attempt answers one of their assignments."""
        if coach.role is not Role.COACH or await self.attempt_for(coach, attempt_id) is None:
            return False
        async with self.engine.begin() as db:
            await db.execute(
                text('UPDATE painpoint_attempts SET "review" = :review WHERE "id" = :id'),
                {"id": attempt_id, "review": review.model_dump_json()},
            )
        return True
