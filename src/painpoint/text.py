"""Small text utilities shared by the analyzer, the guards and the grader."""

from __future__ import annotations

import json
import re

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")

STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because been before
    being below between both but by can could did didn't do does doesn't doing don't down during each
    few for from further had has have having he her here hers herself him himself his how i i'd i'll i'm
    i've if in into is isn't it it's its itself just let's me more most my myself no nor not now of off
    on once only or other our ours ourselves out over own same she should so some such than that that's
    the their theirs them themselves then there there's these they they're this those through to too
    under until up very was wasn't we we're we've were what what's when where which while who whom why
    will with won't would you you'd you'll you're you've your yours yourself yourselves yes okay ok oh
    well really actually maybe get got like kind sort thing things lot much many one two way right just
    still even tell know think say said go going want
    """.split()
)


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters, digits and inner apostrophes, curly ones made straight)."""
    return [w.replace("’", "'") for w in _WORD.findall(text.lower())]


def stem(word: str) -> str:
    """A light suffix-stripping stem: enough to match `hiring` with `hire` and `audits` with `audit`."""
    word = word.replace("'", "")
    for suffix, keep in (
        ("ational", 5),
        ("ization", 5),
        ("fulness", 5),
        ("iveness", 5),
        ("ements", 5),
        ("ement", 4),
        ("ments", 4),
        ("ment", 4),
        ("ings", 4),
        ("ing", 4),
        ("ions", 4),
        ("ion", 4),
        ("ies", 3),
        ("ied", 3),
        ("ed", 4),
        ("ly", 4),
        ("es", 4),
        ("s", 3),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep - 1 and not word.endswith("ss"):
            base = word[: -len(suffix)]
            if suffix in ("ies", "ied"):
                base += "y"
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]
            return base.rstrip("e") or base
    return word.rstrip("e") if len(word) > 4 else word


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry meaning (stopwords dropped)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def sentences(text: str) -> list[str]:
    """Split text into sentences (roughly; enough for guards and analysis)."""
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def json_object(raw: str) -> object:
    """The outermost JSON object in a model's reply (models wrap JSON in prose and code fences).

    Raises:
        ValueError: when the reply holds no parseable JSON object.
    """
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the reply")
    try:
        return json.loads(raw[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"the reply's JSON does not parse: {exc.msg}") from exc
