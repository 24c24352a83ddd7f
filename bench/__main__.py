"""``python -m bench``: what ``bench/run`` executes once the bench environment is installed."""

from __future__ import annotations

from bench.main import main

raise SystemExit(main())
