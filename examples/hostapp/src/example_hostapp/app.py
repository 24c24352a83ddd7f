"""App ``pipeline``: runs ``text`` through ``tasks`` and prints the result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corehost import Context
from example_hostapp import hookspecs
from example_hostapp.interfaces import Task


@dataclass
class Pipeline:
    text: str
    tasks: list[dict[str, Any]]

    def provision(self, ctx: Context) -> None:
        self._ctx = ctx
        self._tasks: list[Task] = ctx.load_module(self.tasks, namespace="tasks")

    def start(self) -> None:
        text = self.text
        for config, task in zip(self.tasks, self._tasks, strict=True):
            text = task.run(text)
            # Typed: mypy checks these arguments against the hookspec.
            self._ctx.hooks.call(hookspecs.hostapp_task_done, task=config["module"], result=text)
        print(text, flush=True)
        self._ctx.request_stop("pipeline: done")

    def stop(self) -> None:
        pass
