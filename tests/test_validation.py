"""Does the score mean anything? The labeled validation set, graded offline."""

from __future__ import annotations

import json

import pytest
import yaml

from painpoint.conversation.analyzer import OfflineAnalyzer
from painpoint.conversation.session import build_interview
from painpoint.grading.grader import Grader
from painpoint.grading.validation import ValidationReport, load_validation_set, validate_grader
from painpoint.scenario.library import Library
from painpoint.scenario.persona import Mode
from painpoint.settings import Settings

from .conftest import REPO


@pytest.fixture(scope="module")
def report(library: Library, analyzer: OfflineAnalyzer) -> ValidationReport:
    return validate_grader(Grader(analyzer), library, load_validation_set())


def test_the_set_covers_personas_modes_and_adversaries(library: Library) -> None:
    items = load_validation_set()
    assert len(items) >= 24
    personas = {i.transcript.persona for i in items}
    assert len(personas) >= 6
    modes = {library.get(p).mode for p in personas}
    assert modes == {Mode.INTERVIEW, Mode.SALES_AUDITION}
    assert sum(i.labels.overall_max is not None or i.labels.not_above is not None for i in items) >= 4
    for level in ("strong", "average", "weak"):
        assert sum(i.labels.discovery == level for i in items) >= 5


def test_offline_grader_meets_the_targets(report: ValidationReport) -> None:
    assert report.pairs >= 40
    assert report.ordering_accuracy >= 0.95, report.failures
    assert report.band_agreement >= 0.80, report.failures
    assert report.adversarial_passed == report.adversarial, report.failures


def test_stored_transcripts_match_the_current_engine(library: Library) -> None:
    """The transcripts are generated from evals/scripts/: regenerate them when the engine or personas change."""
    for path in sorted((REPO / "evals" / "scripts").glob("*.yaml")):
        script = yaml.safe_load(path.read_text())
        stored = json.loads((REPO / "evals" / "transcripts" / f"{path.stem}.json").read_text())
        interview = build_interview(library.get(script["persona"]), settings=Settings())
        interview.open()
        for line in script["candidate"]:
            interview.respond(line)
        replayed = [t.text for t in interview.transcript.turns]
        assert replayed == [t["text"] for t in stored["turns"]], (
            f"{path.stem}: stale; run .venv/bin/python scripts/build_validation_set.py"
        )


def test_labels_are_honoured_by_dimension(report: ValidationReport) -> None:
    strong = [c for name, c in report.scores.items() if name.endswith("-strong")]
    weak = [c for name, c in report.scores.items() if name.endswith("-weak")]
    assert min(c.overall for c in strong) > max(c.overall for c in weak) + 30
