"""``greeters.zh``: 你好, NAME!"""

from __future__ import annotations


class Chinese:
    punctuation: str = "!"

    def greet(self, name: str) -> str:
        return f"你好, {name}{self.punctuation}"
