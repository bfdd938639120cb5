"""Bad input through the command line: each is a clear message naming the problem, never a traceback.

Covered elsewhere: a transcript that is not JSON or has the wrong shape (test_grader), an unknown persona id and
an oversized line in chat (test_cli_chat), the loader's own errors (test_personas).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from painpoint.cli.main import cli
from painpoint.conversation.session import build_interview
from painpoint.conversation.tokens import tiktoken_counter
from painpoint.errors import MessageTooLongError
from painpoint.scenario.persona import Persona
from painpoint.settings import Settings

TERESA = "teresa-lindqvist-payments"
CONTROL = ("\x00", "\x07", "\x1b", "\r", "\u202e")


def run(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=stdin, env=env)
    # An uncaught exception would print a traceback in a real run; CliRunner keeps it in `exception`.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def chat(*lines: str, env: dict[str, str] | None = None) -> Result:
    return run("chat", "--persona", TERESA, "--json", stdin="\n".join(lines) + "\n", env=env)


def candidate_lines(result: Result) -> list[str]:
    transcript = json.loads(result.stdout)
    return [t["text"] for t in transcript["turns"] if t["speaker"] == "candidate"]


# Candidate messages.


def test_blank_lines_are_skipped_and_an_invisible_message_is_empty() -> None:
    result = chat("", "   ", "\t", "\x00\x07\x1b[2J", "How is the team doing?")
    assert result.exit_code == 1  # a message was not sent
    assert result.stderr.count("[not sent]") == 1
    assert "[not sent] Your message is empty: type something to say to the manager." in result.stderr
    assert candidate_lines(result) == ["How is the team doing?"]


def test_a_megabyte_message_is_refused_from_a_sample_with_its_approximate_size(teresa: Persona) -> None:
    huge = "Let me tell you about my career. " * 31_000  # about a megabyte
    real = tiktoken_counter().count(huge.strip())
    interview = build_interview(teresa, settings=Settings())
    with pytest.raises(MessageTooLongError) as info:
        interview.check_message(huge)
    # `approximate` says the count was estimated from a sample: the whole megabyte was never tokenised.
    assert info.value.approximate and abs(info.value.tokens - real) / real < 0.05
    result = chat(huge, "How is the team doing?")
    assert result.exit_code == 1
    assert f"[not sent] Your message is about {info.value.tokens:,} tokens long; the limit is 400" in result.stderr
    assert candidate_lines(result) == ["How is the team doing?"]


def test_control_characters_are_removed_never_echoed() -> None:
    lines = [
        "Hello\x00 there\x1b[2J, how is the team doing?",
        "\x1b]0;owned\x07What's \x1b[31mnext\x1b[0m?",
        "Tabs\tstay; \u202ebidi overrides go.",
    ]
    result = chat(*lines)
    assert result.exit_code == 0, result.output
    assert candidate_lines(result) == [
        "Hello there, how is the team doing?",
        "What's next?",
        "Tabs\tstay; bidi overrides go.",
    ]
    assert not any(ch in result.output for ch in CONTROL)
    plain = run("chat", "--persona", TERESA, stdin="\n".join(lines) + "\n")  # the lines echoed as "You: ..."
    assert "You: Hello there, how is the team doing?" in plain.stdout
    assert not any(ch in plain.output for ch in CONTROL)


def test_a_carriage_return_inside_a_message_is_removed(teresa: Persona) -> None:
    interview = build_interview(teresa, settings=Settings())
    interview.respond("How is the team\r doing?\r")
    assert interview.transcript.turns[-2].text == "How is the team doing?"


# Persona files.


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"id: caf\xe9\nname: Ren\xe9e\n", "not UTF-8 text (bad byte at offset 7)"),
        (b"id: x\nname: [unclosed\n", "not valid YAML at line 3"),
        (b"- just\n- a list\n", "expected a mapping"),
    ],
    ids=["latin-1", "yaml-syntax", "not-a-mapping"],
)
def test_broken_persona_files_are_named_with_the_problem(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(content)
    validated = run("personas", "validate", str(path))
    assert validated.exit_code == 2
    assert f"FAIL {path}: " in validated.stderr and problem in validated.stderr
    chatted = run("chat", "--persona", str(path), stdin="hello\n")
    assert chatted.exit_code == 2 and problem in chatted.stderr


# Transcripts (not JSON and the wrong shape are in test_grader).


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p.write_bytes(b'{"persona": "caf\xe9"}'), "not UTF-8 text"),
        (lambda p: p.mkdir(), "cannot read the file"),
        (lambda p: None, "cannot read the file"),
        (
            lambda p: p.write_text('{"persona": "nobody", "turns": [{"speaker": "candidate", "text": "hi"}]}'),
            "No persona with id 'nobody'",
        ),
    ],
    ids=["latin-1", "a-folder", "missing", "unknown-persona"],
)
def test_unusable_transcripts_are_clear_errors(tmp_path: Path, make, problem: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "transcript.json"
    make(path)
    result = run("grade", str(path))
    assert result.exit_code == 2 and problem in result.stderr


# Settings.


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'[painpoint]\nrequest_timeout = "soon"\n', "request_timeout: Input should be a valid number"),
        (b"[painpoint]\nmax_retries = 99\n", "max_retries: Input should be less than or equal to 10"),
        (b'[painpoint]\nvoice = "robot"\n', "voice: Input should be 'scripted', 'local' or 'openai'"),
        (b"[painpoint]\nrequest_timout = 5\n", "request_timout: unknown setting (check the spelling)"),
        (b"[painpoint]\nrequest_timeout = \n", "cannot read the settings file: Invalid value (at line 2"),
        (b'[painpoint]\nmodel = "caf\xe9"\n', "not UTF-8 text (bad byte at offset 24)"),
        (b'painpoint = "openai"\n', "expected a [painpoint] table of settings"),
    ],
    ids=["not-a-number", "out-of-range", "unknown-voice", "misspelt", "toml-syntax", "latin-1", "not-a-table"],
)
def test_a_bad_settings_file_names_the_file_and_the_setting(tmp_path: Path, content: bytes, problem: str) -> None:
    config = tmp_path / "painpoint.toml"
    config.write_bytes(content)
    result = run("chat", "--persona", TERESA, stdin="hello\n", env={"PAINPOINT_CONFIG": str(config)})
    assert result.exit_code == 2, result.output
    assert f"Error: {config}: " in result.stderr and problem in result.stderr


def test_a_bad_environment_value_names_the_variable() -> None:
    result = run("chat", "--persona", TERESA, stdin="hello\n", env={"PAINPOINT_REQUEST_TIMEOUT": "soon"})
    assert result.exit_code == 2
    assert "$PAINPOINT_REQUEST_TIMEOUT: request_timeout: Input should be a valid number" in result.stderr


# The real entry point, in its own process: what a user's terminal shows.


@pytest.mark.parametrize(
    ("args", "files", "problem"),
    [
        (["chat", "--persona", "nope"], {}, "No persona with id 'nope'"),
        (["personas", "validate", "{dir}/latin.yaml"], {"latin.yaml": b"id: caf\xe9\n"}, "not UTF-8 text"),
        (["grade", "{dir}/t.json"], {"t.json": b"this is not json"}, "not valid JSON at line 1"),
        (["chat", "--persona", TERESA], {"painpoint.toml": b"[painpoint]\nwindow_turns = -1\n"}, "window_turns"),
    ],
    ids=["unknown-persona", "latin-1-persona", "not-json-transcript", "bad-setting"],
)
def test_the_command_exits_2_without_a_traceback(
    tmp_path: Path, args: list[str], files: dict[str, bytes], problem: str
) -> None:
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    process = subprocess.run(
        [sys.executable, "-m", "painpoint.cli.main", *(a.format(dir=tmp_path) for a in args)],
        input=b"hello\n",
        capture_output=True,
        cwd=tmp_path,  # where a painpoint.toml is picked up
        timeout=60,
        check=False,
    )
    stderr = process.stderr.decode()
    assert process.returncode == 2, stderr
    assert problem in stderr and "Traceback" not in stderr
