"""The ``hostapp`` console script: corehost's CLI under hostapp's name and spec."""

from __future__ import annotations

from corehost.cli import entry
from example_hostapp.host import SPEC


def main() -> None:
    entry(SPEC)
