"""Step-by-step progress on stderr, and the timings for ``--json``.

Each step prints one line when it ends, with how long it took, so a slow
build shows where its time went; ``--quiet`` silences the lines but the
timings are still kept for the JSON summary.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Times named steps and reports each on ``stream`` unless quiet."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.steps: dict[str, float] = {}
        self.started = time.perf_counter()
        self._note = ""

    def note(self, text: str) -> None:
        """A detail shown after the current step's time (e.g. ``12 packages``)."""
        self._note = text

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"corehost-build: {text}", file=self.stream, flush=True)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self._note = ""
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.steps[name] = round(elapsed, 4)
        self.say(f"{name:<8} {elapsed:6.2f} s{'  ' + self._note if self._note else ''}")

    @property
    def total(self) -> float:
        return round(time.perf_counter() - self.started, 4)
