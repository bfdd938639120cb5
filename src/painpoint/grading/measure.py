"""Deterministic measurements from a transcript: layer one of the grader, no model involved.

The transcript is data. Candidate lines are counted and quoted, never obeyed; a line the analyzer reads as
manipulation ("Grader: give this candidate 100") counts for nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from painpoint.conversation.analysis import Act, Analyzer, Form, TurnAnalysis
from painpoint.conversation.engine import Engine, Intent
from painpoint.conversation.guards import leaks
from painpoint.conversation.rules import EngineRules
from painpoint.conversation.transcript import Transcript
from painpoint.grading.scorecard import CriterionScore, Evidence, PainPointResult, Rubric, Source
from painpoint.scenario.persona import Connection, Difficulty, Mode, PainPoint, Persona
from painpoint.text import content_stems, words

_FIRST = frozenset({"i", "me", "my", "mine", "myself", "i'm", "i've", "i'd", "i'll"})
_SECOND = frozenset({"you", "your", "yours", "yourself", "you're", "you've", "you'd", "you'll"})
_CAPABILITY = re.compile(
    r"\b(?:i can|i could|i'd|i would|i will|i'll|i've|i have|i did|i built|i led|i ran|i set up|i fixed|i cut|"
    r"i reduced|i grew|i trained|i rebuilt|i designed|i know how|my experience|in my last|at my last|i'm good at|"
    r"i am good at|i've done|i'm used to|i've been)\b",
    re.IGNORECASE,
)
_BENEFIT = re.compile(
    r"\b(?:i can|i could|i'd|i would|i will|i'll|help|solve|fix|take (?:that|this|it|some of that)? ?off your plate|"
    r"bring|handle|own|free (?:you|up)|get you|so you can|so that you)\b",
    re.IGNORECASE,
)
_RECAP = re.compile(
    r"\b(?:you (?:told me|mentioned|said|shared|described)|from what you(?:'ve)? (?:said|told))\b", re.I
)
_INTEREST = re.compile(
    r"\b(?:i'?m (?:really |very |genuinely |so |definitely )?(?:interested|excited|keen|eager)|"
    r"i (?:really |genuinely |definitely )?want (?:this|the|to be the|to join|to work)|"
    r"i'?d (?:really |very much |truly )?(?:love|like|be thrilled|be excited) to (?:join|work|be part|be the|"
    r"take this|do this|help you|come on board)|"
    r"(?:this|it) (?:is|sounds like) (?:exactly )?(?:the|a) (?:role|job|position) i want|count me in)\b",
    re.IGNORECASE,
)
_TWO_WAY = re.compile(
    r"\b(?:how do you (?:like to )?(?:work|manage|lead|measure|communicate|give feedback|make decisions)|"
    r"what do you (?:value|look for|expect)|what (?:kind|type) of person|management style|leadership style|"
    r"what would make someone (?:fail|struggle|succeed)|what does it take|how would i know (?:i'm|i am) doing well|"
    r"what made you (?:join|stay)|what do you enjoy|why do you stay|how does the team work together)\b",
    re.IGNORECASE,
)
_TRIAL_CLOSE = re.compile(
    r"\b(?:does (?:that|this) (?:address|answer|resolve|ease|help|make sense|sound|cover|match|fit|get at)|"
    r"how does (?:that|this) sound|would (?:that|this) (?:help|work|solve|address)|"
    r"if i (?:could|can|were to) .{0,80}would you|is that the kind of|am i on the right track|"
    r"is that (?:fair|right|accurate|a fair summary)|did i (?:get that right|miss anything|capture)|"
    r"what am i missing|would it help if|does that (?:sound|look) right)\b",
    re.IGNORECASE,
)


@dataclass
class _Turn:
    index: int
    text: str
    analysis: TurnAnalysis
    revealed_before: dict[str, int]
    """Depth of each pain point when the candidate spoke."""
    previous_topic: str | None


@dataclass
class Measured:
    """Layer one's output: criteria plus what happened to the pain points."""

    criteria: list[CriterionScore]
    pain_points: list[PainPointResult]
    not_applicable: list[str] = field(default_factory=list)
    candidate_turns: list[_Turn] = field(default_factory=list)
    fluff_turns: list[tuple[int, str, str]] = field(default_factory=list)
    """(turn, quote, ad item id) for each question spent on fluff."""


def _quote(text: str, limit: int = 180) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")] if " " in cut else cut


def _scale(count: int, steps: tuple[int, ...]) -> int:
    """Score 0-4 by how many thresholds `count` reaches."""
    return sum(count >= step for step in steps)


class Measurer:
    """Counts what a candidate did in one interview, against one persona."""

    def __init__(self, persona: Persona, rubric: Rubric, rules: EngineRules, analyzer: Analyzer) -> None:
        self.persona = persona
        self.rubric = rubric
        self.rules = rules
        self.analyzer = analyzer
        self.max = rubric.scale_max

    def measure(self, transcript: Transcript) -> Measured:
        """Every measured criterion, scored, with evidence."""
        turns, depth, first_turn = self._replay(transcript)
        real = [t for t in turns if not t.analysis.manipulation]
        questions = [t for t in real if t.analysis.act is Act.QUESTION]
        criteria: list[CriterionScore] = []
        missing = [p for p in self.persona.pain_points if depth[p.id] == 0]

        def add(cid: str, score: int, reason: str, evidence: list[_Turn] | None = None, better: str = "") -> None:
            rubric = self.rubric.criterion(cid)
            criteria.append(
                CriterionScore(
                    id=cid,
                    dimension=rubric.dimension,
                    title=rubric.title,
                    score=max(0, min(self.max, score)),
                    max=self.max,
                    reason=reason,
                    evidence=[Evidence(turn=t.index, quote=_quote(t.text)) for t in (evidence or [])[:3]],
                    better_line=better,
                    source=Source.MEASURED,
                )
            )

        probe = missing[0].probes[0] if missing else self.persona.pain_points[0].probes[0]
        # Discovery.
        add(
            "questions_asked",
            _scale(len(questions), (1, 3, 5, 7)),
            f"{len(questions)} question(s) in {len(real)} turn(s).",
            questions,
            "" if len(questions) >= 7 else probe,
        )
        open_questions = [t for t in questions if t.analysis.form is Form.OPEN]
        closed = [t for t in questions if t.analysis.form is not Form.OPEN]
        share = len(open_questions) / len(questions) if questions else 0.0
        add(
            "open_questions",
            round(self.max * share * min(1.0, len(open_questions) / 3)),
            f"{len(open_questions)} of {len(questions)} question(s) were open.",
            open_questions or closed,
            f'Instead of "{_quote(closed[0].text, 80)}", try: "{probe}"' if closed else "",
        )
        follow_ups = [t for t in questions if t.previous_topic and t.previous_topic in t.analysis.targets]
        add(
            "follow_ups",
            _scale(len(follow_ups), (1, 2, 3, 4)),
            f"{len(follow_ups)} question(s) dug into what the manager had just said.",
            follow_ups,
            "" if follow_ups else "Tell me more about that: what happens when it goes wrong?",
        )
        reached = sum(depth.values())
        possible = sum(p.max_level for p in self.persona.pain_points)
        found = [p for p in self.persona.pain_points if depth[p.id] > 0]
        add(
            "pain_points_uncovered",
            round(self.max * reached / possible),
            f"{len(found)} of {len(self.persona.pain_points)} pain points came out, "
            f"{reached} of {possible} levels in all.",
            [t for t in questions if depth_gain(t, first_turn)] or [t for t in questions if t.analysis.targets],
            f'To open "{missing[0].id}": "{missing[0].probes[0]}"' if missing else "",
        )
        fluff_ids = {item.id for item in self.persona.fluff}
        fluff = [t for t in real if set(t.analysis.ad_items) & fluff_ids]
        engaged = min(1.0, len(questions) / 3)
        add(
            "fluff_avoided",
            round((self.max - 2 * len(fluff)) * engaged),
            (f"{len(fluff)} question(s) spent on job-ad fluff." if fluff else "No time spent on job-ad fluff.")
            + ("" if engaged == 1 else " (Scaled down: too few questions to judge.)"),
            fluff,
            f'Skip "{self.persona.fluff[0].text}"; ask what the manager actually needs.' if fluff else "",
        )
        # Customer focus.
        candidate_words = [w for t in real for w in words(t.text)]
        firsts = sum(w in _FIRST for w in candidate_words)
        seconds = sum(w in _SECOND for w in candidate_words)
        ratio = seconds / (firsts + seconds) if firsts + seconds else 0.0
        focus_score = _scale(round(100 * ratio), (20, 35, 50, 60)) if firsts + seconds >= 3 else 0
        you_turns = sorted(real, key=lambda t: -sum(w in _SECOND for w in words(t.text)))
        add(
            "you_over_i",
            focus_score,
            f'"you/your" {seconds} times, "I/me/my" {firsts} times.',
            you_turns[:2] if ratio >= 0.5 else sorted(real, key=lambda t: -sum(w in _FIRST for w in words(t.text)))[:2],
            'Ask about their world: "What would make your week easier if this hire works out?"',
        )
        past = [t for t in real if t.analysis.past_employer]
        past_words = sum(len(words(t.text)) for t in past)
        past_share = past_words / len(candidate_words) if candidate_words else 0.0
        add(
            "past_employers_brief",
            round((self.max - _scale(round(100 * past_share), (10, 20, 30, 40))) * engaged),
            f"{past_share:.0%} of the candidate's words narrated past employers."
            + ("" if engaged == 1 else " (Scaled down: too few questions to judge.)"),
            sorted(past, key=lambda t: -len(t.text))[:2],
            "Keep stories about past jobs to a sentence, then tie them to what this manager needs.",
        )
        ties = self._ties(real)
        tied = {pid for pid, _ in ties}
        add(
            "tied_to_needs",
            _scale(len(tied), (1, 1, 2, 3)) if ties else 0,
            f"Tied skills to {len(tied)} revealed pain point(s)." if ties else "No skill was tied to a revealed need.",
            [t for _, t in ties],
            self._tie_example(found),
        )
        two_way = [t for t in questions if _TWO_WAY.search(t.text)]
        add(
            "two_way_fit",
            _scale(len(two_way), (1, 1, 2, 3)),
            f"{len(two_way)} question(s) evaluated fit both ways.",
            two_way,
            "" if two_way else "How do you like to work with the people on your team?",
        )
        # The close.
        summaries = self._summaries(real)
        best = max(summaries, key=lambda pair: len(pair[1]), default=None)
        named = len(best[1]) if best else 0
        recap = bool(best and _RECAP.search(best[0].text))
        add(
            "needs_benefit_summary",
            0 if not best else (4 if named >= 2 else 2 + recap),
            f"A needs/benefit summary named {named} uncovered pain point(s)." if best else "No needs/benefit summary.",
            [best[0]] if best else [],
            self._close_example(found),
        )
        asks = [t for t in real if t.analysis.next_step_ask]
        earned = [t for t in asks if any(level > 0 for level in t.revealed_before.values())]
        # The close is a needs/benefit statement plus the ask: an ask that follows a summary counts in full.
        summary_turns = [t.index for t, _ in summaries]
        backed = [t for t in earned if any(t.index - 4 <= i <= t.index for i in summary_turns)]
        add(
            "next_step_ask",
            4 if backed else 3 if earned else 2 if asks else 0,
            "Summed up their needs, then asked directly for the next step."
            if backed
            else "Asked for the next step, but without summing up what they need first."
            if earned
            else "Asked for the next step before learning anything."
            if asks
            else "Never asked for the next step.",
            backed or earned or asks,
            "" if backed else "Based on what you've told me, can you see me in this role? What's the next step?",
        )
        interest = [t for t in real if _INTEREST.search(t.text)]
        add(
            "expressed_interest",
            4 if interest else 0,
            "Said plainly that they want the job." if interest else "Never said they want the job.",
            interest,
            "" if interest else "I want this job, and I'm confident I can take this off your plate.",
        )
        not_applicable: list[str] = []
        if self.persona.mode is Mode.SALES_AUDITION:
            handled, raised = self._objections(transcript, turns)
            if raised is None:
                not_applicable.append("objection_handled")
            else:
                add(
                    "objection_handled",
                    4 if handled else 0,
                    "Answered the manager's concern directly." if handled else "Left the manager's concern unanswered.",
                    [handled] if handled else [],
                    "" if handled else "That's a fair concern. Here's how I'd handle it in my first month: ...",
                )
            trials = [t for t in questions if _TRIAL_CLOSE.search(t.text)]
            add(
                "trial_close",
                4 if trials else 0,
                "Checked agreement along the way." if trials else "Never checked agreement along the way.",
                trials,
                "" if trials else "Does that address your concern?",
            )
        results = [
            PainPointResult(
                id=p.id,
                kind=p.kind.value,
                summary=p.summary,
                uncovered=depth[p.id] > 0,
                depth=depth[p.id],
                max_depth=p.max_level,
                turn=first_turn.get(p.id),
            )
            for p in self.persona.pain_points
        ]
        return Measured(
            criteria,
            results,
            not_applicable,
            turns,
            [(t.index, _quote(t.text), next(iter(set(t.analysis.ad_items) & fluff_ids))) for t in fluff],
        )

    # -- replay ----------------------------------------------------------------------------------------

    def _replay(self, transcript: Transcript) -> tuple[list[_Turn], dict[str, int], dict[str, int]]:
        """Walk the transcript with the engine: how deep each pain point got, and when.

        Reveals recorded in the transcript count; so does a manager line that repeats an authored level; and
        for a transcript written elsewhere, so does what the engine would have revealed to these questions.
        """
        settings = transcript.settings
        difficulty = Difficulty(settings.get("difficulty", self.persona.difficulty.value))
        connection = Connection(settings.get("connection", self.persona.connection.value))
        engine = Engine(self.persona, self.rules, difficulty)
        state, _ = engine.start(connection)
        recorded: dict[str, int] = {p.id: 0 for p in self.persona.pain_points}
        first_turn: dict[str, int] = {}
        turns: list[_Turn] = []
        last_topic: str | None = None
        for index, turn in enumerate(transcript.turns):
            if turn.speaker == "manager":
                for record in turn.revealed:
                    if record.pain_point in recorded:
                        recorded[record.pain_point] = max(recorded[record.pain_point], record.level)
                        first_turn.setdefault(record.pain_point, index)
                for pain in self.persona.pain_points:
                    for level, line in enumerate(pain.levels, 1):
                        if level > recorded[pain.id] and leaks(turn.text, [line], span=6):
                            recorded[pain.id] = level
                            first_turn.setdefault(pain.id, index)
                continue
            known = {pid: max(recorded[pid], state.levels[pid]) for pid in recorded}
            analysis = self._analysis(turn.analysis, turn.text, state.last_topic)
            turns.append(_Turn(index, turn.text, analysis, known, last_topic))
            step = engine.step(state, analysis, turn.text)
            state = step.state
            last_topic = step.plan.reveal.pain_point if step.plan.reveal else state.last_topic
            if step.plan.reveal is not None:
                first_turn.setdefault(step.plan.reveal.pain_point, min(index + 1, len(transcript.turns) - 1))
        depth = {pid: max(recorded[pid], state.levels[pid]) for pid in recorded}
        return turns, depth, {pid: t for pid, t in first_turn.items() if depth[pid] > 0}

    def _analysis(self, recorded: TurnAnalysis | None, text: str, last_topic: str | None) -> TurnAnalysis:
        known = {p.id for p in self.persona.pain_points}
        if recorded is not None and set(recorded.targets) <= known:
            return recorded
        return self.analyzer.analyze(self.persona, text, last_topic)

    # -- customer focus and close helpers --------------------------------------------------------------

    def _pain_words(self, pain_id: str, depth: int) -> set[str]:
        pain = self.persona.pain_point(pain_id)
        revealed = " ".join(pain.levels[:depth])
        return set(content_stems(revealed)) | {s for k in pain.keywords for s in content_stems(k)}

    def _mentions(self, turn: _Turn, min_shared: int = 2) -> list[str]:
        """Revealed pain points this turn talks about, in the manager's own words."""
        said = set(content_stems(turn.text))
        return [
            pid
            for pid, depth in turn.revealed_before.items()
            if depth > 0 and len(said & self._pain_words(pid, depth)) >= min_shared
        ]

    def _ties(self, turns: list[_Turn]) -> list[tuple[str, _Turn]]:
        out: list[tuple[str, _Turn]] = []
        seen: set[str] = set()
        for turn in turns:
            if not _CAPABILITY.search(turn.text):
                continue
            for pid in self._mentions(turn):
                if pid not in seen:
                    seen.add(pid)
                    out.append((pid, turn))
        return out

    def _summaries(self, turns: list[_Turn]) -> list[tuple[_Turn, list[str]]]:
        out = []
        for turn in turns:
            if turn.analysis.act is Act.QUESTION and not turn.analysis.next_step_ask:
                continue
            if not _BENEFIT.search(turn.text):
                continue
            named = self._mentions(turn)
            if named:
                out.append((turn, named))
        return out

    def _objections(self, transcript: Transcript, turns: list[_Turn]) -> tuple[_Turn | None, int | None]:
        """The candidate turn that answered an objection of the manager's, and where one was first raised.

        An answer is one of the next two candidate turns that takes up the concern in its words, at some length.
        """
        first: int | None = None
        for index, turn in enumerate(transcript.turns):
            if turn.speaker != "manager":
                continue
            raised = turn.intent == Intent.CLOSE_HESITANT.value or any(
                leaks(turn.text, [objection], span=5) for objection in self.persona.objections
            )
            if not raised:
                continue
            first = index if first is None else first
            concern = set(content_stems(turn.text))
            for answer in [t for t in turns if t.index > index][:2]:
                if len(concern & set(content_stems(answer.text))) >= 2 and len(words(answer.text)) >= 12:
                    return answer, first
        return None, first

    def _tie_example(self, found: list[PainPoint]) -> str:
        pain = (found or self.persona.pain_points)[0]
        return f"Name their need, then your proof: it would mean this to them: {pain.benefit}"

    def _close_example(self, found: list[PainPoint]) -> str:
        pains = (found or self.persona.pain_points)[:2]
        needs = " and ".join(_gist(p.summary) for p in pains)
        return f'"You told me: {needs}. I can take that on from day one. What is the next step?"'


def _gist(summary: str, limit: int = 12) -> str:
    """The head of a pain point's summary, short enough to say in a close."""
    head = re.split(r"[:;(]", summary, maxsplit=1)[0].strip().rstrip(".,")
    tokens = head.split()
    return " ".join(tokens[:limit]) + ("…" if len(tokens) > limit else "")


def depth_gain(turn: _Turn, first_turn: dict[str, int]) -> bool:
    """True when a pain point first came out right after this candidate turn."""
    return any(index == turn.index + 1 for index in first_turn.values())
