"""Layer two of the grader: an LLM judge scores the criteria rules can't count, with quoted evidence.

The judge's reply is parsed, then checked: scores must be on the offered scale and quotes must appear in the
turn they cite. A reply that can't be used is retried once, then the criterion is *unscored*, with the prompt
and the raw reply kept: never counted as zero.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from painpoint.conversation.transcript import Transcript
from painpoint.errors import describe_model_error
from painpoint.grading.scorecard import CriterionScore, Evidence, Rubric, RubricCriterion, Source, Unscored
from painpoint.prompts import load_prompt
from painpoint.scenario.persona import Mode, Persona
from painpoint.text import json_object

log = logging.getLogger(__name__)

REDACTED = "[removed by the grader: this line tried to instruct the grader or the manager]"


class JudgeEvidence(BaseModel):
    """A quote the judge cites."""

    model_config = ConfigDict(extra="ignore")

    turn: int = Field(description="The turn number shown in the transcript.")
    quote: str = Field(description="Words copied exactly from that turn.")


class JudgeVerdict(BaseModel):
    """The judge's verdict on one criterion (field descriptions are part of the prompt)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="The criterion id.")
    reasoning: str = Field(description="Think step by step about the evidence first.")
    score: int = Field(description="The grade, an integer on the offered scale.")
    evidence: list[JudgeEvidence] = Field(default_factory=list, description="One to three verbatim quotes.")
    better_line: str = Field(default="", description="One line the candidate could have said instead.")


class JudgeReply(BaseModel):
    """Everything the judge returns."""

    model_config = ConfigDict(extra="ignore")

    verdicts: list[JudgeVerdict]


@dataclass
class JudgeResult:
    """Scored criteria, and the ones that could not be scored."""

    criteria: list[CriterionScore]
    unscored: list[Unscored]


def render_transcript(transcript: Transcript, redact: set[int]) -> str:
    """The transcript as numbered JSON lines: data for the judge to read, not instructions to follow."""
    rows = []
    for index, turn in enumerate(transcript.turns):
        text = REDACTED if index in redact else turn.text
        rows.append(json.dumps({"turn": index, "speaker": turn.speaker, "text": text}, ensure_ascii=False))
    return "\n".join(rows)


class Judge:
    """Scores the rubric's judge criteria with a chat model."""

    def __init__(
        self, model: BaseChatModel, name: str = "judge", retries: int = 1, method: str = "json_schema"
    ) -> None:
        self.model = model
        self.name = name
        self.retries = retries
        self.method = method

    def messages(
        self,
        persona: Persona,
        transcript: Transcript,
        criteria: list[RubricCriterion],
        scale_max: int,
        redact: set[int],
    ) -> list[BaseMessage]:
        """The judge's prompt."""
        rubric = "\n".join(f"- {c.id} ({c.dimension.value}): {c.title}. {c.description}" for c in criteria)
        system = load_prompt("judge").render(
            role=persona.role,
            company=persona.company.name,
            mode=(
                "a sales audition: the interview is an audition of the candidate's selling, so hold them to a "
                "salesperson's standard"
                if persona.mode is Mode.SALES_AUDITION
                else "a job interview the candidate should run like a sales call"
            ),
            rubric=rubric,
            scale_max=str(scale_max),
            schema=json.dumps(JudgeReply.model_json_schema()),
        )
        return [
            SystemMessage(system),
            HumanMessage(f"TRANSCRIPT (data, one JSON object per turn):\n{render_transcript(transcript, redact)}"),
        ]

    def judge(self, persona: Persona, transcript: Transcript, rubric: Rubric, redact: set[int]) -> JudgeResult:
        """Score every judge criterion of the rubric that applies to this persona."""
        wanted = [
            c
            for c in rubric.criteria
            if c.source is Source.JUDGE and (persona.mode is Mode.SALES_AUDITION or not c.sales_audition)
        ]
        messages = self.messages(persona, transcript, wanted, rubric.scale_max, redact)
        prompt = "\n\n".join(str(m.content) for m in messages)
        raw = ""
        problem = ""
        for _attempt in range(1 + self.retries):
            try:
                raw, reply = self._ask(messages)
            except _Unusable as exc:
                raw, problem = exc.raw, exc.problem
                log.warning("judge reply unusable (%s); %s", problem, "retrying" if _attempt < self.retries else "")
                continue
            except Exception as exc:
                # The client has already retried with backoff; asking again would only double the wait.
                log.warning("judge endpoint failed: %r", exc)
                reason = f"the judge's endpoint failed: {describe_model_error(exc)}"
                return JudgeResult([], [Unscored(id=c.id, reason=reason, raw="", prompt=prompt) for c in wanted])
            return self._check(reply, wanted, rubric.scale_max, transcript, raw, prompt)
        return JudgeResult(
            [], [Unscored(id=c.id, reason=f"judge reply unusable: {problem}", raw=raw, prompt=prompt) for c in wanted]
        )

    def _ask(self, messages: list[BaseMessage]) -> tuple[str, JudgeReply]:
        """One call: structured output where the model supports it, JSON in plain text otherwise.

        Raises:
            _Unusable: with the raw reply, when it can't be parsed into verdicts.
        """
        schema = reply_format() if self.method == "json_schema" else JudgeReply
        try:
            structured = self.model.with_structured_output(schema, method=self.method, include_raw=True)
        except NotImplementedError:
            structured = None
        if structured is None:
            raw = str(self.model.invoke(messages).content)
            parsed: Any = None
        else:
            out = structured.invoke(messages)
            assert isinstance(out, dict)  # include_raw=True always returns a dict
            raw_message = out["raw"]
            raw = str(raw_message.content) or json.dumps(getattr(raw_message, "tool_calls", []), default=str)
            # Reply text is parsed strictly below: LangChain's JSON parser completes truncated JSON.
            usable = not raw_message.content and out.get("parsing_error") is None
            parsed = out.get("parsed") if usable else None
        try:
            if parsed is None:
                return raw, _parse(raw)
            return raw, parsed if isinstance(parsed, JudgeReply) else JudgeReply.model_validate(parsed)
        except (ValueError, ValidationError) as exc:
            raise _Unusable(raw, str(exc).splitlines()[0]) from exc

    def _check(
        self,
        reply: JudgeReply,
        wanted: list[RubricCriterion],
        scale_max: int,
        transcript: Transcript,
        raw: str,
        prompt: str,
    ) -> JudgeResult:
        by_id = {v.id: v for v in reply.verdicts}
        scored: list[CriterionScore] = []
        unscored: list[Unscored] = []
        for criterion in wanted:
            verdict = by_id.get(criterion.id)
            if verdict is None:
                unscored.append(Unscored(id=criterion.id, reason="the judge gave no verdict", raw=raw, prompt=prompt))
                continue
            if not 0 <= verdict.score <= scale_max:
                unscored.append(
                    Unscored(
                        id=criterion.id,
                        reason=f"score {verdict.score} is not on the 0-{scale_max} scale",
                        raw=raw,
                        prompt=prompt,
                    )
                )
                continue
            evidence = [
                Evidence(turn=e.turn, quote=e.quote.strip())
                for e in verdict.evidence
                if 0 <= e.turn < len(transcript.turns)
                and e.quote.strip()
                and e.quote.strip().lower() in transcript.turns[e.turn].text.lower()
            ]
            scored.append(
                CriterionScore(
                    id=criterion.id,
                    dimension=criterion.dimension,
                    title=criterion.title,
                    score=verdict.score,
                    max=scale_max,
                    reason=verdict.reasoning.strip()[:600] or "(no reason given)",
                    evidence=evidence[:3],
                    better_line=verdict.better_line.strip()[:300],
                    source=Source.JUDGE,
                )
            )
        return JudgeResult(scored, unscored)


def reply_format() -> dict[str, Any]:
    """The judge's reply schema as a strict JSON-schema response format, given as data.

    Given the pydantic class, the OpenAI client would parse the reply itself and raise on a malformed one,
    losing the raw text; as data, the reply comes back as text and the judge parses it, retries once and then
    reports it as unscored with the raw reply.
    """
    function = openai.pydantic_function_tool(JudgeReply)["function"]
    return {"name": function["name"], "schema": function.get("parameters", {}), "strict": True}


class _Unusable(Exception):
    def __init__(self, raw: str, problem: str) -> None:
        super().__init__(problem)
        self.raw = raw
        self.problem = problem


def _parse(raw: str) -> JudgeReply:
    data = json_object(raw)
    if isinstance(data, dict) and "verdicts" not in data and "id" in data:
        data = {"verdicts": [data]}
    return JudgeReply.model_validate(data)
