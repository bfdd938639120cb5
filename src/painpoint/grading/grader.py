"""The grader: a separate chain from the manager. Measurements, then (optionally) a judge, then computed totals."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from painpoint.conversation.analysis import Analyzer
from painpoint.conversation.rules import EngineRules, load_rules
from painpoint.conversation.transcript import Transcript
from painpoint.errors import DataFileError
from painpoint.grading.judge import Judge
from painpoint.grading.measure import Measured, Measurer
from painpoint.grading.scorecard import Rubric, Scorecard, compute_totals, load_rubric
from painpoint.scenario.loader import format_validation_error
from painpoint.scenario.persona import Persona


def load_transcript(path: Path) -> Transcript:
    """Read a transcript JSON file.

    Raises:
        DataFileError: naming the file and what is wrong (not JSON, wrong shape, no candidate turns).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataFileError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise DataFileError(str(path), ["not UTF-8 text"]) from None
    except json.JSONDecodeError as exc:
        raise DataFileError(
            str(path), [f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]
        ) from None
    return parse_transcript(data, str(path))


def parse_transcript(data: object, source: str) -> Transcript:
    """Validate transcript data (from a file, the app or a test)."""
    if not isinstance(data, dict):
        raise DataFileError(source, ["(top level): expected a JSON object with `persona` and `turns`"])
    try:
        transcript = Transcript.model_validate(data)
    except ValidationError as exc:
        raise DataFileError(source, format_validation_error(exc, data)) from None
    if not transcript.turns:
        raise DataFileError(source, ["turns: the transcript has no turns"])
    if not any(t.speaker == "candidate" and t.text.strip() for t in transcript.turns):
        raise DataFileError(source, ["turns: the candidate never spoke, so there is nothing to grade"])
    return transcript


class Grader:
    """Scores one transcript against its persona."""

    def __init__(
        self,
        analyzer: Analyzer,
        judge: Judge | None = None,
        rubric: Rubric | None = None,
        rules: EngineRules | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.judge = judge
        self.rubric = rubric or load_rubric()
        self.rules = rules or load_rules()

    def measure(self, persona: Persona, transcript: Transcript) -> Measured:
        """Layer one alone."""
        return Measurer(persona, self.rubric, self.rules, self.analyzer).measure(transcript)

    def grade(self, persona: Persona, transcript: Transcript) -> Scorecard:
        """The scorecard: measured criteria, judged ones when a judge is configured, and computed totals."""
        if transcript.persona != persona.id:
            raise DataFileError(
                "transcript", [f"persona: the transcript is for {transcript.persona!r}, not {persona.id!r}"]
            )
        measured = self.measure(persona, transcript)
        criteria = list(measured.criteria)
        unscored = []
        if self.judge is not None:
            redact = {t.index for t in measured.candidate_turns if t.analysis.manipulation}
            judged = self.judge.judge(persona, transcript, self.rubric, redact)
            criteria += judged.criteria
            unscored = judged.unscored
        overall, dimensions = compute_totals(criteria, self.rubric)
        return Scorecard(
            persona=persona.id,
            mode=persona.mode.value,
            overall=overall,
            dimensions=dimensions,
            criteria=criteria,
            pain_points=measured.pain_points,
            unscored=unscored,
            not_applicable=measured.not_applicable,
            judge=self.judge.name if self.judge else None,
        )
