"""``python -m gitkube``: the CLI, for hooks, cron and systemd units that name an interpreter."""

from __future__ import annotations

import sys

from gitkube.cli.main import main

sys.exit(main())
