"""Errors a user can cause, with messages written for that user."""

from __future__ import annotations


class PainpointError(Exception):
    """Base for errors whose message is meant to be shown as it is."""


class DataFileError(PainpointError):
    """A data file (persona, rules, rubric, transcript) is unreadable or invalid."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems) if len(problems) == 1 else self._multi())

    def _multi(self) -> str:
        return f"{self.source}:\n" + "\n".join(f"  {p}" for p in self.problems)


class UnknownPersonaError(PainpointError):
    """No persona with that id or path."""


class MessageTooLongError(PainpointError):
    """A candidate message is over the token limit; the message itself is kept by the caller."""

    def __init__(self, tokens: int, limit: int) -> None:
        self.tokens = tokens
        self.limit = limit
        super().__init__(
            f"Your message is {tokens:,} tokens long; the limit is {limit:,}. "
            "Shorten it and send it again (nothing was sent to the manager)."
        )


class EmptyMessageError(PainpointError):
    """A candidate message with nothing in it."""

    def __init__(self) -> None:
        super().__init__("Your message is empty: type something to say to the manager.")


class ModelUnavailableError(PainpointError):
    """The configured model can't be reached or failed; the candidate's message is kept."""


class ConfigError(PainpointError):
    """Settings that can't work (a missing model path, an unknown voice, ...)."""
