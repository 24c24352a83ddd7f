"""A greeter (namespace ``greeters``) and a filter (namespace ``greet.filters``)."""

from __future__ import annotations


class French:
    """``greeters.fr``: Bonjour, NAME !"""

    punctuation: str = "!"

    def greet(self, name: str) -> str:
        return f"Bonjour, {name} {self.punctuation}"


class Guillemets:
    """``greet.filters.guillemets``: « quotes the greeting »."""

    def apply(self, text: str) -> str:
        return f"« {text} »"
