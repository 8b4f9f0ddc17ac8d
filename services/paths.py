"""Where the repository sits: a module of its own so that commands can find files without loading settings."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
