"""hostapp's own hook, beside corehost's."""

from __future__ import annotations

from corehost import hookspec


@hookspec
def hostapp_task_done(task: str, result: str) -> None:
    """Task module ``tasks.<task>`` turned the text into ``result``."""
