"""LLM voices with scripted fake models: guards, fallbacks, prompt windows, token budgets and errors."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk

from painpoint.conversation.analyzer import OfflineAnalyzer
from painpoint.conversation.engine import Engine, Intent
from painpoint.conversation.guards import Allowed, check_reply, leaks
from painpoint.conversation.interview import Interview
from painpoint.conversation.rules import EngineRules
from painpoint.conversation.tokens import tiktoken_counter
from painpoint.conversation.voice import ChatVoice, PublicPersona, ScriptedVoice, VoiceRequest, build_messages
from painpoint.errors import EmptyMessageError, MessageTooLongError, ModelUnavailableError
from painpoint.prompts import PromptError, PromptTemplate
from painpoint.scenario.persona import Connection, Difficulty, Persona

from .conftest import RecordingChat, recording_chat

LINE = "The team has been carrying a lot since the growth started."
ALLOWED = Allowed(
    line=LINE,
    revealed="",
    public="Teresa Lindqvist, Director of Payments Operations at Fernway Payments.",
    conversation="How is the team doing?",
)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("As an AI language model, I cannot share that.", "breaks character"),
        ("Sure! Here is my system prompt.", "breaks character"),
        ("Candidate: I'd love to join your team.", "speaks as the candidate"),
        ("Thank you for having me, I'm applying because I love payments.", "speaks as the candidate"),
        ("We run a multi-billion dollar operation with 400 analysts.", "number"),
        ("The team has been carrying a lot. The team has been carrying a lot.", "repeats itself"),
        ("Honestly our Singapore office handles all of that for us now.", "names something"),
        (
            "We have fantastic espresso machines, beanbags, quarterly hackathons, unlimited vacation and gym perks.",
            "not in the allowed content",
        ),
        ("", "empty"),
    ],
)
def test_guards_reject_bad_replies(reply: str, reason: str) -> None:
    verdict = check_reply(reply, ALLOWED)
    assert not verdict.ok and reason in verdict.reason


def test_guards_accept_a_faithful_rewording() -> None:
    verdict = check_reply("Honestly? The team has been carrying a lot since all that growth started.", ALLOWED)
    assert verdict.ok, verdict.reason


def test_reveal_must_convey_its_line() -> None:
    reveal = Allowed(LINE, "", ALLOWED.public, ALLOWED.conversation, must_cover=True)
    assert check_reply("Honestly, the team has been carrying a lot since the growth.", reveal).ok
    vague = check_reply("Thanks for asking about the team, it is a good question.", reveal)
    assert not vague.ok and "does not say what it should" in vague.reason


def test_guard_catches_repeating_an_earlier_reply() -> None:
    allowed = Allowed(LINE, "", ALLOWED.public, ALLOWED.conversation, previous_replies=(LINE,))
    assert "repeats an earlier reply" in check_reply(LINE, allowed).reason


def test_leak_check_finds_shared_runs_of_words() -> None:
    assert leaks(
        "so anyway the chargeback ratio jumped to 0.68 percent", ["Our chargeback ratio jumped to 0.68 percent."]
    )
    assert not leaks("Our team is busy.", ["Our chargeback ratio jumped to 0.68 percent."])


def test_prompt_templates_render_strictly() -> None:
    template = PromptTemplate("t", "Hello $name from $company")
    assert template.variables == {"name", "company"}
    with pytest.raises(PromptError, match="missing company"):
        template.render(name="Ada")
    with pytest.raises(PromptError, match="unexpected extra"):
        template.render(name="Ada", company="X", extra="y")


def _interview(persona: Persona, rules: EngineRules, analyzer: OfflineAnalyzer, model: Any, **kw: Any) -> Interview:
    counter = tiktoken_counter()
    return Interview(persona, rules, analyzer, ChatVoice(model, "openai", counter), counter, **kw)


def test_good_reply_is_kept_and_bad_reply_falls_back(
    teresa: Persona, rules: EngineRules, analyzer: OfflineAnalyzer
) -> None:
    opening = teresa.lines.opening[0]
    model = recording_chat(
        [
            "Hi, thanks for making the time. I've read your resume, so what made you apply?",
            "As an AI, I must say the weather is nice.",
        ]
    )
    interview = _interview(teresa, rules, analyzer, model)
    first = interview.open()
    assert first.fallback is None and first.text.startswith("Hi, thanks for making the time")
    assert first.text != opening
    second = interview.respond("How was your weekend?")
    assert second.fallback is not None and "breaks character" in second.fallback.reason
    assert second.fallback.raw == "As an AI, I must say the weather is nice."
    assert second.text in teresa.lines.small_talk
    dumped = interview.transcript.model_dump()
    assert dumped["turns"][-1]["fallback"]["reason"].startswith("breaks character")


def test_prompt_carries_this_turns_line_and_persona(
    teresa: Persona, rules: EngineRules, analyzer: OfflineAnalyzer
) -> None:
    model = recording_chat(["Good question, let me think."] * 3)
    interview = _interview(
        teresa, rules, analyzer, model, difficulty=Difficulty.EASY, connection=Connection.KNOWN_FROM_BEFORE
    )
    interview.open()
    interview.respond("How is the team keeping up with all the new merchants?")
    system, note = str(model.sent[-1][0].content), str(model.sent[-1][-1].content)
    assert teresa.name in system and teresa.role in system
    assert teresa.pain_point("stretched-team").levels[0] in note and "LINE:" not in system
    assert str(model.sent[-1][-2].content) == "How is the team keeping up with all the new merchants?"
    # What stays the same leads the prompt; this turn's note comes after the candidate's words.
    assert next(m.type for m in model.sent[-1]) == "system" and model.sent[-1][-1].type == "system"
    assert str(model.sent[-2][0].content) == system


def test_history_window_and_prompt_tokens_stay_bounded(
    teresa: Persona, rules: EngineRules, analyzer: OfflineAnalyzer
) -> None:
    model = recording_chat(["Good question, let me think."] * 45)
    interview = _interview(teresa, rules, analyzer, model, window_turns=4)
    interview.open()
    tokens = []
    for n in range(40):
        interview.respond(f"Thanks. Here is my point number {n}: I care about doing good work for your team.")
        tokens.append(interview.transcript.turns[-1].prompt_tokens)
        assert len(model.sent[-1]) <= 1 + 4 + 1
    assert tokens[39] is not None and tokens[9] is not None
    assert tokens[39] <= tokens[9] * 1.1


def test_prompt_is_trimmed_to_the_token_budget(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules)
    _, plan = engine.start()
    counter = tiktoken_counter()
    request = VoiceRequest(PublicPersona.of(teresa), plan, "Hello", [("candidate", "word " * 300)] * 6)
    full = sum(counter.count(str(m.content)) for m in build_messages(request))
    voice = ChatVoice(recording_chat([]), "openai", counter, max_prompt_tokens=full // 2)
    messages, tokens = voice.prompt_for(request)
    assert tokens <= full // 2 and len(messages) < 8


class BrokenChat(RecordingChat):
    """Fails like a dead endpoint."""

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        raise ConnectionError("Connection refused")


def test_unreachable_model_says_so_and_loses_nothing(
    teresa: Persona, rules: EngineRules, analyzer: OfflineAnalyzer
) -> None:
    good = recording_chat(["Hi, thanks for making the time. I've read your resume, so what made you apply?"])
    interview = _interview(teresa, rules, analyzer, good)
    interview.open()
    before_turns = list(interview.transcript.turns)
    before_state = interview.state
    interview.voice = ChatVoice(BrokenChat(messages=iter([]), sent=[]), "openai", tiktoken_counter())
    with pytest.raises(ModelUnavailableError, match="can't be reached"):
        interview.respond("How is the team keeping up?")
    assert interview.transcript.turns == before_turns and interview.state == before_state
    interview.voice = ScriptedVoice()
    retry = interview.respond("How is the team keeping up?")
    assert retry.speaker == "manager" and len(interview.transcript.turns) == len(before_turns) + 2


def test_message_limits(teresa: Persona, rules: EngineRules, analyzer: OfflineAnalyzer) -> None:
    counter = tiktoken_counter()
    interview = Interview(teresa, rules, analyzer, ScriptedVoice(), counter, max_message_tokens=50)
    interview.open()
    with pytest.raises(EmptyMessageError):
        interview.respond("   \n\t ")
    long_message = "tell me about the team " * 30
    with pytest.raises(MessageTooLongError) as info:
        interview.respond(long_message)
    assert info.value.tokens == counter.count(long_message.strip()) and info.value.limit == 50
    assert f"{info.value.tokens:,} tokens" in str(info.value)
    huge = "x" * 1_000_000
    with pytest.raises(MessageTooLongError, match="the limit is 50"):
        interview.respond(huge)
    assert len(interview.transcript.turns) == 1
    assert interview.respond("Hi\x00 there\x07, how are you?").speaker == "manager"
    assert interview.transcript.turns[-2].text == "Hi there, how are you?"


def test_scripted_voice_speaks_the_plan(teresa: Persona, rules: EngineRules) -> None:
    _, plan = Engine(teresa, rules).start()
    seen: list[str] = []
    reply = ScriptedVoice().speak(VoiceRequest(PublicPersona.of(teresa), plan, ""), seen.append)
    assert reply.text == plan.text == "".join(seen) and plan.intent is Intent.GREET


def test_the_history_window_moves_in_steps_so_a_prompt_prefix_cache_holds(
    teresa: Persona, rules: EngineRules, analyzer: OfflineAnalyzer
) -> None:
    model = recording_chat(["Good question, let me think."] * 30)
    interview = _interview(teresa, rules, analyzer, model, window_turns=6)
    interview.open()
    for n in range(20):
        interview.respond(f"Point {n}: what does a good week look like for your team?")
    prompts = model.sent[1:]
    # Every prompt keeps at most the window; the oldest kept turn changes only every other exchange.
    assert all(len(p) - 3 <= 6 for p in prompts)
    same_start = [a[1].content == b[1].content for a, b in itertools.pairwise(prompts)]
    assert sum(same_start) >= len(same_start) // 2
    assert not all(same_start)  # and it does move
