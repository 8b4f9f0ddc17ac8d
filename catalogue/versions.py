"""How catalogue versions are named: the file's version, then the versions published after it."""

from __future__ import annotations


def next_version(root: str, sequence: int) -> str:
    """haishu-2026.01.1 → haishu-2026.01.1+r3: the file's version and how many versions came after it."""
    return f"{root.split('+', 1)[0]}+r{sequence}"
