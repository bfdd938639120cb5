"""The `painpoint` command: personas, chat, and (as they land) grading, the web app and the benchmark."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from painpoint.errors import DataFileError, PainpointError
from painpoint.scenario.library import load_library, resolve_persona
from painpoint.scenario.loader import load_file
from painpoint.scenario.persona import Connection, Difficulty, Persona

_DIFFICULTIES = [d.value for d in Difficulty]
_CONNECTIONS = [c.value for c in Connection]


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@click.group()
@click.version_option(package_name="painpoint")
def cli() -> None:
    """Rehearse a job interview as a sales call with a hiring manager who hides pain points."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@cli.group()
def personas() -> None:
    """List, validate and describe scenario files."""


@personas.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def personas_list(as_json: bool) -> None:
    """List the personas in the library."""
    library = load_library()
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "title": p.title,
            "company": p.company.name,
            "role": p.role,
            "mode": p.mode.value,
            "difficulty": p.difficulty.value,
            "connection": p.connection.value,
            "context": p.context,
        }
        for p in library.personas
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        for row in rows:
            click.echo(f"{row['id']:<34} {row['mode']:<15} {row['difficulty']:<7} {row['name']}, {row['title']}")
            click.echo(f"{'':<34} hiring: {row['role']}")
    for error in library.errors:
        click.echo(f"skipped {error}", err=True)


@personas.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def personas_validate(paths: tuple[Path, ...]) -> None:
    """Check persona files (the whole library when no PATH is given). Exit 0 when all are valid, 2 otherwise."""
    from painpoint.scenario.library import persona_files

    files = list(paths) or persona_files()
    if not files:
        _fail("no persona files found")
    bad = 0
    seen: dict[str, Path] = {}
    for path in files:
        try:
            persona = load_file(Persona, path)
        except DataFileError as exc:
            bad += 1
            click.echo(f"FAIL {exc}", err=True)
            continue
        if persona.id in seen:
            bad += 1
            click.echo(f"FAIL {path}: id: {persona.id!r} is already used by {seen[persona.id]}", err=True)
            continue
        seen[persona.id] = path
        click.echo(f"ok   {path} ({persona.id}: {len(persona.pain_points)} pain points)")
    click.echo(f"{len(files) - bad} valid, {bad} invalid")
    if bad:
        sys.exit(2)


@personas.command("schema")
def personas_schema() -> None:
    """Print the JSON Schema of a persona file, for editors."""
    click.echo(json.dumps(Persona.model_json_schema(), indent=2))


@cli.command()
@click.option("--persona", "persona_ref", help="A persona id from the library, or a path to a persona file.")
@click.option("--difficulty", type=click.Choice(_DIFFICULTIES), help="Default: the persona's.")
@click.option("--connection", type=click.Choice(_CONNECTIONS), help="Default: the persona's.")
@click.option("--voice", type=click.Choice(["scripted", "local", "openai"]), help="Default: scripted (offline).")
@click.option("--model", help="Model name for the openai voice.")
@click.option("--model-path", type=click.Path(path_type=Path), help="A GGUF chat model for the local voice.")
@click.option("--analyzer", type=click.Choice(["offline", "llm"]), help="Default: offline.")
@click.option("--seed", type=int, default=0, show_default=True, help="Varies the manager's line choice.")
@click.option("--json", "as_json", is_flag=True, help="Print the transcript as JSON at the end.")
def chat(
    persona_ref: str | None,
    difficulty: str | None,
    connection: str | None,
    voice: str | None,
    model: str | None,
    model_path: Path | None,
    analyzer: str | None,
    seed: int,
    as_json: bool,
) -> None:
    """Hold an interview in the terminal. Piped input is read as one candidate message per line."""
    from painpoint.conversation.session import build_interview

    interactive = sys.stdin.isatty()
    try:
        if persona_ref is None:
            if not interactive:
                _fail("--persona is required when input is piped (see `painpoint personas list`)")
            persona_ref = _pick_persona()
        persona = resolve_persona(persona_ref)
        interview = build_interview(
            persona,
            overrides={"voice": voice, "model": model, "model_path": model_path, "analyzer": analyzer},
            difficulty=Difficulty(difficulty) if difficulty else None,
            connection=Connection(connection) if connection else None,
            seed=seed,
        )
    except PainpointError as exc:
        _fail(str(exc))
        return
    out = sys.stderr if as_json else sys.stdout

    def say(who: str, text: str) -> None:
        click.echo(f"{who}: {text}", file=out)

    if interactive and not as_json:
        click.echo(
            f"{persona.name}, {persona.title}, {persona.company.name}. You are interviewing for: {persona.role}."
        )
        click.echo(f"{persona.context}\nType your lines; an empty line or Ctrl-D ends the interview.\n")
    try:
        opening = interview.open()
    except PainpointError as exc:
        _fail(str(exc))
        return
    say(persona.name, opening.text)
    failures = 0
    for message in _messages(interactive):
        if interactive and not message.strip():
            break
        if not message.strip():
            continue
        try:
            reply = interview.respond(message)
        except PainpointError as exc:
            failures += 1
            click.echo(f"[not sent] {exc}", err=True)
            if interactive:
                click.echo("Your message was kept; press Enter on an empty line to quit or type it again.", err=True)
            continue
        if not interactive:
            # What was recorded, control characters removed: the raw line could drive the terminal.
            say("You", interview.transcript.turns[-2].text)
        say(persona.name, reply.text)
        if interview.ended and interactive:
            click.echo("(The manager has agreed to a next step. Press Enter to finish.)")
    if as_json:
        click.echo(interview.transcript.model_dump_json(indent=2, exclude_none=True))
    if failures and not interactive:
        sys.exit(1)


@cli.command()
@click.argument("transcript_path", metavar="TRANSCRIPT.json", type=click.Path(path_type=Path))
@click.option("--persona", "persona_ref", help="Persona id or file (default: the transcript's persona).")
@click.option("--json", "as_json", is_flag=True, help="Print the scorecard as JSON.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the debrief as Markdown (the default).")
@click.option("--judge/--no-judge", default=None, help="Add the LLM judge (needs an OpenAI-compatible endpoint).")
def grade(transcript_path: Path, persona_ref: str | None, as_json: bool, as_markdown: bool, judge: bool | None) -> None:
    """Score a transcript: discovery, customer focus and the close, with evidence and a debrief."""
    from painpoint.conversation.session import build_grader
    from painpoint.grading.debrief import render_debrief
    from painpoint.grading.grader import load_transcript
    from painpoint.settings import load_settings

    if as_json and as_markdown:
        _fail("choose one of --json and --markdown")
    try:
        transcript = load_transcript(transcript_path)
        persona = resolve_persona(persona_ref or transcript.persona)
        if persona_ref and transcript.persona != persona.id:
            transcript = transcript.model_copy(update={"persona": persona.id})
        scorecard = build_grader(load_settings({"judge": judge})).grade(persona, transcript)
    except PainpointError as exc:
        _fail(str(exc))
        return
    for reason in dict.fromkeys(u.reason for u in scorecard.unscored):
        ids = ", ".join(u.id for u in scorecard.unscored if u.reason == reason)
        click.echo(f"Note: not scored by the judge ({ids}): {reason}", err=True)
    if as_json:
        click.echo(scorecard.model_dump_json(indent=2))
    else:
        click.echo(render_debrief(scorecard, persona, transcript))


@cli.command()
@click.option("--persona", "persona_ref", required=True, help="Persona id or file.")
@click.option("--candidate", type=click.Choice(["strong", "average", "weak"]), required=True)
@click.option("--difficulty", type=click.Choice(_DIFFICULTIES), help="Default: the persona's.")
@click.option("--json", "as_json", is_flag=True, help="Print the transcript and its scorecard as JSON.")
def simulate(persona_ref: str, candidate: str, difficulty: str | None, as_json: bool) -> None:
    """Self-play: a scripted candidate interviews with the manager, then the grader scores it."""
    from painpoint.conversation.session import build_grader, build_interview
    from painpoint.conversation.simulate import Level
    from painpoint.conversation.simulate import simulate as play
    from painpoint.settings import load_settings

    try:
        persona = resolve_persona(persona_ref)
        settings = load_settings({"voice": "scripted"})
        interview = build_interview(
            persona, settings=settings, difficulty=Difficulty(difficulty) if difficulty else None
        )
        transcript = play(interview, Level(candidate))
        scorecard = build_grader(settings).grade(persona, transcript)
    except PainpointError as exc:
        _fail(str(exc))
        return
    if as_json:
        click.echo(
            json.dumps(
                {
                    "transcript": transcript.model_dump(mode="json", exclude_none=True),
                    "scorecard": scorecard.model_dump(mode="json"),
                },
                indent=2,
            )
        )
        return
    for turn in transcript.turns:
        who = persona.name if turn.speaker == "manager" else "Candidate"
        click.echo(f"{who}: {turn.text}")
    dims = ", ".join(f"{d.value} {v:.0f}" for d, v in scorecard.dimensions.items())
    click.echo(f"\nOverall {scorecard.overall:.0f}/100 ({dims})")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Start the web app (Chainlit) in the browser-facing foreground process."""
    from painpoint.web.serve import serve_command

    try:
        command, environment = serve_command(host, port)
    except PainpointError as exc:
        _fail(str(exc))
        return
    click.echo(f"painpoint is starting on http://{host}:{port} (Ctrl-C stops it)", err=True)
    os.execve(command[0], command, environment)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--quick", is_flag=True, help="Skip the model measurements.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(0), help="Interviews at once.")
@click.option("--load", default=0, type=click.IntRange(0), help="Also drive the web app with N interviews at once.")
def bench(as_json: bool, quick: bool, concurrency: int, load: int) -> None:
    """Measure speed, memory and quality on this machine, each figure with its unit."""
    from painpoint.cli.bench import format_report, run_bench

    report = run_bench(quick=quick, concurrency=concurrency, load=load)
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else format_report(report))


def _messages(interactive: bool) -> Any:
    if interactive:
        while True:
            try:
                yield input("You: ")
            except EOFError:
                return
    else:
        for line in sys.stdin:
            yield line.rstrip("\n")


def _pick_persona() -> str:
    library = load_library()
    for number, persona in enumerate(library.personas, 1):
        click.echo(f"{number:>2}. {persona.name}, {persona.title} at {persona.company.name}: {persona.role}")
    choice = click.prompt("Pick a scenario", type=click.IntRange(1, len(library.personas)))
    return library.personas[choice - 1].id


def _register_account_commands() -> None:
    from painpoint.cli.accounts import export, personas_add, users

    cli.add_command(users)
    cli.add_command(export)
    personas.add_command(personas_add)


_register_account_commands()


def main() -> None:
    """Entry point."""
    cli()


if __name__ == "__main__":
    main()
