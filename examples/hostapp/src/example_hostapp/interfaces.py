"""Namespace ``tasks``: one step of a pipeline."""

from __future__ import annotations

from typing import Protocol


class Task(Protocol):
    """Turns a text into another text."""

    def run(self, text: str) -> str: ...
