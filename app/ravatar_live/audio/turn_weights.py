"""Where the end-of-turn model's weights come from and how we know they are the right ones.

The weights are not in this repository. ``scripts/fetch-turn-model.py`` (run by the Makefile at
install time) downloads the ``pipecat-ai`` wheel pinned below with pip, without installing it or
any of its dependencies, takes the one ``.onnx`` file out, checks its SHA-256 and stores it in
``models/`` beside this module, where ``pip install`` (package data) and the PyInstaller bundle
pick it up. Nothing is fetched at run time.

Standard library only: the install script imports this module before the venv has numpy.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from ravatar_live.audio.errors import AudioError

MODEL_FILE: Final = "smart-turn-v3.2-cpu.onnx"
MODEL_SHA256: Final = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
# The wheel that carries the weights (BSD-2, like the model), pinned, and the file inside it.
SOURCE_REQUIREMENT: Final = "pipecat-ai==1.14.0"
SOURCE_MEMBER: Final = f"pipecat/audio/turn/smart_turn/data/{MODEL_FILE}"


class TurnModelUnavailableError(AudioError):
    """The end-of-turn model is missing, damaged or cannot run here."""


def default_model_path() -> Path:
    return Path(__file__).with_name("models") / MODEL_FILE


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model_file(path: Path) -> None:
    """Raise TurnModelUnavailableError unless ``path`` holds exactly the expected weights."""
    if not path.is_file():
        raise TurnModelUnavailableError(
            "The end-of-turn model is not installed.",
            detail=f"{path} is missing; run scripts/fetch-turn-model.py")
    actual = file_sha256(path)
    if actual != MODEL_SHA256:
        raise TurnModelUnavailableError(
            "The end-of-turn model file is damaged.",
            detail=f"{path.name}: SHA-256 {actual[:12]}..., expected {MODEL_SHA256[:12]}...")
