"""The labeled candidate utterances, and how well an analyzer reads them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pydantic import Field

from painpoint.conversation.analysis import Act, Analyzer, Form
from painpoint.resources import data_dir
from painpoint.scenario.library import Library
from painpoint.scenario.loader import load_file
from painpoint.scenario.persona import Line, Slug, Strict


class UtteranceKind(StrEnum):
    """What an utterance is doing, for reporting accuracy per kind."""

    DISCOVERY = "discovery"
    TIE_IN = "tie_in"
    GENERIC_NEEDS = "generic_needs"
    SMALL_TALK = "small_talk"
    ABOUT_SELF = "about_self"
    FLUFF = "fluff"
    ROLE = "role"
    NEXT_STEP = "next_step"
    MANIPULATION = "manipulation"


class Utterance(Strict):
    """One labeled candidate line."""

    text: Line
    pain_point: Slug | None = Field(description="The pain point it goes after, or null for none.")
    form: str = Field(pattern="^(open|closed|statement)$")
    kind: UtteranceKind


class UtteranceSet(Strict):
    """The labeled utterances of one persona."""

    persona: Slug
    utterances: list[Utterance] = Field(min_length=1)


def load_utterance_sets(folder: Path | None = None) -> list[UtteranceSet]:
    """Every labeled set in `evals/utterances/`."""
    folder = folder or data_dir("evals") / "utterances"
    return [load_file(UtteranceSet, path) for path in sorted(folder.glob("*.yaml"))]


@dataclass
class AnalyzerReport:
    """Accuracy of an analyzer on the labeled utterances."""

    total: int = 0
    targeting_correct: int = 0
    form_correct: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_kind_correct: Counter[str] = field(default_factory=Counter)
    misses: list[tuple[str, str, str | None, list[str]]] = field(default_factory=list)
    """(persona, text, expected, got) for each targeting miss."""

    @property
    def targeting_accuracy(self) -> float:
        """Share of utterances whose pain point (or none) was read right."""
        return self.targeting_correct / self.total if self.total else 0.0

    @property
    def form_accuracy(self) -> float:
        """Share of utterances whose form (open, closed, statement) was read right."""
        return self.form_correct / self.total if self.total else 0.0


def evaluate_analyzer(analyzer: Analyzer, library: Library, sets: list[UtteranceSet]) -> AnalyzerReport:
    """Run the analyzer over every labeled utterance.

    Targeting counts as right when the analyzer's best target is the labeled pain point, or when both are none.
    """
    report = AnalyzerReport()
    for labeled in sets:
        persona = library.get(labeled.persona)
        for utterance in labeled.utterances:
            analysis = analyzer.analyze(persona, utterance.text)
            got = analysis.targets[:1]
            expected = [utterance.pain_point] if utterance.pain_point else []
            report.total += 1
            report.by_kind[utterance.kind] += 1
            if got == expected:
                report.targeting_correct += 1
                report.by_kind_correct[utterance.kind] += 1
            else:
                report.misses.append((persona.id, utterance.text, utterance.pain_point, analysis.targets))
            form = "statement" if analysis.act is Act.STATEMENT else analysis.form.value
            if analysis.act is Act.QUESTION and analysis.form is Form.NONE:
                form = "closed"
            report.form_correct += form == utterance.form
    return report
