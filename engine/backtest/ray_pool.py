"""Sweep tasks on a Ray cluster (``avin[ray]``): the same rows as :class:`LocalPool`, elsewhere.

The job (bars included) is put in the object store once; every task gets its reference, and each
Ray worker process reads it once and keeps it for the tasks that follow. Ray is imported only
here, only when asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from engine.backtest.sweep import Outcome, SweepJob, Task

INSTALL_HINT = "Ray is not installed: pip install 'avin[ray]' (or pip install ray)"


class RayUnavailable(ValueError):
    """Ray is not installed or its cluster cannot be reached; the message says what to do."""


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailable(INSTALL_HINT) from None
    return ray


class RayPool:
    """A context manager like :class:`LocalPool`; ``address`` is ``auto`` (the running cluster),
    a cluster address, or None for a Ray already initialised by the caller (tests)."""

    def __init__(self, job: SweepJob, address: str | None = "auto") -> None:
        self.job = job
        self.address = address
        self._ray: Any = None
        self._job_ref: Any = None
        self._started = False
        self._remote: Any = None

    def __enter__(self) -> RayPool:
        ray = self._ray = _ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else exc
                raise RayUnavailable(
                    f"cannot reach a Ray cluster at {self.address!r} ({detail}); start one with "
                    "`ray start --head` or give its address: --ray HOST:6379"
                ) from exc
            self._started = True
        self._job_ref = ray.put(self.job)
        self._remote = ray.remote(_ray_do)
        return self

    def __exit__(self, *exc: object) -> None:
        self._job_ref = None
        if self._started:
            self._ray.shutdown()
            self._started = False

    def map(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        """The outcomes in task order; closing early cancels the tasks not yet done."""
        # the reference goes inside a list so that Ray hands it over as is (not the job itself)
        pending = [self._remote.remote([self._job_ref], task) for task in tasks]
        try:
            for i, ref in enumerate(pending):
                yield self._ray.get(ref)
                pending[i] = None
        finally:
            for ref in pending:
                if ref is not None:
                    self._ray.cancel(ref, force=True)


_JOBS: dict[str, SweepJob] = {}  # in a Ray worker: the jobs read so far, by object id


def _ray_do(job_ref: list[Any], task: Task) -> Outcome:
    import ray

    ref = job_ref[0]
    key = ref.hex()
    job = _JOBS.get(key)
    if job is None:
        _JOBS.clear()  # one sweep at a time: drop an earlier job's bars
        job = _JOBS[key] = ray.get(ref)
    return job.do(task)
