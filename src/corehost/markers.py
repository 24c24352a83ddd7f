"""pluggy markers for project ``corehost``.

Plugins write ``@corehost.hookimpl``; a plugin that owns a namespace may
declare hooks of its own with ``@corehost.hookspec`` in its plugin module.
"""

from __future__ import annotations

import pluggy

from corehost.hookspecs import PROJECT

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
