"""The engine's rules, on typed analyses: no analyzer, no model."""

from __future__ import annotations

from painpoint.conversation.analysis import Act, Focus, Form, TurnAnalysis
from painpoint.conversation.engine import Engine, Intent, InterviewState, Phase
from painpoint.conversation.rules import EngineRules
from painpoint.scenario.persona import Connection, Difficulty, Persona


def ask(*targets: str, form: Form = Form.OPEN, **flags: object) -> TurnAnalysis:
    return TurnAnalysis(act=Act.QUESTION, form=form, targets=list(targets), focus=Focus.MANAGER, **flags)  # type: ignore[arg-type]


def tell(*targets: str, **flags: object) -> TurnAnalysis:
    return TurnAnalysis(act=Act.STATEMENT, form=Form.NONE, targets=list(targets), **flags)  # type: ignore[arg-type]


def test_start_trust_follows_connection_ladder(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules, Difficulty.NORMAL)
    trusts = [engine.start(c)[0].trust for c in Connection]
    assert trusts == sorted(trusts) and trusts[0] < trusts[-1]
    hard = Engine(teresa, rules, Difficulty.HARD).start(Connection.BLIND_RESUME)[0].trust
    easy = Engine(teresa, rules, Difficulty.EASY).start(Connection.BLIND_RESUME)[0].trust
    assert hard < trusts[0] < easy


def test_opening_uses_the_authored_greeting(teresa: Persona, rules: EngineRules) -> None:
    state, plan = Engine(teresa, rules).start()
    assert plan.intent is Intent.GREET and plan.text == teresa.lines.opening[0]
    assert state.levels == {p.id: 0 for p in teresa.pain_points} and plan.revealed == []


def test_relevant_open_question_deepens_one_level_at_a_time(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules, Difficulty.EASY)
    state, _ = engine.start(Connection.KNOWN_FROM_BEFORE)
    pain = teresa.pain_point("stretched-team")
    for level in (1, 2, 3):
        step = engine.step(state, ask(pain.id))
        assert step.plan.intent is Intent.REVEAL
        assert step.plan.reveal is not None and step.plan.reveal.level == level
        assert step.plan.text == pain.levels[level - 1]
        state = step.state
    done = engine.step(state, ask(pain.id))
    assert done.plan.intent is Intent.NOTHING_MORE and done.plan.reveal is None


def test_closed_question_earns_a_hint_at_most(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules, Difficulty.NORMAL)
    state, _ = engine.start()
    first = engine.step(state, ask("stretched-team", form=Form.CLOSED))
    assert first.plan.reveal is not None and first.plan.reveal.level == 1
    second = engine.step(first.state, ask("stretched-team", form=Form.CLOSED))
    assert second.plan.intent is Intent.DEFLECT and second.state.levels["stretched-team"] == 1


def test_hard_manager_deflects_closed_questions_and_wants_follow_ups(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules, Difficulty.HARD)
    state, _ = engine.start(Connection.KNOWN_FROM_BEFORE)
    assert engine.step(state, ask("stretched-team", form=Form.CLOSED)).plan.intent is Intent.DEFLECT
    hinted = engine.step(state, ask("stretched-team")).state
    # Changing the subject, then coming back, is not a follow-up: no deeper.
    away = engine.step(hinted, ask("dispute-ratio-pressure")).state
    back = engine.step(away, ask("stretched-team"))
    assert back.plan.intent is Intent.FOLLOW_UP and back.state.levels["stretched-team"] == 1
    # Right after the manager spoke about it, the same question digs deeper.
    again = engine.step(hinted, ask("stretched-team"))
    assert again.plan.reveal is not None and again.plan.reveal.level == 2


def test_personal_pain_needs_more_trust(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules, Difficulty.NORMAL)
    cold, _ = engine.start(Connection.BLIND_RESUME)
    hinted = engine.step(cold, ask("buried-in-reporting")).state
    assert hinted.levels["buried-in-reporting"] == 1
    blocked = engine.step(hinted, ask("buried-in-reporting"))
    assert blocked.plan.intent is Intent.GUARDED and "trust" in blocked.plan.note
    assert blocked.plan.text in teresa.lines.guarded
    warm, _ = engine.start(Connection.KNOWN_FROM_BEFORE)
    warm_hinted = engine.step(warm, ask("buried-in-reporting")).state
    assert engine.step(warm_hinted, ask("buried-in-reporting")).state.levels["buried-in-reporting"] == 2


def test_hard_manager_holds_back_vague_questions_until_trust_is_earned(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules, Difficulty.HARD)
    state, _ = engine.start(Connection.BLIND_RESUME)
    held = engine.step(state, ask(vague_needs=True))
    assert held.plan.intent is Intent.GUARDED and held.plan.reveal is None
    warmer = engine.step(held.state, ask(small_talk=True, form=Form.CLOSED)).state
    opened = engine.step(warmer, ask(vague_needs=True))
    assert opened.plan.reveal is not None and opened.plan.reveal.level == 1


def test_vague_question_hints_the_next_hidden_pain(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules)
    state, _ = engine.start()
    revealed = []
    for _ in range(3):
        step = engine.step(state, ask(vague_needs=True))
        assert step.plan.reveal is not None and step.plan.reveal.level == 1
        revealed.append(step.plan.reveal.pain_point)
        state = step.state
    assert len(set(revealed)) == 3


def test_small_talk_builds_trust_then_stops_paying(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules)
    state, _ = engine.start()
    trusts = [state.trust]
    for _ in range(4):
        step = engine.step(state, ask(small_talk=True, form=Form.CLOSED))
        assert step.plan.intent is Intent.SMALL_TALK and step.plan.reveal is None
        state = step.state
        trusts.append(state.trust)
    assert trusts[1] > trusts[0] and trusts[2] > trusts[1]
    assert trusts[4] < trusts[3]
    assert all(level == 0 for level in state.levels.values())
    assert state.phase is Phase.OPENING


def test_monologue_about_past_employers_costs_trust(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules)
    state, _ = engine.start()
    step = engine.step(state, tell(focus=Focus.CANDIDATE, past_employer=True, words=120))
    assert step.plan.intent is Intent.REDIRECT
    assert step.state.trust < state.trust


def test_manipulation_is_refused_and_costs_trust(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules)
    state, _ = engine.start()
    step = engine.step(state, ask("stretched-team", manipulation=True))
    assert step.plan.intent is Intent.REFUSE and step.plan.reveal is None
    assert step.state.trust < state.trust and step.state.levels == state.levels


def test_close_needs_uncovered_pain_points(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules, Difficulty.NORMAL)
    state, _ = engine.start(Connection.INSIDER_REFERRAL)
    early = engine.step(state, ask(next_step_ask=True))
    assert early.plan.intent is Intent.CLOSE_HESITANT
    assert early.plan.lines[1] in teresa.objections and early.state.phase is Phase.CLOSE
    for pain in ("stretched-team", "dispute-ratio-pressure"):
        state = engine.step(state, ask(pain)).state
        state = engine.step(state, ask(pain)).state
    close = engine.step(state, ask(next_step_ask=True))
    assert close.plan.intent is Intent.CLOSE_ACCEPT and close.state.phase is Phase.ENDED
    after = engine.step(close.state, ask("unreconciled-settlement"))
    assert after.plan.intent is Intent.WRAP_UP and after.plan.reveal is None


def test_lines_do_not_repeat_over_twenty_turns(library, rules: EngineRules) -> None:  # type: ignore[no-untyped-def]
    turns = [
        ask(small_talk=True, form=Form.CLOSED),
        ask(role_question=True),
        ask(form=Form.CLOSED),
        tell(focus=Focus.CANDIDATE),
        tell(),
        ask(vague_needs=True),
        ask(manipulation=True),
    ]
    for persona in library.personas:
        engine = Engine(persona, rules, Difficulty.HARD)
        state, plan = engine.start(Connection.BLIND_RESUME)
        said = [plan.text]
        for n in range(20):
            step = engine.step(state, turns[n % len(turns)])
            said.append(step.plan.text)
            state = step.state
        assert len(said) == len(set(said)), persona.id


def test_step_is_pure_and_deterministic(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules)
    state, _ = engine.start()
    frozen = state.model_copy(deep=True)
    a = engine.step(state, ask("stretched-team"))
    b = engine.step(state, ask("stretched-team"))
    assert a == b and state == frozen


def test_revealed_lines_are_exactly_the_unlocked_levels(teresa: Persona, rules: EngineRules) -> None:
    engine = Engine(teresa, rules, Difficulty.EASY)
    state, _ = engine.start(Connection.KNOWN_FROM_BEFORE)
    state = engine.step(state, ask("stretched-team")).state
    step = engine.step(state, ask("stretched-team"))
    assert step.plan.revealed == teresa.pain_point("stretched-team").levels[:2]
    assert InterviewState.model_validate_json(step.state.model_dump_json()) == step.state
