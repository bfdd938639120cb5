"""Coaching from the interview's state.

Progress without spoilers, and hints that say what kind of question to try next, never the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from painpoint.conversation.analysis import Act, Form
from painpoint.conversation.engine import InterviewState, Phase
from painpoint.conversation.transcript import Transcript
from painpoint.scenario.persona import PainKind, Persona


@dataclass(frozen=True)
class Progress:
    """What a candidate may see mid-interview: counts, never which pain point."""

    turns: int
    found: int
    total: int
    trust: float
    phase: str

    def render(self, show_trust: bool) -> str:
        """One Markdown block."""
        lines = [
            f"**Turn** {self.turns}",
            f"**Pain points found:** {self.found} of {self.total}",
        ]
        if show_trust:
            filled = round(self.trust * 10)
            lines.append(f"**Trust:** `{'█' * filled}{'░' * (10 - filled)}` {self.trust:.0%}")
        if self.phase == Phase.ENDED.value:
            lines.append("**The manager has agreed to a next step.** Press *End & grade* for your debrief.")
        return "  \n".join(lines)


def progress(persona: Persona, state: InterviewState) -> Progress:
    """Progress of an interview in progress."""
    return Progress(
        turns=state.turn,
        found=len(state.uncovered()),
        total=len(persona.pain_points),
        trust=state.trust,
        phase=state.phase.value,
    )


def hint(persona: Persona, state: InterviewState, transcript: Transcript) -> str:
    """A coaching whisper: the kind of move to try next. It never names or describes a hidden pain point."""
    candidate = [t for t in transcript.turns if t.speaker == "candidate"]
    analyses = [t.analysis for t in candidate if t.analysis is not None]
    questions = [a for a in analyses if a.act is Act.QUESTION]
    found = state.uncovered()
    deep = state.uncovered(min_level=2)
    personal = [p.id for p in persona.pain_points if p.kind is PainKind.PERSONAL]
    if state.phase is Phase.ENDED:
        return "You have your next step. Press End & grade to see what you uncovered and what you missed."
    if not questions:
        return (
            "Start with their world, not your résumé: ask an open question about what is hard for them right now "
            "(what, how, why), then listen."
        )
    if analyses and analyses[-1].past_employer and analyses[-1].act is Act.STATEMENT:
        return "Bring it back to them: one sentence about your past is enough. Ask about their team or their week."
    if state.trust < 0.25 and len(candidate) <= 4:
        return "They are guarded. Build a little rapport, and ask open questions about their world before digging."
    if questions and questions[-1].form is not Form.OPEN:
        return "That was a yes/no question. Try an open one: start with what, how or why."
    if state.last_topic and state.levels.get(state.last_topic, 0) < 3:
        return "They just told you something. Follow up on it: ask what is behind it, or what happens if it stays."
    if found and not any(p in found for p in personal) and len(found) >= 2:
        return (
            "You have heard the company's problems. What is in it for them personally? Ask how this hire would "
            "change their own week, goals or next step."
        )
    if len(deep) >= 2 and not any(a.next_step_ask for a in analyses):
        return (
            "You have heard enough to close: sum up what they told you in their words, say how you would solve it, "
            "and ask directly for the next step."
        )
    if found and not deep:
        return "Pick one thing they hinted at and go deeper: ask for an example, or what it costs them."
    return "Ask about what they need, not about the job ad: what would make this hire a clear win for them?"
