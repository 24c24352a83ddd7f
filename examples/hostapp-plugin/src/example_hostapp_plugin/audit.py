"""Hookimpls: an audit line on stderr for every task hostapp runs."""

from __future__ import annotations

import sys

from example_hostapp import hookspecs

from corehost.hooks import implements


@implements(hookspecs.hostapp_task_done)
def audit(task: str, result: str) -> None:
    print(f"audit: {task} -> {result}", file=sys.stderr)
