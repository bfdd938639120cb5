"""The debrief: the scores, what was hidden, what came out, and what to do next time. Markdown."""

from __future__ import annotations

from painpoint.conversation.transcript import Transcript
from painpoint.grading.scorecard import CriterionScore, Dimension, Scorecard
from painpoint.scenario.persona import Persona

_DIMENSION_TITLES = {
    Dimension.DISCOVERY: "Discovery",
    Dimension.CUSTOMER_FOCUS: "Customer focus",
    Dimension.CLOSE: "The close",
}
_KIND = {"business": "business", "team": "team", "personal": "personal: the manager's own stake"}


def _quote(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: text.rfind(" ", 0, limit)] + "…"


def _bar(score: float) -> str:
    filled = round(score / 10)
    return "█" * filled + "░" * (10 - filled)


def best_and_weakest(scorecard: Scorecard, transcript: Transcript) -> tuple[int | None, int | None]:
    """Turn indexes of the candidate's best and weakest moments."""
    candidate = {i for i, t in enumerate(transcript.turns) if t.speaker == "candidate"}
    best = None
    for pain in sorted(scorecard.pain_points, key=lambda p: -p.depth):
        if pain.turn is not None and pain.turn - 1 in candidate:
            best = pain.turn - 1
            break
    for cid in ("needs_benefit_summary", "tied_to_needs"):
        for criterion in scorecard.criteria:
            if criterion.id == cid and criterion.score >= 3 and criterion.evidence:
                best = criterion.evidence[0].turn
    weakest = None
    weak_order = ("fluff_avoided", "past_employers_brief", "open_questions", "you_over_i")
    for cid in weak_order:
        for criterion in scorecard.criteria:
            if criterion.id == cid and criterion.score <= 2 and criterion.evidence:
                weakest = criterion.evidence[0].turn
                break
        if weakest is not None:
            break
    if weakest is None and candidate:
        shortest = min(candidate, key=lambda i: len(transcript.turns[i].text))
        weakest = shortest if shortest != best else None
    return best, weakest


def next_time(scorecard: Scorecard) -> list[CriterionScore]:
    """The three criteria with the most room to grow (by weighted gap), each with a better line."""
    gaps = sorted(
        (c for c in scorecard.criteria if c.score < c.max and c.better_line),
        key=lambda c: (c.score / c.max, c.id),
    )
    return gaps[:3]


def render_debrief(scorecard: Scorecard, persona: Persona, transcript: Transcript) -> str:
    """The whole debrief as Markdown."""
    lines = [
        f"# Debrief: {persona.name}, {persona.title} at {persona.company.name}",
        "",
        f"Role: {persona.role} · mode: {persona.mode.value.replace('_', ' ')} · "
        f"{sum(t.speaker == 'candidate' for t in transcript.turns)} candidate turns",
        "",
        f"## Overall: {scorecard.overall:.0f} / 100",
        "",
        "| dimension | score | |",
        "|---|---:|---|",
    ]
    for dimension in Dimension:
        score = scorecard.dimensions[dimension]
        lines.append(f"| {_DIMENSION_TITLES[dimension]} | {score:.0f} | `{_bar(score)}` |")
    if scorecard.judge is None:
        lines += ["", "_Scored offline from the transcript (no judge model configured)._"]
    lines += ["", "## What the manager was hiding", ""]
    for pain in scorecard.pain_points:
        source = persona.pain_point(pain.id)
        if pain.uncovered:
            status = f"**found**, {pain.depth} of {pain.max_depth} levels" + (
                f" (turn {pain.turn})" if pain.turn is not None else ""
            )
        else:
            status = "**missed**"
        lines.append(f"- {source.summary} _({_KIND.get(pain.kind, pain.kind)})_: {status}.")
        if pain.depth < pain.max_depth:
            lines.append(f'  - A question that would have opened it: "{source.probes[0]}"')
        lines.append(f"  - What solving it means to {persona.name.split(',')[0]}: {source.benefit}")
    chased = [e for c in scorecard.criteria if c.id == "fluff_avoided" for e in c.evidence]
    lines += ["", "## Job-ad fluff", ""]
    fluff_text = ", ".join(f'"{ad.text}"' for ad in persona.fluff)
    if chased:
        lines.append(f"The ad's fluff ({fluff_text}) is not what this manager cares about. You spent time on it:")
        lines += [f'- turn {e.turn}: "{_quote(e.quote)}"' for e in chased]
    else:
        lines.append(f"You did not chase the ad's fluff ({fluff_text}). Good.")
    best, weakest = best_and_weakest(scorecard, transcript)
    lines += ["", "## Best and weakest moments", ""]
    if best is not None:
        lines.append(f'- Best (turn {best}): "{_quote(transcript.turns[best].text)}"')
    if weakest is not None:
        lines.append(f'- Weakest (turn {weakest}): "{_quote(transcript.turns[weakest].text)}"')
    lines += ["", "## Criteria", "", "| criterion | score | why | evidence |", "|---|---:|---|---|"]
    for criterion in scorecard.criteria:
        evidence = "; ".join(f'turn {e.turn}: "{_quote(e.quote, 90)}"' for e in criterion.evidence[:2]) or "—"
        by = " (judge)" if criterion.source.value == "judge" else ""
        lines.append(f"| {criterion.title}{by} | {criterion.score}/{criterion.max} | {criterion.reason} | {evidence} |")
    for missing in scorecard.unscored:
        lines.append(f"| {missing.id} (judge) | unscored | {missing.reason} | — |")
    lines += ["", "## Three things to do next time", ""]
    for number, criterion in enumerate(next_time(scorecard), 1):
        lines.append(f"{number}. **{criterion.title}.** {criterion.reason} Try: {criterion.better_line}")
    return "\n".join(lines) + "\n"
