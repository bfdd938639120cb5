"""Starting the web app: the environment Chainlit needs, built once, then the process is handed over."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sys
from pathlib import Path

from painpoint.errors import ConfigError
from painpoint.resources import app_root, user_home


def auth_secret(home: Path) -> str:
    """$CHAINLIT_AUTH_SECRET, or a random secret kept (owner-only) in the user's data folder, surviving restarts.

    Processes starting together on one data folder agree on the secret: it is written in full to a file of its own,
    then linked into place, so no process reads a half-written secret or keeps one another has replaced.
    """
    configured = os.environ.get("CHAINLIT_AUTH_SECRET")
    if configured:
        return configured
    path = home / "auth_secret"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"auth_secret.{os.getpid()}.{secrets.token_hex(4)}")
        draft.touch(mode=0o600)
        try:
            draft.write_text(secrets.token_urlsafe(48))
            os.link(draft, path)
        except FileExistsError:
            pass  # another process was first: its secret stands
        except OSError:
            draft.replace(path)  # a file system without hard links
        finally:
            draft.unlink(missing_ok=True)
    return path.read_text().strip()


def chainlit_root(root: Path, home: Path, host: str, port: int) -> Path:
    """A folder of this process's own for Chainlit under the data folder `home`, linking to the app's files in `root`.

    Chainlit keeps the files it serves (every element's content) in `.files/` under its app root and deletes that
    folder when it stops, so processes sharing one root would delete each other's files: each `painpoint serve`
    (one per host and port) runs Chainlit in `serve/HOST-PORT/` of the data folder instead.
    """
    folder = home / "serve" / re.sub(r"[^\w.-]", "_", f"{host}-{port}")
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("chainlit.md", ".chainlit", "public"):
        link, target = folder / name, root / name
        if not target.exists() or (link.is_symlink() and link.readlink() == target):
            continue
        if link.is_symlink():
            link.unlink()
        with contextlib.suppress(FileExistsError):  # made just now by a process starting on the same port
            link.symlink_to(target, target_is_directory=target.is_dir())
    return folder


def serve_command(host: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The `chainlit run` command line and environment for the app.

    Raises:
        ConfigError: when the web app's files are missing from this installation.
    """
    try:
        root = app_root()
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    home = user_home()
    environment = dict(os.environ)
    environment.update(
        PAINPOINT_HOME=str(home),  # Chainlit runs the app from its own folder: the data stays where we started
        CHAINLIT_APP_ROOT=str(chainlit_root(root, home, host, port)),
        CHAINLIT_AUTH_SECRET=auth_secret(home),
        CHAINLIT_HOST=host,
        CHAINLIT_PORT=str(port),
    )
    # Chainlit's CI mode swaps in a fake OPENAI_API_KEY; the app reads its own settings, so keep it off.
    environment.pop("CI", None)
    app = Path(__file__).with_name("chainlit_entry.py")
    command = [sys.executable, "-m", "chainlit", "run", str(app), "--headless", "--host", host, "--port", str(port)]
    return command, environment
