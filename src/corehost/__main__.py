"""``python -m corehost``."""

from corehost.cli import entry

entry()
