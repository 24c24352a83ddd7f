"""corehost-build: resolve a plugin set into a locked, guarded virtualenv.

What xcaddy is to Caddy: it takes the plugins a user names, resolves them
with the host into one consistent set (uv), writes a PEP 751 lock, installs
it with hashes enforced, runs the runtime's interface guards inside the new
environment, and freezes the registry so the bundle runs exactly what was
built and checked.
"""

from __future__ import annotations

__version__ = "0.1.0"
