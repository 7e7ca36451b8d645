"""Running the work as an Apache Beam pipeline (``--runner beam``): for data beyond one machine.

The pipeline is the local engine spread out: the same tasks (whole files, pieces of large local
files), the same per-record checks, the same associative merges::

    tasks -> Reshuffle -> check each task -> whole files ------------------------> merge -> save
                                          -> pieces of large files -> join per file -^

The merged result (findings capped per rule, file stats, aggregator states: kilobytes) is
written to the pipeline's ``--temp_location`` and finished into the report here, exactly as the
local engine finishes its own. Imported only when Beam is asked for (``tfod-doctor[beam]``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import shlex
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from tfod_doctor.checks import base
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.engine.chain import FileChain
from tfod_doctor.engine.local import read_again, run_task, worker_state
from tfod_doctor.engine.partial import Partial, Piece
from tfod_doctor.engine.split import MAX_SPLIT_BYTES, tasks
from tfod_doctor.engine.work import WorkItem
from tfod_doctor.errors import UserError


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """Importing Beam logs warnings about optional Google Cloud clients to the root logger."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


try:
    with _quiet_root_logger():
        import apache_beam as beam
        from apache_beam.io.filesystems import FileSystems
        from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise UserError(
        f"--runner beam needs Apache Beam ({exc}): pip install 'tfod-doctor[beam]'"
    ) from None

#: The runner when the Beam flags name none: Beam's own in-process runner (no download).
DEFAULT_BEAM_RUNNER = "FnApiRunner"
_PIECES = "pieces"


@dataclass
class Merged:
    """The pipeline's result: everything merged, and files whose pieces did not join."""

    partial: Partial
    read_again: list[WorkItem] = field(default_factory=list)


class CheckTask(beam.DoFn):
    """Check one task; whole files go out merged, pieces of large files keyed by file."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.worker: Any = None

    def setup(self) -> None:
        self.worker = worker_state(self.ctx)

    def process(self, task: Sequence[WorkItem]) -> Iterator[Any]:
        result = run_task(task, self.worker)
        yield result.whole
        for piece in result.pieces:
            yield beam.pvalue.TaggedOutput(_PIECES, (piece.item.source.path, piece))


class JoinPieces(beam.CombineFn):
    """The pieces of one file, merged into a :class:`FileChain` (in any order)."""

    def create_accumulator(self) -> FileChain:
        return FileChain()

    def add_input(self, chain: FileChain, piece: Piece) -> FileChain:
        return chain.add(piece, base.aggregators())

    def merge_accumulators(self, chains: Iterable[FileChain]) -> FileChain:
        first, *rest = list(chains)
        for chain in rest:
            first.merge(chain, base.aggregators())
        return first

    def extract_output(self, chain: FileChain) -> FileChain:
        return chain


class MergeAll(beam.CombineFn):
    """Every whole file's partial and every joined file, merged into one :class:`Merged`."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx

    def create_accumulator(self) -> Merged:
        return Merged(Partial.empty(self.ctx, base.aggregators()))

    def add_input(self, merged: Merged, element: Partial | FileChain) -> Merged:
        if isinstance(element, FileChain):
            if element.complete and element.partial is not None:
                merged.partial.merge(element.partial, base.aggregators())
            elif element.item is not None:
                merged.read_again.append(element.item)
        else:
            merged.partial.merge(element, base.aggregators())
        return merged

    def merge_accumulators(self, accumulators: Iterable[Merged]) -> Merged:
        first, *rest = list(accumulators)
        for other in rest:
            first.partial.merge(other.partial, base.aggregators())
            first.read_again.extend(other.read_again)
        return first

    def extract_output(self, merged: Merged) -> Merged:
        return merged


def _save(merged: Merged, path: str) -> None:
    with FileSystems.create(path) as handle:
        handle.write(pickle.dumps(merged, protocol=pickle.HIGHEST_PROTOCOL))


def _load(path: str) -> Merged:
    with FileSystems.open(path) as handle:
        merged = pickle.loads(handle.read())
    FileSystems.delete([path])
    return merged


def pipeline_options(flags: str | Sequence[str] | None) -> PipelineOptions:
    """Beam options from a string of flags (or a list), with the default runner filled in."""
    try:
        args = shlex.split(flags) if isinstance(flags, str) else list(flags or [])
    except ValueError as exc:  # shlex: "No closing quotation", "No escaped character"
        raise UserError(f"--beam-options {flags!r}: {str(exc).lower()} (the flags are split "
                        "as a shell splits them)") from None
    options = PipelineOptions(args)
    if not options.view_as(StandardOptions).runner:
        options.view_as(StandardOptions).runner = DEFAULT_BEAM_RUNNER
    return options


def run_beam(
    items: Sequence[WorkItem],
    ctx: CheckContext,
    flags: str | Sequence[str] | None = None,
    split_bytes: int | None = None,
) -> Partial:
    """Check every item in a Beam pipeline; returns the merged partial, ready to finish."""
    options = pipeline_options(flags)
    temp = options.get_all_options().get("temp_location")
    with tempfile.TemporaryDirectory(prefix="tfod-doctor-beam-") as local_temp:
        path = FileSystems.join(temp or local_temp, f"tfod-doctor-{uuid.uuid4().hex}.pickle")
        work = list(tasks(items, split_bytes or MAX_SPLIT_BYTES))
        try:
            _run_pipeline(options, work, ctx, path)
            merged = _load(path)
        except Exception as exc:
            if os.environ.get("TFOD_DOCTOR_DEBUG"):
                raise
            failure = f"{type(exc).__name__}: {exc}"
            raise UserError(f"the Apache Beam pipeline failed: {failure}") from None
    for item in merged.read_again:
        merged.partial.merge(read_again(item, ctx), base.aggregators())
    return merged.partial


def _run_pipeline(
    options: PipelineOptions, work: list[Sequence[WorkItem]], ctx: CheckContext, path: str
) -> None:
    with beam.Pipeline(options=options) as pipeline:
        checked = (
            pipeline
            | "Tasks" >> beam.Create(work)
            | "Spread" >> beam.Reshuffle()
            | "Check" >> beam.ParDo(CheckTask(ctx)).with_outputs(_PIECES, main="whole")
        )
        files = checked[_PIECES] | "Join pieces" >> beam.CombinePerKey(JoinPieces())
        (
            (checked.whole, files | "Files" >> beam.Values())
            | "Together" >> beam.Flatten()
            | "Merge" >> beam.CombineGlobally(MergeAll(ctx))
            | "Save" >> beam.Map(_save, path)
        )
