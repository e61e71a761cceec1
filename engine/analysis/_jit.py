"""Optional numba: ``maybe_njit`` compiles with numba when it is importable, else returns the function.

Set ``AVIN_NO_NUMBA=1`` to force the pure-Python path (the results are identical; tests check it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

numba: Any
try:  # pragma: no cover - depends on the environment
    if os.environ.get("AVIN_NO_NUMBA"):
        raise ImportError("disabled by AVIN_NO_NUMBA")
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    numba = None
    HAVE_NUMBA = False


def maybe_njit(func: Callable[..., Any]) -> Callable[..., Any]:
    """The numba-compiled ``func`` (lazily, cached on disk) or ``func`` itself."""
    if numba is None:  # pragma: no cover
        return func
    return numba.njit(cache=True, nogil=True)(func)  # type: ignore[no-any-return,unused-ignore]
