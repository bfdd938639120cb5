"""Persona files: the shipped library is valid and well-formed; broken files get errors naming file and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from painpoint.cli.main import cli
from painpoint.errors import DataFileError
from painpoint.scenario.library import Library, load_library
from painpoint.scenario.loader import load_file
from painpoint.scenario.persona import Mode, PainKind, Persona

from .conftest import REPO

TERESA = REPO / "personas" / "teresa-lindqvist-payments.yaml"


def _broken(tmp_path: Path, edit, name: str = "broken.yaml") -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(TERESA.read_text())
    edit(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_library_has_eight_distinct_personas_with_two_sales_auditions(library: Library) -> None:
    personas = library.personas
    assert len(personas) >= 8
    assert sum(p.mode is Mode.SALES_AUDITION for p in personas) >= 2
    assert len({p.company.name for p in personas}) == len(personas)
    assert len({p.role for p in personas}) == len(personas)


def test_every_persona_mixes_kinds_and_marks_fluff(library: Library) -> None:
    for persona in library.personas:
        kinds = {p.kind for p in persona.pain_points}
        assert PainKind.PERSONAL in kinds and len(kinds) >= 2, persona.id
        assert len(persona.pain_points) >= 3, persona.id
        assert persona.fluff, persona.id
        for pain in persona.pain_points:
            assert 2 <= len(pain.levels) <= 3 and len(pain.probes) >= 3, (persona.id, pain.id)


def test_no_public_line_repeats_a_hidden_detail(library: Library) -> None:
    """A pain point's levels must not reappear verbatim in content that is always public."""
    for persona in library.personas:
        public = " ".join(
            [
                persona.context,
                persona.next_step,
                *persona.objections,
                *(item.text + " " + item.answer for item in persona.job_ad.items),
                *(line for lines in persona.lines.model_dump().values() for line in lines),
            ]
        ).lower()
        for pain in persona.pain_points:
            for level in pain.levels[1:]:
                assert level.lower() not in public, (persona.id, pain.id)


def test_file_names_match_ids() -> None:
    for path in (REPO / "personas").glob("*.yaml"):
        assert load_file(Persona, path).id == path.stem


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d.pop("role"), "role: required field is missing"),
        (lambda d: d.update(colour="blue"), "colour: unknown field"),
        (lambda d: d.update(mode="podcast"), "mode: Input should be 'interview' or 'sales_audition'"),
        (lambda d: d["pain_points"][1].pop("benefit"), "pain_points[1:unreconciled-settlement].benefit: required"),
        (lambda d: d["pain_points"][0].update(levels=["only one"]), "pain_points[0:dispute-ratio-pressure].levels"),
        (lambda d: d["lines"].update(refusals=["No."]), "lines.refusals"),
        (
            lambda d: d.update(pain_points=[p for p in d["pain_points"] if p["kind"] != "personal"]),
            "include at least one personal pain point",
        ),
        (lambda d: d["pain_points"][1].update(id=d["pain_points"][0]["id"]), "pain point ids must be unique"),
    ],
)
def test_broken_persona_names_file_and_field(tmp_path: Path, edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = _broken(tmp_path, edit)
    with pytest.raises(DataFileError) as info:
        load_file(Persona, path)
    message = str(info.value)
    assert str(path) in message
    assert expected in message


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nname: [unclosed\n")
    with pytest.raises(DataFileError, match=r"bad.yaml: not valid YAML at line \d+"):
        load_file(Persona, path)


def test_non_utf8_and_non_mapping_files_are_clear_errors(tmp_path: Path) -> None:
    binary = tmp_path / "latin.yaml"
    binary.write_bytes(b"id: caf\xe9\n")
    with pytest.raises(DataFileError, match="not UTF-8"):
        load_file(Persona, binary)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(DataFileError, match="expected a mapping"):
        load_file(Persona, listing)


def test_broken_file_in_library_is_skipped_not_fatal(tmp_path: Path) -> None:
    good = tmp_path / "teresa-lindqvist-payments.yaml"
    good.write_text(TERESA.read_text())
    _broken(tmp_path, lambda d: d.pop("mode"), "zz-broken.yaml")
    library = load_library(tmp_path)
    assert [p.id for p in library.personas] == ["teresa-lindqvist-payments"]
    assert len(library.errors) == 1 and "mode: required field is missing" in str(library.errors[0])


def test_cli_validate_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["personas", "validate"])
    assert ok.exit_code == 0, ok.output
    assert "8 valid, 0 invalid" in ok.output or " valid, 0 invalid" in ok.output
    broken = _broken(tmp_path, lambda d: d["pain_points"][2].update(kind="spiritual"))
    bad = runner.invoke(cli, ["personas", "validate", str(TERESA), str(broken)])
    assert bad.exit_code == 2
    assert str(broken) in bad.output and "pain_points[2:stretched-team].kind" in bad.output
    missing = runner.invoke(cli, ["personas", "validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "cannot read the file" in missing.output


def test_cli_list_and_schema() -> None:
    runner = CliRunner()
    listed = json.loads(runner.invoke(cli, ["personas", "list", "--json"]).output)
    assert {row["id"] for row in listed} >= {"teresa-lindqvist-payments", "renee-kowalczyk-surgical"}
    assert all("pain_points" not in row for row in listed)
    schema = json.loads(runner.invoke(cli, ["personas", "schema"]).output)
    assert schema["additionalProperties"] is False
    assert "pain_points" in schema["required"]
