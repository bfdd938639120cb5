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

    def __init__(self, tokens: int, limit: int, approximate: bool = False) -> None:
        self.tokens = tokens
        self.limit = limit
        self.approximate = approximate
        super().__init__(
            f"Your message is {'about ' if approximate else ''}{tokens:,} tokens long; the limit is {limit:,}. "
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


CUT_REPLY = "The model endpoint stopped in the middle of its reply. Retry in a moment."


def describe_model_error(exc: BaseException) -> str:
    """A sentence a candidate can act on, for any failure of a model client."""
    kind = type(exc).__name__
    detail = _first_line(exc)
    # Clients wrap transport errors ("Connection error."); the innermost cause says what actually happened.
    root, seen = exc, {id(exc)}
    while root.__cause__ is not None and id(root.__cause__) not in seen:
        root = root.__cause__
        seen.add(id(root))
    root_detail = _first_line(root) or detail
    if "peer closed" in root_detail.lower() or "incomplete" in root_detail.lower():
        return CUT_REPLY
    if "Connection" in kind or "connect" in detail.lower():
        return f"The model endpoint can't be reached ({root_detail or kind}). Check that it is running, then retry."
    if "Timeout" in kind or "timed out" in detail.lower():
        return "The model endpoint did not answer in time. Retry, or raise `request_timeout` in the settings."
    if "RateLimit" in kind:
        return "The model endpoint is rate-limiting requests (HTTP 429). Wait a moment, then retry."
    if "Authentication" in kind or "PermissionDenied" in kind:
        return "The model endpoint refused the API key (check OPENAI_API_KEY)."
    if "NotFound" in kind:
        return f"The model endpoint does not know that model ({detail or kind}). Check the model name."
    status = getattr(exc, "status_code", None)
    if status:
        return f"The model endpoint failed with HTTP {status}. Retry in a moment."
    return f"The model failed: {kind}{': ' + detail if detail else ''}. Retry, or switch to the scripted voice."


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""
