"""The task that ships with hostapp."""

from __future__ import annotations


class Upper:
    """``tasks.upper``: UPPER CASE."""

    def run(self, text: str) -> str:
        return text.upper()
