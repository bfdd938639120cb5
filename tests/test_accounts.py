"""Accounts, coaching records, reviews and exports: the rules behind the coach and learner desks."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from painpoint.cli.main import cli
from painpoint.coaching.accounts import (
    LOCAL,
    Account,
    AccountError,
    Role,
    SignInPolicy,
    check_name,
    check_password,
    hash_password,
    verify_password,
)
from painpoint.coaching.records import Attempt, Records
from painpoint.coaching.review import Override, Review, ReviewError, add_override, effective_scorecard, progress_series
from painpoint.coaching.scenarios import ASSIGNMENT_PREFIX, add_scenario, resolve_profile, scores_csv
from painpoint.conversation.simulate import Level, simulate
from painpoint.errors import DataFileError
from painpoint.grading.scorecard import Dimension, Scorecard, load_rubric
from painpoint.scenario.library import Library
from painpoint.scenario.persona import Connection, Difficulty
from painpoint.web.store import Store

CARLA = Account(name="carla", role=Role.COACH)
DAVE = Account(name="dave", role=Role.COACH)
ANA = Account(name="ana", role=Role.LEARNER)
BEN = Account(name="ben", role=Role.LEARNER)
EVE = Account(name="eve", role=Role.LEARNER)
TERESA = "teresa-lindqvist-payments"


# -- passwords, names, rate limit ---------------------------------------------------------------------------


def test_passwords_are_salted_scrypt_hashes_that_only_the_right_password_opens() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first.startswith("scrypt$16384$8$1$") and first != second  # a fresh salt each time
    assert "correct horse" not in first
    assert verify_password("correct horse battery", first) and verify_password("correct horse battery", second)
    assert not verify_password("correct horse batterY", first)
    for broken in ["", "plain", "md5$x$y", first.replace("scrypt", "bcrypt"), first[:-4] + "!!!!"]:
        assert not verify_password("correct horse battery", broken)


def test_names_and_passwords_are_checked() -> None:
    assert check_name("  Ana.Silva@acme ") == "ana.silva@acme"
    for bad in ["", "a", "-ana", "ana silva", "x" * 64, "local", "ana/../x"]:
        with pytest.raises(AccountError):
            check_name(bad)
    with pytest.raises(AccountError, match="at least 10"):
        check_password("short")
    assert check_password("long enough pass") == "long enough pass"


def test_sign_in_policy_locks_out_after_five_failures_and_backs_off() -> None:
    policy = SignInPolicy(free=5, base=30, ceiling=120, window=900)
    failures = [1000.0 + i for i in range(5)]
    assert policy.retry_after(failures[:4], 1004) == 0
    assert policy.retry_after(failures, 1004) == 30  # the sixth try waits 30 s after the fifth failure
    assert policy.retry_after(failures, 1035) == 0
    assert policy.retry_after([*failures, 1035], 1035) == 60  # doubled
    assert policy.retry_after([*failures, *range(1035, 1040)], 1039) == 120  # capped at the ceiling
    assert policy.retry_after(failures, 1004 + 901) == 0  # failures older than the window are forgotten


def test_sign_in_failures_are_shared_through_the_database(both_records: Records) -> None:
    records, policy = both_records, SignInPolicy(free=5)

    async def go() -> None:
        for i in range(6):
            await records.sign_in_failed(["name:ana"], 1000.0 + i, forget_before=0)
        await records.sign_in_failed(["name:ben"], 1000.0, forget_before=0)
        assert policy.retry_after(await records.sign_in_failures("name:ana", 0), 1006) > 0
        assert len(await records.sign_in_failures("name:ana", 1003)) == 3
        await records.sign_in_succeeded("name:ana")
        assert await records.sign_in_failures("name:ana", 0) == []
        assert await records.sign_in_failures("name:ben", 0) == [1000.0]
        await records.sign_in_failed(["name:eve"], 5000.0, forget_before=2000.0)  # old rows are pruned
        assert await records.sign_in_failures("name:ben", 0) == []

    asyncio.run(go())


# -- records: who sees what ---------------------------------------------------------------------------------


@pytest.fixture
def records(tmp_path: Path) -> Iterator[Records]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    asyncio.run(store.create_schema())
    yield store.records
    asyncio.run(store.close())


_TABLES = ["painpoint_accounts", "painpoint_roster", "painpoint_scenarios", "painpoint_assignments"]
_TABLES += ["painpoint_assignees", "painpoint_attempts", "painpoint_sign_in_failures"]


@pytest.fixture(params=["sqlite", "postgresql"])
def both_records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Records]:
    """Records on SQLite and on the test PostgreSQL, whose coaching tables are emptied before and after."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    else:
        configured = os.environ.get("PAINPOINT_TEST_POSTGRES")
        if not configured:
            pytest.fail("PAINPOINT_TEST_POSTGRES is not set: run the README's test command, which starts PostgreSQL")
        url = "postgresql+asyncpg://" + configured.split("://", 1)[1]

    async def reset(store: Store) -> None:
        if not store.is_sqlite:
            async with store.engine.begin() as connection:
                for table in _TABLES:
                    await connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
        store._ready = False
        await store.create_schema()

    store = Store(url)
    # Each step here runs in its own event loop (asyncio.run); asyncpg connections can't outlive theirs.
    store.engine = create_async_engine(url, poolclass=NullPool)
    store.records = Records(store.engine)
    asyncio.run(reset(store))
    yield store.records
    asyncio.run(reset(store))
    asyncio.run(store.close())


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def _people(records: Records) -> None:
    async def go() -> None:
        for account in (CARLA, DAVE, ANA, BEN, EVE):
            await records.add_account(account.name, account.role, hash_password("a long password"))
        await records.link("carla", "ana")
        await records.link("carla", "ben")
        await records.link("dave", "eve")

    asyncio.run(go())


def _attempt(learner: str, assignment_id: str | None, scorecard: Scorecard | None, text: str) -> Attempt:
    now = datetime.now(UTC)
    return Attempt(
        id=f"{learner}-{assignment_id}-{text[:5]}",
        learner=learner,
        thread_id=None,
        persona=TERESA,
        assignment_id=assignment_id,
        started_at=now,
        updated_at=now,
        graded_at=now if scorecard else None,
        transcript={"persona": TERESA, "turns": [{"speaker": "candidate", "text": text}]},
        scorecard=scorecard,
        review=None,
    )


def test_accounts_are_unique_and_passwords_can_change(both_records: Records) -> None:
    records = both_records
    _people(records)
    with pytest.raises(AccountError, match="already an account"):
        run(records.add_account("ana", Role.LEARNER, None))
    assert run(records.count_accounts()) == 5
    run(records.set_password("ana", hash_password("a brand new password")))
    found = run(records.account("ana"))
    assert isinstance(found, tuple) and verify_password("a brand new password", found[1] or "")
    with pytest.raises(AccountError, match="no account"):
        run(records.set_password("nobody", "x"))


def test_assignments_go_only_to_the_coachs_own_learners_and_codes_stay_with_the_coach(both_records: Records) -> None:
    records = both_records
    _people(records)
    with pytest.raises(AccountError, match="Not among your learners: eve"):
        run(records.create_assignment("carla", TERESA, Difficulty.HARD, Connection.BLIND_RESUME, False, ["eve"], False))
    with pytest.raises(AccountError, match="at least one learner"):
        run(records.create_assignment("carla", TERESA, Difficulty.HARD, Connection.BLIND_RESUME, False, [], False))
    made = run(
        records.create_assignment("carla", TERESA, Difficulty.HARD, Connection.BLIND_RESUME, False, ["ana"], True)
    )
    assert made.join_code and len(made.join_code) == 8  # type: ignore[attr-defined]
    given = run(records.assignments_for("ana"))
    assert [a.id for a in given] == [made.id] and given[0].join_code is None  # type: ignore[attr-defined,index]
    assert run(records.assignments_for("ben")) == []
    assert run(records.assignment_for(BEN, made.id)) is None  # type: ignore[attr-defined]
    assert run(records.assignment_for(DAVE, made.id)) is None  # type: ignore[attr-defined]
    assert run(records.assignment_for(CARLA, made.id)) is not None  # type: ignore[attr-defined]
    # A join code (typed loosely) adds the learner and puts them on the coach's roster.
    code = made.join_code.lower()  # type: ignore[attr-defined]
    joined = run(records.join("eve", f" {code[:4]}-{code[4:]} "))
    assert joined is not None and "eve" in run(records.learners_of("carla"))  # type: ignore[operator]
    assert run(records.join("eve", "NOTACODE")) is None


def test_attempts_are_seen_by_their_learner_and_by_the_coach_of_the_assignment_only(both_records: Records) -> None:
    records = both_records
    _people(records)
    carla_work = run(
        records.create_assignment(
            "carla", TERESA, Difficulty.EASY, Connection.BLIND_RESUME, True, ["ana", "ben"], False
        )
    )
    ana_graded = _attempt("ana", carla_work.id, simulate_card(), "ana's first attempt")  # type: ignore[attr-defined]
    ana_practice = _attempt("ana", None, None, "ana practising alone")
    ben_attempt = _attempt("ben", carla_work.id, None, "ben's attempt")  # type: ignore[attr-defined]
    for attempt in (ana_graded, ana_practice, ben_attempt):
        run(records.save_attempt(attempt))
    assert {a.id for a in run(records.attempts_of("ana"))} == {ana_graded.id, ana_practice.id}  # type: ignore[attr-defined]
    # The coach sees attempts at their assignments; practice stays private.
    assert {a.id for a in run(records.attempts_for_coach("carla"))} == {ana_graded.id, ben_attempt.id}  # type: ignore[attr-defined]
    assert {a.id for a in run(records.attempts_for_coach("carla", "ben"))} == {ben_attempt.id}  # type: ignore[attr-defined]
    assert run(records.attempts_for_coach("dave")) == []
    # By id: only the owner, or the assignment's coach.
    assert run(records.attempt_for(ANA, ana_graded.id)) is not None
    assert run(records.attempt_for(CARLA, ana_graded.id)) is not None
    for viewer in (BEN, EVE, DAVE):
        assert run(records.attempt_for(viewer, ana_graded.id)) is None
    assert run(records.attempt_for(CARLA, ana_practice.id)) is None
    # Reviews: only by the assignment's coach.
    review = Review(note="Ask about cost next time.", note_by="carla")
    assert run(records.save_review(DAVE, ana_graded.id, review)) is False
    assert run(records.save_review(ANA, ana_graded.id, review)) is False
    assert run(records.attempt_for(ANA, ana_graded.id)).review is None  # type: ignore[union-attr]
    assert run(records.save_review(CARLA, ana_graded.id, review)) is True
    assert run(records.attempt_for(ANA, ana_graded.id)).review.note == "Ask about cost next time."  # type: ignore[union-attr]
    # Saving again keeps the review and can't hand the attempt to someone else.
    run(records.save_attempt(ana_graded))
    assert run(records.attempt_for(ANA, ana_graded.id)).review is not None  # type: ignore[union-attr]
    with pytest.raises(Exception):  # noqa: B017 - the primary key refuses a second owner
        run(records.save_attempt(ana_graded.model_copy(update={"learner": "ben"})))
    assert run(records.attempt_for(BEN, ana_graded.id)) is None


# -- reviews -----------------------------------------------------------------------------------------------


_CARD: list[Scorecard] = []


def simulate_card() -> Scorecard:
    """A real scorecard: an average simulated candidate against Teresa, graded offline (computed once)."""
    if not _CARD:
        from painpoint.conversation.session import build_grader, build_interview
        from painpoint.scenario.library import load_library
        from painpoint.settings import Settings

        persona = load_library().get(TERESA)
        transcript = simulate(build_interview(persona), Level.AVERAGE)
        _CARD.append(build_grader(Settings()).grade(persona, transcript))
    return _CARD[0]


def test_a_coach_override_counts_and_the_graders_score_is_kept() -> None:
    card = simulate_card()
    rubric = load_rubric()
    target = next(c for c in card.criteria if c.score < c.max)
    override = Override(score=target.max, reason="Strong in the room.", coach="carla", at=datetime.now(UTC))
    review = add_override(Review(), card, target.id, override)
    effective = effective_scorecard(card, review, rubric)
    assert next(c for c in effective.criteria if c.id == target.id).score == target.max
    assert next(c for c in card.criteria if c.id == target.id).score == target.score  # the grader's is untouched
    assert effective.dimensions[target.dimension] > card.dimensions[target.dimension]
    assert effective.overall > card.overall
    with pytest.raises(ReviewError, match="0 to"):
        add_override(Review(), card, target.id, override.model_copy(update={"score": target.max + 1}))
    with pytest.raises(ReviewError, match="not scored"):
        add_override(Review(), card, "no_such_criterion", override)
    assert effective_scorecard(card, None, rubric) is card


def test_progress_series_is_in_time_order_with_the_coachs_scores() -> None:
    card = simulate_card()
    target = next(c for c in card.criteria if c.score < c.max)
    review = Review(overrides={target.id: Override(score=target.max, coach="carla", at=datetime.now(UTC))})
    later, earlier = datetime.now(UTC), datetime.now(UTC) - timedelta(days=2)
    points = progress_series([(later, card, review), (earlier, card, None)], load_rubric())
    assert [p.at for p in points] == [earlier, later]
    assert points[1].overall > points[0].overall and points[1].reviewed and not points[0].reviewed
    assert set(points[0].dimensions) == set(Dimension)


# -- scenarios, profiles, exports ----------------------------------------------------------------------------


def test_an_uploaded_scenario_gets_exactly_the_clis_errors(records: Records, library: Library, tmp_path: Path) -> None:
    _people(records)
    good = (Path(__file__).parents[1] / "personas" / f"{TERESA}.yaml").read_text()
    broken = good.replace("difficulty: ", "difficulty: impossible_", 1)
    path = tmp_path / "broken.yaml"
    path.write_text(broken)
    cli_result = subprocess.run(
        [sys.executable, "-m", "painpoint.cli.main", "personas", "validate", str(path)], capture_output=True, text=True
    )
    assert cli_result.returncode == 2
    with pytest.raises(DataFileError) as caught:
        run(add_scenario(records, library, CARLA, broken.encode(), str(path)))
    assert f"FAIL {caught.value}" in cli_result.stderr
    with pytest.raises(DataFileError, match="not UTF-8"):
        run(add_scenario(records, library, CARLA, b"id: \xff\xfe", "upload.yaml"))
    with pytest.raises(DataFileError, match="shipped library"):
        run(add_scenario(records, library, CARLA, good.encode(), "copy.yaml"))
    with pytest.raises(DataFileError, match="only coaches"):
        run(add_scenario(records, library, ANA, good.encode(), "copy.yaml"))
    own = good.replace(f"id: {TERESA}", "id: carla-payments-drill", 1)
    persona = run(add_scenario(records, library, CARLA, own.encode(), "mine.yaml"))
    assert persona.id == "carla-payments-drill"  # type: ignore[attr-defined]
    with pytest.raises(AccountError, match="another coach"):
        run(add_scenario(records, library, DAVE, own.encode(), "theirs.yaml"))
    # The scenario is the coach's: usable by them and by the learners they assign it to, nobody else.
    assert run(resolve_profile(records, library, CARLA, "carla-payments-drill")) is not None
    assert run(resolve_profile(records, library, DAVE, "carla-payments-drill")) is None
    assert run(resolve_profile(records, library, ANA, "carla-payments-drill")) is None
    made = run(
        records.create_assignment(
            "carla", "carla-payments-drill", Difficulty.HARD, Connection.BLIND_RESUME, False, ["ana"], False
        )
    )
    resolved = run(resolve_profile(records, library, ANA, ASSIGNMENT_PREFIX + made.id))  # type: ignore[attr-defined]
    assert resolved is not None and resolved[0].id == "carla-payments-drill"  # type: ignore[index]
    assert run(resolve_profile(records, library, BEN, ASSIGNMENT_PREFIX + made.id)) is None  # type: ignore[attr-defined]
    assert run(resolve_profile(records, library, LOCAL, TERESA)) is not None


def test_scores_csv_uses_the_scores_that_count(records: Records) -> None:
    card = simulate_card()
    target = next(c for c in card.criteria if c.score < c.max)
    review = Review(
        note="Good close",
        note_by="carla",
        overrides={target.id: Override(score=target.max, coach="carla", at=datetime.now(UTC))},
    )
    graded = _attempt("ana", "a1", card, "graded").model_copy(update={"review": review})
    open_one = _attempt("ana", "a1", None, "still going")
    rows = list(csv.DictReader(io.StringIO(scores_csv([graded, open_one], load_rubric()))))
    effective = effective_scorecard(card, review, load_rubric())
    assert rows[0]["status"] == "graded" and float(rows[0]["overall"]) == pytest.approx(effective.overall, abs=0.05)
    assert rows[0]["coach_overrides"] == f"{target.id}={target.max}" and rows[0]["coach_note"] == "Good close"
    assert rows[1]["status"] == "in progress" and rows[1]["overall"] == ""


# -- the CLI -----------------------------------------------------------------------------------------------


def test_users_cli_adds_lists_and_changes_passwords(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    ok = runner.invoke(
        cli, ["users", "add", "Carla", "--role", "coach", "--password-stdin"], input="coach password 1\n"
    )
    assert ok.exit_code == 0 and "Added coach carla" in ok.output
    ok = runner.invoke(
        cli,
        ["users", "add", "ana", "--role", "learner", "--coach", "carla", "--password-stdin"],
        input="learner pass 1\n",
    )
    assert ok.exit_code == 0, ok.output
    for args, stdin, message in [
        (["users", "add", "ben", "--role", "learner", "--password-stdin"], "short\n", "too short"),
        (["users", "add", "ana", "--role", "learner", "--password-stdin"], "long enough 1\n", "already an account"),
        (
            ["users", "add", "ben", "--role", "learner", "--coach", "nobody", "--password-stdin"],
            "long enough 1\n",
            "no coach",
        ),
        (["users", "add", "local", "--role", "learner", "--password-stdin"], "long enough 1\n", "reserved"),
        (["users", "passwd", "nobody", "--password-stdin"], "long enough 1\n", "no account"),
    ]:
        failed = runner.invoke(cli, args, input=stdin)
        assert failed.exit_code == 2 and message in failed.output, (args, failed.output)
        assert "Traceback" not in failed.output
    listing = runner.invoke(cli, ["users", "list"])
    assert "carla" in listing.output and "learners: ana" in listing.output and "coaches: carla" in listing.output
    assert runner.invoke(cli, ["users", "passwd", "ana", "--password-stdin"], input="another password\n").exit_code == 0
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    found = asyncio.run(store.records.account("ana"))
    asyncio.run(store.close())
    assert found is not None and verify_password("another password", found[1] or "")
    assert not verify_password("learner pass 1", found[1] or "")


def test_export_cli_writes_a_learners_attempts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, records: Records
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    _people(records)
    made = run(
        records.create_assignment("carla", TERESA, Difficulty.EASY, Connection.BLIND_RESUME, True, ["ana"], False)
    )
    run(records.save_attempt(_attempt("ana", made.id, simulate_card(), "for carla")))  # type: ignore[attr-defined]
    run(records.save_attempt(_attempt("ana", None, None, "private practice")))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["export", "--coach", "carla", "--learner", "ana", "--out", str(out)])
    assert result.exit_code == 0, result.output
    exported = json.loads((out / "ana-attempts.json").read_text())
    assert [a["transcript"]["turns"][0]["text"] for a in exported] == ["for carla"]
    assert len(list(csv.DictReader((out / "ana-scores.csv").open()))) == 1
    denied = CliRunner().invoke(cli, ["export", "--coach", "ana", "--learner", "ana", "--out", str(out)])
    assert denied.exit_code == 2 and "no coach" in denied.output


def test_the_auth_secret_is_generated_outside_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from painpoint.web.serve import auth_secret

    monkeypatch.delenv("CHAINLIT_AUTH_SECRET", raising=False)
    secret = auth_secret(tmp_path / ".painpoint")
    path = tmp_path / ".painpoint" / "auth_secret"
    assert len(secret) >= 48 and path.read_text() == secret and path.stat().st_mode & 0o077 == 0
    assert auth_secret(tmp_path / ".painpoint") == secret
    root = Path(__file__).parents[1]
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True).stdout.split()
    assert not [name for name in tracked if name.startswith(".painpoint") or "auth_secret" in name]
    assert ".painpoint/" in (root / ".gitignore").read_text().split()
