"""The running host notices a stop asked for by its config's own apps at once, not at its next poll."""

from __future__ import annotations

import threading
import time

from corehost import Host
from corehost.context import Context
from corehost.reload import Live


class OneShot:
    """An app that finishes its work on a thread of its own, as a one-shot app does."""

    def provision(self, ctx: Context) -> None:
        self.ctx = ctx

    def start(self) -> None:
        threading.Timer(0.05, self.ctx.request_stop, ("done",)).start()

    def stop(self) -> None:
        pass


def test_an_app_asking_to_stop_wakes_the_host_before_its_poll_ends() -> None:
    host = Host.from_objects(modules={"oneshot": OneShot})
    config = {"apps": {"oneshot": {}}}
    running = host.provision(config)
    host.start(running)
    live = Live(host, config, running)
    began = time.monotonic()
    # The poll is 30 s: only the app's own request can end this wait early.
    assert live.wait(30.0)
    assert time.monotonic() - began < 10.0
    assert live.reason == "done"
    live.close(live.reason)


def test_a_stop_asked_for_before_the_wait_is_seen_at_once() -> None:
    host = Host.from_objects(modules={"oneshot": OneShot})
    config = {"apps": {"oneshot": {}}}
    running = host.provision(config)
    live = Live(host, config, running)
    running.ctx.request_stop("early")
    began = time.monotonic()
    assert live.wait(30.0)
    assert time.monotonic() - began < 10.0
    assert live.reason == "early"
    live.close(live.reason)
