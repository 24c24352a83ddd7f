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
        #: Lines said while held (see :meth:`hold`), printed by :meth:`release` or dropped.
        self._held: list[str] | None = None

    def hold(self) -> None:
        """Keep what is said from now on: an up-to-date build prints one line, not the steps that found it."""
        self._held = []

    def release(self, *, show: bool = True) -> None:
        """Print the held lines (unless ``show`` is false) and say things directly again."""
        held, self._held = self._held or [], None
        for text in held if show else ():
            self.say(text)

    def note(self, text: str) -> None:
        """A detail shown after the current step's time (e.g. ``12 packages``)."""
        self._note = text

    def say(self, text: str) -> None:
        if self._held is not None:
            self._held.append(text)
        elif not self.quiet:
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
