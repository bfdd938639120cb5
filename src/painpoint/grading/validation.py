"""Does the score mean anything? Labeled transcripts, graded: ordering accuracy and band agreement."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from painpoint.conversation.transcript import Transcript
from painpoint.grading.grader import Grader, parse_transcript
from painpoint.grading.scorecard import Dimension, Scorecard
from painpoint.resources import data_dir
from painpoint.scenario.library import Library

LevelName = Literal["strong", "average", "weak"]
_RANK = {"weak": 0, "average": 1, "strong": 2}


class Band(BaseModel):
    """An expected score range, inclusive."""

    model_config = ConfigDict(extra="forbid")

    low: float = Field(ge=0, le=100)
    high: float = Field(ge=0, le=100)

    def holds(self, value: float) -> bool:
        """True when the value is in the band."""
        return self.low <= value <= self.high


# What each label means, as a score band.
BANDS: dict[str, Band] = {
    "strong": Band(low=55, high=100),
    "average": Band(low=20, high=75),
    "weak": Band(low=0, high=40),
}


class Labels(BaseModel):
    """A human's judgement of a transcript, per dimension, plus any band of its own."""

    model_config = ConfigDict(extra="forbid")

    discovery: LevelName
    customer_focus: LevelName
    close: LevelName
    overall_max: float | None = Field(default=None, description="Adversarial: the overall must not exceed this.")
    not_above: str | None = Field(
        default=None, description="Adversarial: must score no higher overall than this other transcript."
    )

    def level(self, dimension: Dimension) -> str:
        """The label for a dimension."""
        return str(getattr(self, dimension.value))


@dataclass
class LabeledTranscript:
    """One validation transcript."""

    name: str
    labels: Labels
    transcript: Transcript


@dataclass
class ValidationReport:
    """How the grader's scores line up with the labels."""

    pairs: int = 0
    ordered: int = 0
    band_checks: int = 0
    band_hits: int = 0
    adversarial: int = 0
    adversarial_passed: int = 0
    failures: list[str] = field(default_factory=list)
    scores: dict[str, Scorecard] = field(default_factory=dict)

    @property
    def ordering_accuracy(self) -> float:
        """Share of same-persona pairs, per dimension, where the better-labeled one scored higher."""
        return self.ordered / self.pairs if self.pairs else 0.0

    @property
    def band_agreement(self) -> float:
        """Share of dimension scores inside their label's band."""
        return self.band_hits / self.band_checks if self.band_checks else 0.0


def load_validation_set(folder: Path | None = None) -> list[LabeledTranscript]:
    """Every labeled transcript in `evals/transcripts/`."""
    folder = folder or data_dir("evals") / "transcripts"
    out = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        labels = Labels.model_validate(data.pop("labels"))
        data.pop("note", None)
        out.append(LabeledTranscript(path.stem, labels, parse_transcript(data, str(path))))
    return out


def validate_grader(grader: Grader, library: Library, items: list[LabeledTranscript]) -> ValidationReport:
    """Grade every labeled transcript and compare with the labels."""
    report = ValidationReport()
    for item in items:
        report.scores[item.name] = grader.grade(library.get(item.transcript.persona), item.transcript)
    regular = [i for i in items if i.labels.overall_max is None and i.labels.not_above is None]
    for item in regular:
        card = report.scores[item.name]
        for dimension in Dimension:
            report.band_checks += 1
            if BANDS[item.labels.level(dimension)].holds(card.dimensions[dimension]):
                report.band_hits += 1
            else:
                report.failures.append(
                    f"band: {item.name} {dimension.value} = {card.dimensions[dimension]} "
                    f"(labeled {item.labels.level(dimension)})"
                )
    for a, b in itertools.combinations(regular, 2):
        if a.transcript.persona != b.transcript.persona:
            continue
        for dimension in Dimension:
            ra, rb = _RANK[a.labels.level(dimension)], _RANK[b.labels.level(dimension)]
            if ra == rb:
                continue
            better, worse = (a, b) if ra > rb else (b, a)
            report.pairs += 1
            sb, sw = report.scores[better.name].dimensions[dimension], report.scores[worse.name].dimensions[dimension]
            if sb > sw:
                report.ordered += 1
            else:
                report.failures.append(f"order: {better.name} {sb} <= {worse.name} {sw} on {dimension.value}")
    for item in items:
        if item in regular:
            continue
        report.adversarial += 1
        overall = report.scores[item.name].overall
        ok = True
        if item.labels.overall_max is not None and overall > item.labels.overall_max:
            ok = False
            report.failures.append(f"adversarial: {item.name} overall {overall} > {item.labels.overall_max}")
        if item.labels.not_above is not None:
            reference = report.scores[item.labels.not_above].overall
            if overall > reference:
                ok = False
                report.failures.append(f"adversarial: {item.name} {overall} > {item.labels.not_above} {reference}")
        report.adversarial_passed += ok
    return report
