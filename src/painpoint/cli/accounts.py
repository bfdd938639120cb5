"""`painpoint users ...`, `painpoint personas add` and `painpoint export`: accounts and coaching from a terminal.

They work on the web app's database: the SQLite file under the app root, or $DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

from painpoint.coaching.accounts import AccountError, Role, check_name, check_password, hash_password
from painpoint.coaching.records import Records
from painpoint.coaching.scenarios import add_scenario, attempts_json, scores_csv
from painpoint.errors import PainpointError
from painpoint.grading.scorecard import load_rubric
from painpoint.resources import user_home
from painpoint.scenario.library import load_library
from painpoint.web.store import Store, database_url

T = TypeVar("T")


def _run(work: Callable[[Records], Awaitable[T]]) -> T:
    """Run one database task, turning painpoint's errors into `Error: ...` and exit status 2."""

    async def go() -> T:
        store = Store(database_url(user_home()))
        try:
            await store.create_schema()
            return await work(store.records)
        finally:
            await store.close()

    try:
        return asyncio.run(go())
    except PainpointError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        return check_password(password)
    except AccountError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


def _name(name: str) -> str:
    try:
        return check_name(name)
    except AccountError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


@click.group()
def users() -> None:
    """Accounts for the web app. With none, it runs for one local user without signing in."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--coach", help="Put this learner on a coach's roster.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def users_add(name: str, role: str, coach: str | None, password_stdin: bool) -> None:
    """Create an account; asks for its password."""
    name = _name(name)
    password = _read_password(password_stdin)
    password_hash = hash_password(password)

    async def work(records: Records) -> None:
        coach_name = None
        if coach is not None:
            coach_name = coach.strip().lower()
            found = await records.account(coach_name)
            if found is None or found[0].role is not Role.COACH:
                raise AccountError(f"There is no coach named {coach_name!r}.")
            if role != Role.LEARNER.value:
                raise AccountError("--coach is for learners.")
        await records.add_account(name, Role(role), password_hash)
        if coach_name is not None:
            await records.link(coach_name, name)

    _run(work)
    click.echo(f"Added {role} {name}" + (f", coached by {coach.strip().lower()}" if coach else "") + ".")


@users.command("list")
def users_list() -> None:
    """List the accounts with their roles and coaching links."""
    rows = _run(lambda records: records.accounts())
    if not rows:
        click.echo("No accounts: the web app runs for one local user.")
        return
    for account, created, linked in rows:
        relation = "learners" if account.role is Role.COACH else "coaches"
        click.echo(
            f"{account.name:<24} {account.role.value:<8} since {created:%Y-%m-%d}  "
            f"{relation}: {', '.join(linked) or '-'}"
        )


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def users_passwd(name: str, password_stdin: bool) -> None:
    """Set a new password for an account."""
    name = _name(name)
    password_hash = hash_password(_read_password(password_stdin))
    _run(lambda records: records.set_password(name, password_hash))
    click.echo(f"Password changed for {name}.")


@click.command("add")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--coach", required=True, help="The coach who owns the scenario.")
def personas_add(path: Path, coach: str) -> None:
    """Add (or update) a coach's scenario from a persona file, checked as `personas validate` checks it."""

    async def work(records: Records) -> str:
        found = await records.account(coach.strip().lower())
        if found is None or found[0].role is not Role.COACH:
            raise AccountError(f"There is no coach named {coach!r}.")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise AccountError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
        persona = await add_scenario(records, load_library(), found[0], raw, str(path))
        return f"ok   {path} ({persona.id}: {len(persona.pain_points)} pain points), added for {found[0].name}"

    click.echo(_run(work))


@click.command("export")
@click.option("--coach", required=True, help="The coach whose assignments the attempts answer.")
@click.option("--learner", required=True, help="The learner.")
@click.option("--out", "folder", type=click.Path(path_type=Path), default=Path("."), show_default=True)
def export(coach: str, learner: str, folder: Path) -> None:
    """Write a learner's attempts at a coach's assignments: LEARNER-scores.csv and LEARNER-attempts.json."""
    coach_name, learner_name = coach.strip().lower(), learner.strip().lower()

    async def work(records: Records) -> int:
        found = await records.account(coach_name)
        if found is None or found[0].role is not Role.COACH:
            raise AccountError(f"There is no coach named {coach_name!r}.")
        attempts = await records.attempts_for_coach(coach_name, learner_name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{learner_name}-scores.csv").write_text(scores_csv(attempts, load_rubric()), encoding="utf-8")
        (folder / f"{learner_name}-attempts.json").write_text(attempts_json(attempts), encoding="utf-8")
        return len(attempts)

    count = _run(work)
    click.echo(f"Wrote {count} attempt(s) to {folder / (learner_name + '-scores.csv')} and -attempts.json")
