"""``python -m avin_tui.cli``: the ``avin`` command (how ``avin supervise`` restarts it)."""

import sys

from avin_tui.cli import main

sys.exit(main())
