"""Self-play: a scripted candidate (strong, average or weak) against the engine, for regression and the bench."""

from __future__ import annotations

from enum import StrEnum

from painpoint.conversation.interview import Interview
from painpoint.conversation.transcript import Transcript
from painpoint.scenario.persona import Mode, Persona


class Level(StrEnum):
    """How good the simulated candidate is."""

    STRONG = "strong"
    AVERAGE = "average"
    WEAK = "weak"


def _short(line: str, words: int = 9) -> str:
    text = " ".join(line.rstrip(".").split()[:words]).rstrip(",;:")
    return text[:1].lower() + text[1:] if text[:2] != "I " else text


def simulate(interview: Interview, level: Level) -> Transcript:
    """Play one candidate through the interview. The candidate only hears what the manager says."""
    persona = interview.persona
    interview.open()
    if level is Level.STRONG:
        _strong(interview, persona)
    elif level is Level.AVERAGE:
        _average(interview, persona)
    else:
        _weak(interview, persona)
    return interview.transcript


def _strong(interview: Interview, persona: Persona) -> None:
    interview.respond(f"Thanks for making the time, {persona.name.split()[0].rstrip(',')}. How has your week been?")
    heard: list[str] = []
    for pain in persona.pain_points:
        reply = interview.respond(pain.probes[0])
        for follow in ("Tell me more about that.", "What happens if that doesn't get solved?"):
            if not reply.revealed:
                break
            heard.append(reply.text)
            reply = interview.respond(follow)
        if reply.revealed:
            heard.append(reply.text)
            interview.respond(
                f"When you say {_short(reply.text)}, I've fixed exactly that kind of problem before, "
                "and I can take it off your plate here."
            )
    interview.respond("How do you like to work with the people on your team?")
    recap = " and ".join(_short(line) for line in heard[-2:]) or "what you need"
    closing = interview.respond(
        f"You told me {recap}. I can solve both, starting in my first month. "
        "I'm really interested in this role: can you see me in it, and what's the next step?"
    )
    if persona.mode is Mode.SALES_AUDITION and closing.intent == "close_hesitant":
        interview.respond(
            f"That's a fair concern: {_short(closing.text, 14)}. Here's how I'd prove it in my first thirty "
            "days, with a plan you can check me against. Does that address your concern?"
        )
        interview.respond("So, based on that, what's the next step?")


def _average(interview: Interview, persona: Persona) -> None:
    for line in (
        "Hi, thanks for having me.",
        "What does a typical day look like in this role?",
        "What's the biggest challenge you're facing right now?",
        persona.pain_points[0].probes[1 % len(persona.pain_points[0].probes)],
        "Is the team in the office every day?",
        "In my current job I handle a lot of this already, so I think I'd pick it up quickly.",
        "What would success look like in the first ninety days?",
        "Great. So what are the next steps?",
    ):
        interview.respond(line)


def _weak(interview: Interview, persona: Persona) -> None:
    fluff = persona.fluff[0]
    for line in (
        "Hi. Yeah, I saw the posting online and figured I'd apply.",
        "So, about me: at my last company I managed a lot of projects, I led the team through a big system "
        "migration, I trained new hires, and I was promoted twice in three years. I really grew a lot there.",
        f"Can you tell me more about this: {fluff.text}?",
        "Is the role remote?",
        "Do you offer a signing bonus?",
        "At my previous job I also built a lot of reports, and my old boss said I was the best analyst she had.",
        "Okay. I think that's all my questions.",
    ):
        interview.respond(line)
