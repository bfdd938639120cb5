"""The interview engine: pure rules over typed state. It decides what the manager may say; it never calls a model.

The :class:`TurnPlan` it returns is the security boundary of painpoint. A plan carries only public persona
content, lines already revealed and the one authored line allowed this turn, so no voice (scripted or LLM)
ever holds a pain point that the candidate has not unlocked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from painpoint.conversation.analysis import Act, Focus, Form, TurnAnalysis
from painpoint.conversation.rules import EngineRules
from painpoint.scenario.persona import Connection, Difficulty, PainKind, Persona
from painpoint.text import content_stems


class Phase(StrEnum):
    """Where the interview is."""

    OPENING = "opening"
    DISCOVERY = "discovery"
    CLOSE = "close"
    ENDED = "ended"


class Intent(StrEnum):
    """What the manager does this turn; each maps to a category of authored lines."""

    GREET = "greet"
    SMALL_TALK = "small_talk"
    REVEAL = "reveal"
    ROLE = "role"
    AD_ITEM = "ad_item"
    DEFLECT = "deflect"
    GUARDED = "guarded"
    FOLLOW_UP = "follow_up"
    REDIRECT = "redirect"
    ACKNOWLEDGE = "acknowledge"
    NOTHING_MORE = "nothing_more"
    REFUSE = "refuse"
    CLOSE_ACCEPT = "close_accept"
    CLOSE_HESITANT = "close_hesitant"
    WRAP_UP = "wrap_up"


# Intent -> the persona's line category used for it (reveals and ad items come from elsewhere).
_CATEGORY = {
    Intent.GREET: "opening",
    Intent.SMALL_TALK: "small_talk",
    Intent.ROLE: "role_overview",
    Intent.DEFLECT: "deflections",
    Intent.GUARDED: "guarded",
    Intent.FOLLOW_UP: "follow_up_requests",
    Intent.REDIRECT: "redirects",
    Intent.ACKNOWLEDGE: "acknowledgements",
    Intent.NOTHING_MORE: "nothing_more",
    Intent.REFUSE: "refusals",
    Intent.CLOSE_ACCEPT: "close_accept",
    Intent.CLOSE_HESITANT: "close_hesitant",
    Intent.WRAP_UP: "wrap_up",
}
# When a category runs dry, the manager borrows from these neutral ones rather than repeat itself...
_NEUTRAL = ("deflections", "acknowledgements", "follow_up_requests", "role_overview")
# ...except where only a line of the category itself makes sense.
_BORROWS = {
    "small_talk",
    "deflections",
    "guarded",
    "follow_up_requests",
    "redirects",
    "acknowledgements",
    "nothing_more",
}


class Reveal(BaseModel):
    """A pain point reaching a new level this turn."""

    model_config = ConfigDict(frozen=True)

    pain_point: str
    level: int = Field(ge=1, le=3)


class InterviewState(BaseModel):
    """Everything the engine knows about one interview in progress. Pure data, serialisable."""

    turn: int = Field(default=0, ge=0, description="Candidate turns so far.")
    trust: float = Field(ge=0, le=1)
    levels: dict[str, int] = Field(description="Revealed level of each pain point (0 = still hidden).")
    phase: Phase = Phase.OPENING
    used_lines: list[str] = Field(default_factory=list, description="Keys of lines already spoken.")
    last_topic: str | None = Field(default=None, description="The pain point the manager spoke about last.")
    small_talk_turns: int = 0
    close_asks: int = 0

    def uncovered(self, min_level: int = 1) -> list[str]:
        """Ids of pain points revealed to at least `min_level`."""
        return [pid for pid, level in self.levels.items() if level >= min_level]


class TurnPlan(BaseModel):
    """What the manager may say this turn: the only input a voice gets besides the public persona."""

    model_config = ConfigDict(frozen=True)

    intent: Intent
    lines: list[str] = Field(min_length=1, description="The authored line(s) for this turn: the scripted reply.")
    line_keys: list[str] = Field(description="Stable keys of those lines, to avoid repeats.")
    reveal: Reveal | None = None
    revealed: list[str] = Field(
        default_factory=list, description="Every line revealed so far, this turn's included: facts the voice may use."
    )
    note: str = Field(default="", description="Why the engine chose this, for the transcript.")

    @property
    def text(self) -> str:
        """The authored reply, as the scripted voice says it."""
        return " ".join(self.lines)


@dataclass
class _Decision:
    intent: Intent
    note: str
    reveal: Reveal | None = None
    trust_delta: float = 0.0
    ad_item: str | None = None
    topic: str | None = None

    def __post_init__(self) -> None:
        if self.reveal is not None:
            self.topic = self.reveal.pain_point


class Step(BaseModel):
    """The result of one engine step."""

    plan: TurnPlan
    state: InterviewState
    trust_delta: float


class Engine:
    """Applies the rules to one persona at one difficulty."""

    def __init__(
        self, persona: Persona, rules: EngineRules, difficulty: Difficulty | None = None, seed: int = 0
    ) -> None:
        self.persona = persona
        self.rules = rules
        self.difficulty = difficulty or persona.difficulty
        self.level_rules = rules.difficulties[self.difficulty]
        self.seed = seed

    def start(self, connection: Connection | None = None) -> tuple[InterviewState, TurnPlan]:
        """A fresh interview state and the manager's opening line."""
        state = InterviewState(
            trust=self.rules.starting_trust(connection or self.persona.connection, self.difficulty),
            levels={p.id: 0 for p in self.persona.pain_points},
        )
        return state, self._plan(state, _Decision(Intent.GREET, "interview opens"))

    def step(self, state: InterviewState, analysis: TurnAnalysis, message: str = "") -> Step:
        """Decide the manager's reply to one analysed candidate turn; returns the plan and the new state.

        Args:
            state: The state before the turn (left unchanged).
            analysis: How the candidate's turn was read.
            message: What the candidate said: among unused lines of a category, the one that shares the most
                words with it is chosen, so "how was your weekend?" gets the line about the weekend.
        """
        changes = self.rules.trust_changes
        new = state.model_copy(deep=True)
        new.turn += 1
        followed_up = state.last_topic is not None and state.last_topic in analysis.targets
        if new.phase is Phase.OPENING and not analysis.small_talk:
            new.phase = Phase.DISCOVERY

        delta = 0.0
        if analysis.is_open_question and analysis.focus is Focus.MANAGER:
            delta += changes.needs_question
        if followed_up and analysis.act is Act.QUESTION:
            delta += changes.follow_up
        monologue = analysis.past_employer and analysis.act is Act.STATEMENT and analysis.words >= 60
        if monologue:
            delta += changes.past_employer_monologue

        decision = self._decide(new, analysis, followed_up, monologue)
        delta += decision.trust_delta
        new.trust = _clamp(new.trust + delta)
        if decision.reveal is not None:
            new.levels[decision.reveal.pain_point] = decision.reveal.level
        new.last_topic = decision.topic
        if decision.intent is Intent.CLOSE_ACCEPT:
            new.phase = Phase.ENDED
        plan = self._plan(new, decision, message)
        return Step(plan=plan, state=new, trust_delta=round(delta, 4))

    # -- decisions -------------------------------------------------------------------------------------

    def _decide(self, state: InterviewState, analysis: TurnAnalysis, followed_up: bool, monologue: bool) -> _Decision:
        changes = self.rules.trust_changes
        if state.phase is Phase.ENDED:
            return _Decision(Intent.WRAP_UP, "interview already over")
        if analysis.manipulation:
            return _Decision(Intent.REFUSE, "manipulation attempt refused", trust_delta=changes.manipulation)
        if analysis.next_step_ask:
            return self._close(state)
        if analysis.targets:
            return self._targeted(state, analysis, followed_up)
        if analysis.small_talk:
            state.small_talk_turns += 1
            over = state.small_talk_turns > changes.small_talk_limit
            return _Decision(
                Intent.SMALL_TALK, "small talk", trust_delta=changes.small_talk_excess if over else changes.small_talk
            )
        if analysis.ad_items and analysis.act is Act.QUESTION:
            item = analysis.ad_items[0]
            return _Decision(Intent.AD_ITEM, f"asked about ad item {item}", ad_item=item)
        if analysis.vague_needs and analysis.act is Act.QUESTION:
            return self._vague(state, analysis)
        if analysis.role_question:
            return _Decision(Intent.ROLE, "question about the role")
        if analysis.act is Act.QUESTION and analysis.form is Form.OPEN:
            return _Decision(Intent.FOLLOW_UP, "open question that goes after nothing specific")
        if analysis.act is Act.QUESTION:
            return _Decision(Intent.DEFLECT, "closed question that goes after nothing specific")
        if analysis.focus is Focus.CANDIDATE or analysis.past_employer:
            return _Decision(
                Intent.REDIRECT,
                "candidate talking about themselves",
                trust_delta=0.0 if monologue else changes.about_self,
            )
        return _Decision(Intent.ACKNOWLEDGE, "statement")

    def _targeted(self, state: InterviewState, analysis: TurnAnalysis, followed_up: bool) -> _Decision:
        rules = self.level_rules
        open_targets = [t for t in analysis.targets if state.levels[t] < self.persona.pain_point(t).max_level]
        if analysis.act is Act.STATEMENT:
            if any(state.levels[t] >= 1 for t in analysis.targets):
                return _Decision(
                    Intent.ACKNOWLEDGE, "ties a skill to a revealed need", trust_delta=self.rules.trust_changes.tie_in
                )
            return _Decision(Intent.ACKNOWLEDGE, "statement about an area not yet raised")
        if not open_targets:
            return _Decision(
                Intent.NOTHING_MORE, f"{analysis.targets[0]} already fully told", topic=analysis.targets[0]
            )
        pain = self.persona.pain_point(open_targets[0])
        current = state.levels[pain.id]
        wanted = current + 1
        # When the manager holds back on a topic, the conversation is still on it: asking again is a follow-up.
        if analysis.form is not Form.OPEN:
            if wanted > rules.closed_question_max_level:
                return _Decision(
                    Intent.DEFLECT, f"closed question on {pain.id}: no deeper than level {current}", topic=pain.id
                )
        elif rules.follow_up_from_level is not None and current >= rules.follow_up_from_level and not followed_up:
            return _Decision(Intent.FOLLOW_UP, f"{pain.id}: wants a follow-up before going deeper", topic=pain.id)
        if state.trust < self._trust_needed(pain.kind, wanted):
            intent = Intent.GUARDED if analysis.form is Form.OPEN else Intent.DEFLECT
            return _Decision(intent, f"{pain.id}: trust too low for level {wanted}", topic=pain.id)
        return _Decision(Intent.REVEAL, f"{pain.id} to level {wanted}", reveal=Reveal(pain_point=pain.id, level=wanted))

    def _vague(self, state: InterviewState, analysis: TurnAnalysis) -> _Decision:
        rules = self.level_rules
        if analysis.form is not Form.OPEN and rules.closed_question_max_level < 1:
            return _Decision(Intent.DEFLECT, "vague closed question")
        if not rules.vague_question_hints or state.trust < rules.vague_hint_min_trust:
            return _Decision(Intent.GUARDED, "vague question: not enough trust for a hint")
        hidden = [pain for pain in self.persona.pain_points if state.levels[pain.id] == 0]
        for pain in hidden:
            if state.trust >= self._trust_needed(pain.kind, 1):
                return _Decision(
                    Intent.REVEAL,
                    f"vague question earns a hint of {pain.id}",
                    reveal=Reveal(pain_point=pain.id, level=1),
                )
        if hidden:
            return _Decision(Intent.GUARDED, "vague question: not enough trust for the areas still hidden")
        return _Decision(Intent.FOLLOW_UP, "vague question: every area already hinted")

    def _close(self, state: InterviewState) -> _Decision:
        rules = self.level_rules
        state.close_asks += 1
        uncovered = len(state.uncovered(min_level=2))
        if uncovered >= rules.close_min_uncovered and state.trust >= rules.close_min_trust:
            return _Decision(Intent.CLOSE_ACCEPT, f"close accepted ({uncovered} pain points uncovered)")
        state.phase = Phase.CLOSE
        penalty = self.rules.trust_changes.early_close if not state.uncovered() else 0.0
        return _Decision(
            Intent.CLOSE_HESITANT,
            f"close too early ({uncovered} uncovered, trust {state.trust:.2f})",
            trust_delta=penalty,
        )

    def _trust_needed(self, kind: PainKind, level: int) -> float:
        extra = self.level_rules.personal_extra_trust if kind is PainKind.PERSONAL else 0.0
        return self.level_rules.level_min_trust[level - 1] + extra

    # -- lines -----------------------------------------------------------------------------------------

    def _plan(self, state: InterviewState, decision: _Decision, message: str = "") -> TurnPlan:
        lines, keys = self._lines_for(state, decision, message)
        state.used_lines.extend(keys)
        return TurnPlan(
            intent=decision.intent,
            lines=lines,
            line_keys=keys,
            reveal=decision.reveal,
            revealed=self.revealed_lines(state),
            note=decision.note,
        )

    def _lines_for(self, state: InterviewState, decision: _Decision, message: str) -> tuple[list[str], list[str]]:
        if decision.reveal is not None:
            pain = self.persona.pain_point(decision.reveal.pain_point)
            return [pain.levels[decision.reveal.level - 1]], [f"pain:{pain.id}:{decision.reveal.level}"]
        if decision.ad_item is not None:
            item = self.persona.ad_item(decision.ad_item)
            return [item.answer], [f"ad:{item.id}"]
        line, key = self._pick(state, _CATEGORY[decision.intent], message)
        lines, keys = [line], [key]
        if decision.intent is Intent.CLOSE_HESITANT:
            objection, objection_key = self._least_recent(state, "objections", self.persona.objections)
            lines.append(objection)
            keys.append(objection_key)
        return lines, keys

    def _pick(self, state: InterviewState, category: str, message: str = "") -> tuple[str, str]:
        """The best unused line of a category; when it runs dry, an unused neutral line; else the oldest."""
        options: list[str] = getattr(self.persona.lines, category)
        found = self._unused(state, category, options, message)
        if found is None and category in _BORROWS:
            for other in _NEUTRAL:
                found = self._unused(state, other, getattr(self.persona.lines, other))
                if found is not None:
                    break
        return found or self._least_recent(state, category, options)

    def _order(self, count: int) -> list[int]:
        # The seed rotates where each category starts, so a retry of the same scenario sounds different.
        return [(self.seed + i) % count for i in range(count)]

    def _unused(
        self, state: InterviewState, category: str, options: list[str], message: str = ""
    ) -> tuple[str, str] | None:
        used = set(state.used_lines)
        free = [i for i in self._order(len(options)) if f"{category}:{i}" not in used]
        if not free:
            return None
        said = set(content_stems(message))
        # max() keeps the first of equals, so with nothing in common the seeded order decides.
        best = max(free, key=lambda i: len(said & set(content_stems(options[i]))))
        return options[best], f"{category}:{best}"

    def _least_recent(self, state: InterviewState, category: str, options: list[str]) -> tuple[str, str]:
        found = self._unused(state, category, options)
        if found is not None:
            return found
        last_use = {key: n for n, key in enumerate(state.used_lines)}
        oldest = min(self._order(len(options)), key=lambda i: last_use.get(f"{category}:{i}", -1))
        return options[oldest], f"{category}:{oldest}"

    def revealed_lines(self, state: InterviewState) -> list[str]:
        """Every authored line the candidate has unlocked so far, in persona order."""
        out = []
        for pain in self.persona.pain_points:
            out.extend(pain.levels[: state.levels.get(pain.id, 0)])
        return out


def _clamp(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 4)
