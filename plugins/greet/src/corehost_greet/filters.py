"""Filters that ship with the greet plugin."""

from __future__ import annotations


class Upper:
    """``greet.filters.upper``: SHOUT THE GREETING."""

    def apply(self, text: str) -> str:
        return text.upper()
