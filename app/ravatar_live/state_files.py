"""Where the app keeps what it learns between runs (the license journal, which player worked,
how the window is drawn): the user's state folder, `$XDG_STATE_HOME/ravatar-live` on Linux."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_state_dir


def state_file(name: str) -> Path:
    return Path(user_state_dir("ravatar-live", appauthor=False)) / name
