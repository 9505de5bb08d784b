"""What the demo leaves in a checkout: git ignores all of it, and ``make clean`` removes it.

The paths are the ones the demo's code computes (``state_directory``, ``key_path``), for an SQLite database and for
a PostgreSQL one, so that a change of naming there cannot leave files in ``git status`` unnoticed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kleline.banksim.journal import key_path
from kleline.demo.bank import state_directory

ROOT = Path(__file__).resolve().parents[2]


def _leftovers(directory: Path) -> list[Path]:
    """The demo's database (SQLite, with its writers' lock file) and its bank's state and key, for ``make demo``'s
    default and for PostgreSQL."""
    paths = [directory / name for name in ("demo.db", "demo.db-wal", "demo.db-shm", "demo.db-writers.lock")]
    for url in ("sqlite:///demo.db", "postgresql://kleline@127.0.0.1/kleline"):
        state = state_directory(url, cwd=directory)
        if not state.is_absolute():
            state = directory / state
        paths += [state, key_path(state)]
    return paths


def test_git_ignores_everything_the_demo_leaves_in_the_checkout() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for path in _leftovers(ROOT):
        name = str(path.relative_to(ROOT)) + ("/" if path.name.endswith("-bank") else "")
        checked = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", "--no-index", name], check=False)
        assert checked.returncode == 0, f"{name} would show in git status"


def test_make_clean_removes_everything_the_demo_leaves(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("no make")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    leftovers = _leftovers(tmp_path)
    for path in leftovers:
        if path.name.endswith("-bank"):
            path.mkdir()
            (path / "journal").write_text("state")
        else:
            path.write_text("data")
    kept = tmp_path / "notes.txt"
    kept.write_text("mine")

    subprocess.run(["make", "-s", "clean"], cwd=tmp_path, check=True, capture_output=True)

    assert [path for path in leftovers if path.exists()] == []
    assert kept.exists()
