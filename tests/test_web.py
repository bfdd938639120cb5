"""Starting the web app: what several `painpoint serve` processes on one app root must (not) share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from painpoint.resources import user_home
from painpoint.web import serve as web
from painpoint.web.serve import chainlit_root
from painpoint.web.store import database_url

from .conftest import REPO


def test_each_process_runs_chainlit_in_a_folder_of_its_own(tmp_path: Path) -> None:
    # Chainlit deletes `.files/` under its app root when it stops: a shared one would take other processes' files.
    (tmp_path / "chainlit.md").write_text("# hello\n")
    (tmp_path / ".chainlit").mkdir()
    (tmp_path / "public").mkdir()
    first, second = (
        chainlit_root(tmp_path, tmp_path / ".painpoint", "127.0.0.1", 8001),
        chainlit_root(tmp_path, tmp_path / ".painpoint", "0.0.0.0", 8002),
    )
    assert first != second and first.parent == second.parent == tmp_path / ".painpoint" / "serve"
    for folder in (first, second):
        for name in ("chainlit.md", ".chainlit", "public"):
            assert (folder / name).resolve() == (tmp_path / name).resolve()
    assert (first / "chainlit.md").read_text() == "# hello\n"
    assert (
        chainlit_root(tmp_path, tmp_path / ".painpoint", "127.0.0.1", 8001) == first
    )  # the same folder again, on a restart


def test_serve_command_points_chainlit_at_the_process_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("chainlit.md", ".chainlit", "public"):
        source = REPO / name
        (tmp_path / name).symlink_to(source, target_is_directory=source.is_dir())
    monkeypatch.setattr(web, "app_root", lambda: tmp_path)
    monkeypatch.setenv("PAINPOINT_HOME", str(tmp_path / ".painpoint"))
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "s" * 48)
    _, environment = web.serve_command("127.0.0.1", 8123)
    root = Path(environment["CHAINLIT_APP_ROOT"])
    assert root == tmp_path / ".painpoint" / "serve" / "127.0.0.1-8123"
    assert (root / "chainlit.md").is_file() and (root / ".chainlit" / "config.toml").is_file()
    assert environment["CHAINLIT_AUTH_SECRET"] == "s" * 48
    assert environment["PAINPOINT_HOME"] == str(tmp_path / ".painpoint")


def test_user_data_goes_to_painpoint_home_else_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAINPOINT_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert user_home() == tmp_path.resolve() / ".painpoint"
    assert database_url(user_home()) == f"sqlite+aiosqlite:///{tmp_path.resolve() / '.painpoint' / 'painpoint.db'}"
    monkeypatch.setenv("PAINPOINT_HOME", str(tmp_path / "elsewhere"))
    assert user_home() == (tmp_path / "elsewhere").resolve()
    assert not (tmp_path / "elsewhere").exists()  # made only when something is written there


def test_processes_starting_together_agree_on_the_generated_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHAINLIT_AUTH_SECRET", raising=False)
    code = (
        "import sys, pathlib; from painpoint.web.serve import auth_secret; "
        "print(auth_secret(pathlib.Path(sys.argv[1]) / '.painpoint'))"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    secrets = {process.communicate(timeout=60)[0].strip() for process in processes}
    stored = (tmp_path / ".painpoint" / "auth_secret").read_text()
    assert secrets == {stored} and len(stored) >= 48
    assert (tmp_path / ".painpoint" / "auth_secret").stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in (tmp_path / ".painpoint").iterdir()) == ["auth_secret"]
