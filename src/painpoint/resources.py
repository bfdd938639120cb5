"""Where things live: the shipped data, and the user's own data.

The shipped data is the checkout's top-level folders, or a copy inside the package. The user's own data (the
database, the sign-in secret, per-process folders) never goes inside the install.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parents[1]
# A source checkout (the README's editable install) has the package under src/ beside pyproject.toml; an
# installed wheel sits in site-packages, where the folder two levels up is nobody's checkout.
_CHECKOUT = _REPO if (_REPO / "pyproject.toml").is_file() and (_REPO / "src" / "painpoint").is_dir() else None
_SHIPPED = [folder for folder in (_CHECKOUT, _PACKAGE / "_data") if folder is not None]


def data_dir(name: str) -> Path:
    """Return a shipped data folder (`personas`, `prompts`, `rules`, `evals`).

    In a source checkout the top-level folder is used, so a coach's edit shows at once; a wheel carries a copy
    under the package.
    """
    for root in _SHIPPED:
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(f"painpoint's {name!r} folder is missing from this installation")


def app_root() -> Path:
    """The folder the web app's files come from: it holds `chainlit.md`, `.chainlit/` and `public/`."""
    for root in _SHIPPED:
        if (root / "chainlit.md").is_file():
            return root
    raise FileNotFoundError("painpoint's chainlit.md is missing from this installation")


def user_home() -> Path:
    """The folder for the user's own data: `$PAINPOINT_HOME`, else `.painpoint/` in the current folder.

    Returned as an absolute path, so a child process started elsewhere finds the same folder.
    """
    configured = os.environ.get("PAINPOINT_HOME", "").strip()
    return Path(configured).expanduser().resolve() if configured else Path.cwd().resolve() / ".painpoint"
