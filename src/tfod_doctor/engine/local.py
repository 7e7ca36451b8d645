"""Running the work on this machine: in this process, or in a pool of worker processes.

Workers get work as (file, byte range) and send back small partial results (capped findings,
file stats, aggregator states) — never record data. Results are merged in the order of the work,
so the report is the same whatever the number of workers or the size of the pieces.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from tfod_doctor.checks import base, framing
from tfod_doctor.checks.base import Aggregator, RecordCheck
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.engine.chain import FileChain
from tfod_doctor.engine.partial import Partial, Piece
from tfod_doctor.engine.process import Progress, process
from tfod_doctor.engine.split import split_size, splittable, tasks
from tfod_doctor.engine.work import WorkItem
from tfod_doctor.records.sources import InputProblem, ProblemKind

#: Below this many bytes a pool of workers costs more than it saves.
PARALLEL_MIN_BYTES = 8 << 20
_POLL_SECONDS = 0.1


def default_workers() -> int:
    """How many worker processes to use by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_local(
    items: Sequence[WorkItem],
    ctx: CheckContext,
    progress: Progress | None = None,
    workers: int | None = None,
    split_bytes: int | None = None,
) -> Partial:
    """Check every item and merge the results; in worker processes when that pays off.

    ``split_bytes`` forces the pool and sets the size of the pieces large files are cut into
    (tests use it to cut files into many tiny pieces).
    """
    workers = default_workers() if workers is None else max(1, workers)
    total = sum(item.length for item in items)
    size = split_bytes or split_size(total, workers)
    parallel = workers > 1 and (
        split_bytes is not None
        or (total >= PARALLEL_MIN_BYTES
            and (len(items) > 1 or any(splittable(i, size) for i in items)))
    )
    if not parallel:
        return run_sequential(items, ctx, progress)
    # No more workers than there can be tasks, nor than CPUs (a thousand asked for would each
    # be a process); two at least, so a pool asked for is a pool even on one CPU.
    at_most = min(len(items) + total // size, default_workers())
    return _run_pool(items, ctx, progress, min(workers, max(2, at_most)), size)


def run_sequential(
    items: Sequence[WorkItem], ctx: CheckContext, progress: Progress | None = None
) -> Partial:
    """Check every item in this process, one after another."""
    checks, aggregators = base.record_checks(), base.aggregators()
    merged = Partial.empty(ctx, aggregators)
    for item in items:
        merged.merge(process(item, ctx, checks, aggregators, progress).partial, aggregators)
    return merged


def read_again(item: WorkItem, ctx: CheckContext) -> Partial:
    """A file whose pieces do not join up, read again whole in this process. When that is
    because the file changed size while the pieces were read, the report says so (R023)."""
    partial = run_sequential([item], ctx)
    source = item.source
    now = _local_size(source.path) if source.protocol == "file" else source.size
    if now != source.size:
        what = "is gone" if now is None else f"is {now:,} bytes now"
        problem = InputProblem(ProblemKind.UNREADABLE, source.name, (
            f"{source.name} changed during the run: it was {source.size:,} bytes when the run "
            f"started and {what} (did another program write to it while it was read?); the "
            "pieces read in parallel no longer fit together, and it was read again as it is"))
        partial.emit(framing.input_problem_finding(problem), ctx.for_role(item.role))
    return partial


def _local_size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


# -- the pool ----------------------------------------------------------------------------------


@dataclass
class TaskResult:
    """What a worker sends back for one task: the merged partial of the whole files in it, and
    the pieces of large files (to be joined with their other pieces)."""

    whole: Partial
    pieces: list[Piece] = field(default_factory=list)


@dataclass
class Worker:
    """What a worker keeps between tasks: the context and the checks to run."""

    ctx: CheckContext
    checks: list[RecordCheck]
    aggregators: list[Aggregator]


def worker_state(ctx: CheckContext) -> Worker:
    """A worker's state: the context, with the checks registered in this process."""
    return Worker(ctx, base.record_checks(), base.aggregators())


_WORKER: Worker | None = None


def _start_worker(ctx: CheckContext) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    _WORKER = worker_state(ctx)


def run_task(items: Sequence[WorkItem], worker: Worker | None = None) -> TaskResult:
    """Check the items of one task (in a worker process, or where ``worker`` is given)."""
    worker = worker or _WORKER
    assert worker is not None, "the worker was not started"
    whole = Partial.empty(worker.ctx, worker.aggregators)
    result = TaskResult(whole)
    for item in items:
        piece = process(item, worker.ctx, worker.checks, worker.aggregators)
        if item.whole_file:
            whole.merge(piece.partial, worker.aggregators)
        else:
            piece.partial.compact(worker.aggregators)
            result.pieces.append(piece)
    whole.compact(worker.aggregators)
    return result


def _pool_context() -> Any:
    """Fork where it is safe and cheap (Linux): workers see every check registered so far."""
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _run_pool(
    items: Sequence[WorkItem], ctx: CheckContext, progress: Progress | None, workers: int,
    split_bytes: int,
) -> Partial:
    aggregators = base.aggregators()
    merged = Partial.empty(ctx, aggregators)
    chains: dict[str, FileChain] = {}
    with _pool_context().Pool(workers, initializer=_start_worker, initargs=(ctx,)) as pool:
        for result in _ordered_results(pool, tasks(items, split_bytes), workers, progress):
            merged.merge(result.whole, aggregators)
            for piece in result.pieces:
                key = piece.item.source.path
                chain = chains.setdefault(key, FileChain()).add(piece, aggregators)
                if piece.item.last:  # results come in order: every piece of the file is in
                    del chains[key]
                    merged.merge(_joined(chain, ctx), aggregators)
    return merged


def _joined(chain: FileChain, ctx: CheckContext) -> Partial:
    """The partial of a whole file from its pieces (read again whole if they do not join)."""
    if chain.complete and chain.partial is not None:
        return chain.partial
    assert chain.item is not None
    return read_again(chain.item, ctx)


def _ordered_results(
    pool: Any, work: Iterator[Sequence[WorkItem]], workers: int, progress: Progress | None
) -> Iterator[TaskResult]:
    """Run tasks with a few in flight per worker; yield results in task order, and report
    progress as each task finishes (in any order)."""
    pending: deque[list[Any]] = deque()  # [task bytes, async result, progress reported]

    def submit() -> None:
        while len(pending) < 2 * workers:
            task = next(work, None)
            if task is None:
                return
            size = sum(item.length for item in task)
            pending.append([size, pool.apply_async(run_task, (task,)), False])

    submit()
    while pending:
        pending[0][1].wait(_POLL_SECONDS)
        if progress is not None:
            for entry in pending:
                if not entry[2] and entry[1].ready():
                    progress(entry[0])
                    entry[2] = True
        if pending[0][1].ready():
            yield pending.popleft()[1].get()
            submit()
