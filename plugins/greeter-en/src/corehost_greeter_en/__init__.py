"""``greeters.en``: Hello, NAME!"""

from __future__ import annotations


class English:
    punctuation: str = "!"

    def greet(self, name: str) -> str:
        return f"Hello, {name}{self.punctuation}"
