"""Starting the web app: the environment Chainlit needs, built once, then the process is handed over."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from painpoint.errors import ConfigError
from painpoint.resources import app_root


def auth_secret(root: Path) -> str:
    """$CHAINLIT_AUTH_SECRET, or a random secret kept (owner-only) in `.painpoint/` so sessions survive restarts."""
    configured = os.environ.get("CHAINLIT_AUTH_SECRET")
    if configured:
        return configured
    path = root / ".painpoint" / "auth_secret"
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret


def serve_command(host: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The `chainlit run` command line and environment for the app.

    Raises:
        ConfigError: when the web app's files are missing from this installation.
    """
    try:
        root = app_root()
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    environment = dict(os.environ)
    environment.update(
        CHAINLIT_APP_ROOT=str(root),
        CHAINLIT_AUTH_SECRET=auth_secret(root),
        CHAINLIT_HOST=host,
        CHAINLIT_PORT=str(port),
    )
    # Chainlit's CI mode swaps in a fake OPENAI_API_KEY; the app reads its own settings, so keep it off.
    environment.pop("CI", None)
    app = Path(__file__).with_name("chainlit_entry.py")
    command = [sys.executable, "-m", "chainlit", "run", str(app), "--headless", "--host", host, "--port", str(port)]
    return command, environment
