"""Where the shipped data lives: the repository's top-level folders, or a copy inside the package."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parents[1]


def data_dir(name: str) -> Path:
    """Return a shipped data folder (`personas`, `prompts`, `rules`, `evals`).

    In a source checkout (the README's editable install) the top-level folder is used, so a
    coach's edit shows at once; a wheel carries a copy under the package.
    """
    for candidate in (_REPO / name, _PACKAGE / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"painpoint's {name!r} folder is missing from this installation")


def app_root() -> Path:
    """The folder the web app runs in: it holds `chainlit.md`, `.chainlit/` and `public/`."""
    for candidate in (_REPO, _PACKAGE / "_data"):
        if (candidate / "chainlit.md").is_file():
            return candidate
    raise FileNotFoundError("painpoint's chainlit.md is missing from this installation")
