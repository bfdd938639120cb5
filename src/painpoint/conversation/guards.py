"""Checks on every LLM reply before the candidate sees it. A reply that fails falls back to the authored line."""

from __future__ import annotations

import re
from dataclasses import dataclass

from painpoint.text import content_stems, sentences, words

_BREAKS_CHARACTER = re.compile(
    r"\b(?:as an ai|an ai (?:language )?model|language model|i am an ai|i'm an ai|as a (?:virtual )?assistant|"
    r"i'?m (?:just )?an? (?:assistant|chatbot|bot|program)|chatgpt|openai|system prompt|my (?:instructions|programming|"
    r"prompt|guidelines)|i (?:can(?:not|'t)|am not able to|am unable to) (?:comply|assist|help with that|fulfill)|"
    r"pain points?|role-?play|in character|hiring manager persona|the persona|this simulation|the scenario)\b",
    re.IGNORECASE,
)
_SPEAKS_AS_CANDIDATE = re.compile(
    r"(?:^|\n)\s*\**(?:candidate|interviewer|interviewee|manager|hiring manager|user|assistant|human|ai|me|you)\**\s*:|"
    r"\b(?:as (?:a|the) candidate|my (?:resume|cv|application|candidacy)|hire me|i(?:'m| am) applying|"
    r"thank(?:s| you) for (?:having me|the opportunity to interview|considering me)|"
    r"i(?:'d| would) (?:love|like) (?:to join|the (?:job|role|position))|why (?:should|would) you hire me)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d[\d,.]*")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:[A-Z][a-z]+)*\b")
_MONTHS_AND_DAYS = frozenset(
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
)


@dataclass(frozen=True)
class Allowed:
    """What a reply may draw on: this turn's authored line, facts already revealed, the public persona, the talk."""

    line: str
    revealed: str
    public: str
    conversation: str
    previous_replies: tuple[str, ...] = ()
    must_cover: bool = False
    """True when this turn's line carries facts the candidate has earned: the reply has to convey them."""

    @property
    def source(self) -> str:
        """Everything the reply may take names and numbers from."""
        return "\n".join((self.line, self.revealed, self.public, self.conversation))

    @property
    def wording(self) -> str:
        """What the reply's words may come from: the public persona is too broad a vocabulary for that."""
        return "\n".join((self.line, self.revealed, self.conversation))


@dataclass(frozen=True)
class GuardResult:
    """The verdict on one reply."""

    ok: bool
    reason: str = ""


def check_reply(reply: str, allowed: Allowed, max_novel_ratio: float = 0.5, min_coverage: float = 0.3) -> GuardResult:
    """Run every guard; the first failure is the reason.

    Args:
        reply: What the model said.
        allowed: What it may say.
        max_novel_ratio: The share of content words that may come from outside the allowed text
            (reacting naturally needs some; inventing facts needs more).
        min_coverage: When the line must be conveyed, the share of its content words the reply must keep.
    """
    text = reply.strip()
    if len(words(text)) < 2:
        return GuardResult(False, "empty: the reply says nothing")
    if len(text) > max(600, 3 * len(allowed.line)):
        return GuardResult(False, f"too long: {len(text)} characters for a {len(allowed.line)}-character line")
    if match := _BREAKS_CHARACTER.search(text):
        return GuardResult(False, f"breaks character: {match.group(0)!r}")
    if match := _SPEAKS_AS_CANDIDATE.search(text):
        return GuardResult(False, f"speaks as the candidate: {match.group(0).strip()!r}")
    repeated = _repetition(text, allowed.previous_replies)
    if repeated:
        return GuardResult(False, repeated)
    return _supported(text, allowed, max_novel_ratio, min_coverage)


def _repetition(text: str, previous: tuple[str, ...]) -> str:
    said = [s.lower() for s in sentences(text)]
    if len(said) != len(set(said)):
        return "repeats itself: the same sentence twice"
    grams = _trigrams(text)
    if grams:
        for earlier in previous:
            overlap = len(grams & _trigrams(earlier)) / len(grams)
            if overlap >= 0.6:
                return f"repeats an earlier reply ({overlap:.0%} the same)"
    return ""


def _supported(text: str, allowed: Allowed, max_novel_ratio: float, min_coverage: float) -> GuardResult:
    source = allowed.source
    source_lower = source.lower()
    digits_in_source = {_digits(n) for n in _NUMBER.findall(source)}
    for number in _NUMBER.findall(text):
        if _digits(number) and _digits(number) not in digits_in_source:
            return GuardResult(False, f"states a number that is not in the allowed content: {number!r}")
    for sentence in sentences(text):
        for name in _NAME.findall(sentence):
            if name not in _MONTHS_AND_DAYS and name.lower() not in source_lower:
                return GuardResult(False, f"names something that is not in the allowed content: {name!r}")
    stems = content_stems(text)
    if allowed.must_cover:
        line = set(content_stems(allowed.line))
        kept = len(line & set(stems)) / len(line) if line else 1.0
        if kept < min_coverage:
            return GuardResult(False, f"does not say what it should ({kept:.0%} of the line's words kept)")
    if stems:
        vocabulary = set(content_stems(allowed.wording))
        novel = [s for s in stems if s not in vocabulary]
        ratio = len(novel) / len(stems)
        if ratio > max_novel_ratio and len(novel) >= 4:
            return GuardResult(False, f"says things that are not in the allowed content ({ratio:.0%} new words)")
    return GuardResult(True)


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def _trigrams(text: str) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}


def leaks(reply: str, locked: list[str], span: int = 5) -> bool:
    """True when the reply shares a run of `span` words with a line that is still locked.

    The voice never receives locked lines, so this is a second wall, not the first: it runs outside the
    voice, where the whole persona is known.
    """
    reply_tokens = words(reply)
    grams = {tuple(reply_tokens[i : i + span]) for i in range(len(reply_tokens) - span + 1)}
    for line in locked:
        tokens = words(line)
        if any(tuple(tokens[i : i + span]) in grams for i in range(len(tokens) - span + 1)):
            return True
    return False
