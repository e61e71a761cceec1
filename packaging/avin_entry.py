"""Entry point of the frozen ``avin`` binary (PyInstaller): the same ``main`` as the console script."""

import multiprocessing
import sys

from avin_tui.cli import main

if __name__ == "__main__":
    # a sweep's worker processes are this executable started again: run the worker, not the CLI
    multiprocessing.freeze_support()
    sys.exit(main())
