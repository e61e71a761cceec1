"""Entry point of the frozen ``avin`` binary (PyInstaller): the same ``main`` as the console script."""

import sys

from avin_tui.cli import main

if __name__ == "__main__":
    sys.exit(main())
