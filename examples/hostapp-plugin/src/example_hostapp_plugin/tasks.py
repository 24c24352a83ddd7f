"""``tasks.reverse``: txet eht sesrever."""

from __future__ import annotations


class Reverse:
    def run(self, text: str) -> str:
        return text[::-1]
