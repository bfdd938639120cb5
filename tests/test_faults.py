"""Endpoint faults over the wire: the openai voice and the judge against a real HTTP server that misbehaves.

Every fault gets bounded retries with backoff (counted at the server), a clear error, and loses nothing: the
transcript holds no half turn, the candidate's message is neither lost nor recorded twice, and the next turn
works once the endpoint behaves again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner

from painpoint.cli.main import cli
from painpoint.conversation.engine import InterviewState
from painpoint.conversation.interview import Interview
from painpoint.conversation.session import build_grader, build_interview, shared_offline_analyzer
from painpoint.conversation.transcript import Transcript, Turn
from painpoint.errors import ModelUnavailableError
from painpoint.grading.grader import Grader, parse_transcript
from painpoint.grading.scorecard import Scorecard, Source
from painpoint.scenario.persona import Persona
from painpoint.settings import Settings

from .conftest import free_port
from .fault_server import Behaviour, FaultServer, cut, delay, malformed, ok, pieces, status

MESSAGE = "How is the team keeping up with all the new merchants?"
OPENING = "Hi, thanks for making the time. I've read your resume, so what made you apply?"
REPLY = "Honestly, the team has been carrying a lot since the growth started, and it shows."
TIMEOUT = 0.5
RETRIES = 2
JUDGED = {"discovery_judgement", "customer_focus_judgement", "close_judgement"}


@pytest.fixture(scope="module")
def server(teresa: Persona) -> Iterator[FaultServer]:
    # Build the offline analyzer's index now, so it is not counted in the timings below.
    shared_offline_analyzer().analyze(teresa, MESSAGE)
    with FaultServer() as running:
        yield running


def settings(base_url: str, **changes: object) -> Settings:
    values: dict[str, object] = {
        "voice": "openai",
        "base_url": base_url,
        "model": "fault-model",
        "request_timeout": TIMEOUT,
        "max_retries": RETRIES,
    }
    return Settings.model_validate(values | changes)


def opened(persona: Persona, server: FaultServer, **changes: object) -> Interview:
    interview = build_interview(persona, settings=settings(server.base_url, **changes))
    server.script(ok(OPENING))
    interview.open()
    return interview


def gaps(server: FaultServer) -> list[float]:
    times = [r.at for r in server.requests]
    return [later - earlier for earlier, later in pairwise(times)]


def assert_intact(interview: Interview, turns: list[Turn], state: InterviewState | None) -> None:
    """Nothing of a failed exchange was recorded."""
    assert interview.transcript.turns == turns and interview.state == state


def assert_next_turn_works(interview: Interview, server: FaultServer, before: int) -> None:
    """Once the endpoint behaves, the same message goes through and is recorded exactly once, whole."""
    server.script(ok(REPLY))
    turn = interview.respond(MESSAGE)
    assert len(server.requests) == 1
    assert turn.speaker == "manager" and (turn.text == REPLY or (turn.fallback and turn.fallback.raw == REPLY))
    assert len(interview.transcript.turns) == before + 2
    assert [t.text for _, t in interview.transcript.candidate_turns()] == [MESSAGE]


@pytest.mark.parametrize(
    ("fault", "message", "least_gaps"),
    [
        # A stall past the client's timeout: each try waits out the timeout, then backs off (0.5 s, 1 s, -25%).
        (delay(5), "did not answer in time", [TIMEOUT + 0.375, TIMEOUT + 0.75]),
        (status(500), "failed with HTTP 500", [0.375, 0.75]),
        # Retry-After: 1 is honoured: longer than the first backoff would be.
        (status(429, retry_after=1), r"rate-limiting requests \(HTTP 429\)", [0.98, 0.98]),
    ],
    ids=["timeout", "http-500", "http-429-retry-after"],
)
def test_retryable_fault_is_retried_with_backoff_then_a_clear_error(
    teresa: Persona, server: FaultServer, fault: Behaviour, message: str, least_gaps: list[float]
) -> None:
    interview = opened(teresa, server)
    turns, state = list(interview.transcript.turns), interview.state
    server.script(*[fault] * (1 + RETRIES))
    with pytest.raises(ModelUnavailableError, match=message):
        interview.respond(MESSAGE)
    assert len(server.requests) == 1 + RETRIES and server.pending() == 0
    assert all(r.stream and r.body["messages"][-2]["content"] == MESSAGE for r in server.requests)
    assert all(gap >= least for gap, least in zip(gaps(server), least_gaps, strict=True)), gaps(server)
    assert max(gaps(server)) < 4, "backoff stays bounded"
    assert_intact(interview, turns, state)
    assert_next_turn_works(interview, server, len(turns))


def test_without_retries_a_fault_is_tried_once(teresa: Persona, server: FaultServer) -> None:
    interview = opened(teresa, server, max_retries=0)
    server.script(status(503))
    with pytest.raises(ModelUnavailableError, match="HTTP 503"):
        interview.respond(MESSAGE)
    assert len(server.requests) == 1


def test_a_retry_that_succeeds_is_invisible(teresa: Persona, server: FaultServer) -> None:
    interview = opened(teresa, server)
    server.script(status(500), status(429, retry_after=1), ok(REPLY))
    turn = interview.respond(MESSAGE)
    assert len(server.requests) == 3 and gaps(server)[1] >= 0.98
    assert turn.text == REPLY or (turn.fallback is not None and turn.fallback.raw == REPLY)
    assert [t.text for _, t in interview.transcript.candidate_turns()] == [MESSAGE]


@pytest.mark.parametrize(
    "fault",
    [cut(REPLY, after=3), cut(REPLY, after=3, clean_eof=True), cut(REPLY, after=3, hang=5)],
    ids=["broken-framing", "clean-close", "stalls-past-the-timeout"],
)
def test_stream_cut_mid_reply_records_nothing(teresa: Persona, server: FaultServer, fault: Behaviour) -> None:
    """Some tokens went out, then the reply stopped: an error, not a half reply.

    A clean close ends the HTTP body validly; only the missing finish reason gives the cut away.
    """
    interview = opened(teresa, server)
    turns, state = list(interview.transcript.turns), interview.state
    server.script(fault)
    streamed: list[str] = []
    with pytest.raises(ModelUnavailableError, match="stopped in the middle of its reply"):
        interview.respond(MESSAGE, on_token=streamed.append)
    assert streamed == pieces(REPLY)[:3], "the cut came after tokens were shown"
    assert len(server.requests) == 1, "a reply already under way is not sent twice"
    assert_intact(interview, turns, state)
    partial = "".join(streamed).strip()
    assert not any(partial in t.text or (t.fallback and partial in t.fallback.raw) for t in interview.transcript.turns)
    assert_next_turn_works(interview, server, len(turns))


def test_reply_stopped_by_the_token_limit_falls_back_to_the_authored_line(teresa: Persona, server: FaultServer) -> None:
    interview = opened(teresa, server)
    server.script(ok("Honestly, the team has been carrying a lot since", finish_reason="length"))
    turn = interview.respond(MESSAGE)
    assert turn.fallback is not None and "reply token limit" in turn.fallback.reason
    assert turn.fallback.raw == "Honestly, the team has been carrying a lot since"
    assert turn.text != turn.fallback.raw and turn.text.strip()
    assert [t.text for _, t in interview.transcript.candidate_turns()] == [MESSAGE]


def test_connection_refused_is_retried_then_clear_and_recovers(
    teresa: Persona, server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    with FaultServer() as first:
        interview = opened(teresa, first)
        port = first.port
    turns, state = list(interview.transcript.turns), interview.state
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="openai"), pytest.raises(ModelUnavailableError) as info:
        interview.respond(MESSAGE)
    elapsed = time.monotonic() - started
    assert "can't be reached" in str(info.value) and "Connection refused" in str(info.value)
    # Nothing listens, so the server can't count: the client's own log and the backoff's time do.
    assert sum("Retrying request" in r.getMessage() for r in caplog.records) == RETRIES
    assert elapsed >= 0.375 + 0.75  # both backoff waits happened (a lower bound: sleeps never end early)
    assert_intact(interview, turns, state)
    with FaultServer(port) as second:
        assert_next_turn_works(interview, second, len(turns))


def test_nothing_listening_from_the_start_keeps_the_interview_unopened(teresa: Persona) -> None:
    interview = build_interview(teresa, settings=settings(f"http://127.0.0.1:{free_port()}/v1", max_retries=0))
    with pytest.raises(ModelUnavailableError, match="can't be reached"):
        interview.respond(MESSAGE)
    assert interview.transcript.turns == [] and interview.state is None


# The judge.


def transcript(persona: Persona) -> Transcript:
    turns = [{"speaker": "manager", "text": "Hello, thanks for coming in."}]
    for line in ["How is the team keeping up?", "What's the next step?"]:
        turns += [{"speaker": "candidate", "text": line}, {"speaker": "manager", "text": "I see. Go on."}]
    return parse_transcript({"persona": persona.id, "turns": turns}, "test")


def verdicts(score: int = 3) -> str:
    return json.dumps(
        {
            "verdicts": [
                {
                    "id": cid,
                    "reasoning": "Asked about the team.",
                    "score": score,
                    "evidence": [{"turn": 1, "quote": "How is the team"}],
                    "better_line": "What happens if that isn't fixed?",
                }
                for cid in sorted(JUDGED)
            ]
        }
    )


@pytest.fixture(scope="module")
def offline(teresa: Persona) -> tuple[float, dict[str, float]]:
    card = Grader(shared_offline_analyzer()).grade(teresa, transcript(teresa))
    return card.overall, {d.value: v for d, v in card.dimensions.items()}


def judge_grader(server: FaultServer) -> Grader:
    return build_grader(settings(server.base_url, voice="scripted", judge=True, max_retries=1))


def assert_unscored_never_zero(card: Scorecard, offline: tuple[float, dict[str, float]], reason: str) -> None:
    """Every judged criterion is unscored with the reason, and the offline scores stand as they are."""
    assert {u.id for u in card.unscored} == JUDGED and all(reason in u.reason for u in card.unscored)
    assert not [c for c in card.criteria if c.source is Source.JUDGE]
    assert (card.overall, {d.value: v for d, v in card.dimensions.items()}) == offline


def test_malformed_structured_output_is_retried_once_then_unscored(
    teresa: Persona, server: FaultServer, offline: tuple[float, dict[str, float]]
) -> None:
    server.script(malformed(), malformed())
    card = judge_grader(server).grade(teresa, transcript(teresa))
    assert len(server.requests) == 2
    assert_unscored_never_zero(card, offline, "judge reply unusable")
    assert all(u.raw == malformed().text and "TRANSCRIPT" in u.prompt for u in card.unscored)
    wire = server.requests[0].body["response_format"]
    assert wire["type"] == "json_schema" and wire["json_schema"]["name"] == "JudgeReply"
    assert wire["json_schema"]["strict"] is True


def test_malformed_then_good_structured_output_is_scored(teresa: Persona, server: FaultServer) -> None:
    server.script(malformed(), ok(verdicts(score=2)))
    card = judge_grader(server).grade(teresa, transcript(teresa))
    assert len(server.requests) == 2 and card.unscored == []
    judged = {c.id: c.score for c in card.criteria if c.source is Source.JUDGE}
    assert judged == dict.fromkeys(JUDGED, 2)


@pytest.mark.parametrize(
    ("faults", "requests", "reason"),
    [
        ([status(500), status(500)], 2, "HTTP 500"),
        ([delay(5), delay(5)], 2, "did not answer in time"),
        ([cut(verdicts(), after=5)], 1, "stopped in the middle of its reply"),
    ],
    ids=["http-500", "timeout", "cut"],
)
def test_judge_endpoint_fault_is_unscored_with_the_reason(
    teresa: Persona,
    server: FaultServer,
    offline: tuple[float, dict[str, float]],
    faults: list[Behaviour],
    requests: int,
    reason: str,
) -> None:
    server.script(*faults)
    card = judge_grader(server).grade(teresa, transcript(teresa))
    # The client's retries (1 + max_retries), and no second round from the judge on top of them.
    assert len(server.requests) == requests
    assert_unscored_never_zero(card, offline, "the judge's endpoint failed: ")
    assert all(reason in u.reason for u in card.unscored)


def test_judge_honours_retry_after_then_scores(teresa: Persona, server: FaultServer) -> None:
    server.script(status(429, retry_after=1), ok(verdicts()))
    card = judge_grader(server).grade(teresa, transcript(teresa))
    assert len(server.requests) == 2 and gaps(server)[0] >= 0.98
    assert card.unscored == [] and {c.id for c in card.criteria if c.source is Source.JUDGE} == JUDGED


def test_cli_grade_with_a_failing_judge_says_why_and_still_grades(
    teresa: Persona, server: FaultServer, tmp_path: Path
) -> None:
    config = tmp_path / "painpoint.toml"
    config.write_text(
        f'[painpoint]\nbase_url = "{server.base_url}"\nmodel = "fault-judge"\nrequest_timeout = {TIMEOUT}\n'
        "max_retries = 1\n"
    )
    path = tmp_path / "t.json"
    path.write_text(transcript(teresa).model_dump_json())
    server.script(status(500), status(500))
    result = CliRunner().invoke(cli, ["grade", str(path), "--judge", "--json"], env={"PAINPOINT_CONFIG": str(config)})
    assert result.exit_code == 0 and result.exception is None, result.output
    assert len(server.requests) == 2
    assert "Note: not scored by the judge" in result.stderr and "HTTP 500" in result.stderr
    card = json.loads(result.stdout)
    assert {u["id"] for u in card["unscored"]} == JUDGED and card["overall"] > 0


def test_an_endpoint_that_refuses_a_second_system_message_gets_the_note_in_the_candidates_message(
    teresa: Persona, server: FaultServer
) -> None:
    interview = opened(teresa, server)
    # As a server whose chat template allows one system message only answers (Gemma's, some of Mistral's).
    server.script(status(400), ok("That's a fair question."), ok("Happy to go on."))
    interview.respond(MESSAGE)
    refused, folded = server.requests[-2:]
    assert [m["role"] for m in refused.body["messages"]][-2:] == ["user", "system"]
    roles = [m["role"] for m in folded.body["messages"]]
    assert roles.count("system") == 1 and roles[0] == "system" and roles[-1] == "user"
    last = folded.body["messages"][-1]["content"]
    assert last.startswith(MESSAGE) and "LINE:" in last
    # The turn went through (a guard may still swap in the authored line: this one is a reveal).
    assert [t.text for t in interview.transcript.turns].count(MESSAGE) == 1
    assert interview.transcript.turns[-1].speaker == "manager" and interview.transcript.turns[-1].voice == "openai"
    # Remembered: the next turn goes out in that form at once.
    interview.respond("How does the team handle it today?")
    assert [m["role"] for m in server.requests[-1].body["messages"]].count("system") == 1
