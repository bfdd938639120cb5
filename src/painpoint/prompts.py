"""Prompt templates live in `prompts/` as files and render strictly: a missing or unknown variable is an error."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from string import Template

from painpoint.errors import PainpointError
from painpoint.resources import data_dir


class PromptError(PainpointError):
    """A prompt template was rendered with the wrong variables."""


class PromptTemplate:
    """A `$variable` template read from a file."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self._template = Template(text)
        if not self._template.is_valid():
            raise PromptError(f"prompt {name!r} has a malformed placeholder")

    @property
    def variables(self) -> set[str]:
        """The variables this template needs."""
        return set(self._template.get_identifiers())

    def render(self, **values: str) -> str:
        """Fill in every variable.

        Raises:
            PromptError: listing missing or unexpected variables.
        """
        missing = sorted(self.variables - values.keys())
        extra = sorted(values.keys() - self.variables)
        if missing or extra:
            problems = []
            if missing:
                problems.append(f"missing {', '.join(missing)}")
            if extra:
                problems.append(f"unexpected {', '.join(extra)}")
            raise PromptError(f"prompt {self.name!r}: {'; '.join(problems)}")
        return self._template.substitute(values)


@lru_cache(maxsize=32)
def load_prompt(name: str, folder: Path | None = None) -> PromptTemplate:
    """Load `prompts/<name>.md`."""
    path = (folder or data_dir("prompts")) / f"{name}.md"
    return PromptTemplate(name, path.read_text(encoding="utf-8"))
