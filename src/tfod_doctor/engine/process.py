"""The per-split work: read the records of one work item and run every check on them."""

from __future__ import annotations

from collections.abc import Callable

from tfod_doctor.checks import framing
from tfod_doctor.checks.base import Aggregator, RecordCheck, RecordPlace
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.engine.partial import Partial
from tfod_doctor.engine.work import WorkItem
from tfod_doctor.findings import Finding
from tfod_doctor.records import (
    Damage,
    ExampleDecodeError,
    FeatureView,
    FileKind,
    OpenedFile,
    Record,
    open_records,
)
from tfod_doctor.records.sources import InputProblem, ProblemKind

Progress = Callable[[int], None]
_PROGRESS_EVERY = 512
_TFRECORD_KINDS = (FileKind.TFRECORD, FileKind.TFRECORD_GZIP, FileKind.TFRECORD_ZLIB)


class _RecordRunner:
    """Runs the record checks and aggregators over the records of one work item."""

    def __init__(
        self, ctx: CheckContext, checks: list[RecordCheck], aggregators: list[Aggregator],
        partial: Partial, role: str | None,
    ) -> None:
        self.ctx = ctx
        self.checks = checks
        self.aggregators = [(agg, partial.states[agg.name]) for agg in aggregators]
        self.partial = partial
        self.role = role

    def emit(self, finding: Finding) -> None:
        self.partial.emit(finding, self.ctx)

    def run(self, record: Record) -> None:
        try:
            view = FeatureView.from_payload(record.payload)
        except ExampleDecodeError as exc:
            self.emit(framing.not_an_example_finding(record.file, record.index, record.offset,
                                                     str(exc)))
            return
        place = RecordPlace(record.file, record.index, record.offset, self.role,
                            len(record.payload))
        for check in self.checks:
            check(view, place, self.ctx, self.emit)
        for agg, state in self.aggregators:
            agg.add(state, view, place, self.ctx)


def process(
    item: WorkItem,
    ctx: CheckContext,
    checks: list[RecordCheck],
    aggregators: list[Aggregator],
    progress: Progress | None = None,
) -> Partial:
    """Read one work item and check every record in it; never raises for bad input."""
    ctx = ctx.for_role(item.role)
    partial = Partial.empty(ctx, aggregators)
    name = item.source.name
    stats = partial.file(name, item.role)
    stats.bytes = item.source.size
    try:
        with open_records(item.source) as opened:
            stats.kind = opened.kind.value
            _read(opened, item, ctx, checks, aggregators, partial, progress)
    except OSError as exc:
        problem = InputProblem(ProblemKind.UNREADABLE, name,
                               f"{name} cannot be read: {exc.strerror or exc}")
        partial.emit(framing.input_problem_finding(problem), ctx)
    return partial


def _read(
    opened: OpenedFile, item: WorkItem, ctx: CheckContext, checks: list[RecordCheck],
    aggregators: list[Aggregator], partial: Partial, progress: Progress | None,
) -> None:
    name = item.source.name
    stats = partial.files[name]
    if opened.size == 0 and not opened.compressed:
        partial.emit(framing.empty_file_finding(name), ctx)
        return
    runner = _RecordRunner(ctx, checks, aggregators, partial, item.role)
    damages: list[Damage] = []
    record_indices: list[int] = []
    done = item.start
    for entry in opened.records(item.start, item.end):
        if isinstance(entry, Damage):
            damages.append(entry)
            continue
        record_indices.append(entry.index)
        runner.run(entry)
        if progress is not None and len(record_indices) % _PROGRESS_EVERY == 0:
            progress(_scaled(entry.end, opened, item) - done)
            done = _scaled(entry.end, opened, item)
    stats.records += len(record_indices)
    _report_damage(opened, item, damages, record_indices, partial, ctx)
    if progress is not None:
        progress(_scaled(item.end or opened.size, opened, item) - done)


def _scaled(offset: int, opened: OpenedFile, item: WorkItem) -> int:
    """Progress counts bytes on disk; in a decompressed stream, scale offsets to them."""
    if not opened.compressed or opened.size == 0:
        return min(offset, item.source.size)
    return int(offset * item.source.size / opened.size)


def _report_damage(
    opened: OpenedFile, item: WorkItem, damages: list[Damage], record_indices: list[int],
    partial: Partial, ctx: CheckContext,
) -> None:
    name = item.source.name
    stats = partial.files[name]
    headless = opened.kind not in _TFRECORD_KINDS and item.start == 0
    if headless and not record_indices:
        # No framing anywhere: not a damaged TFRecord, something else entirely.
        partial.emit(framing.not_a_tfrecord_finding(name, opened.kind), ctx)
        stats.damaged.append({"kind": "not-a-tfrecord", "offset": 0, "end": opened.size})
        return
    for damage in damages:
        recovered = sum(1 for index in record_indices if index > damage.record)
        partial.emit(framing.damage_finding(damage, recovered), ctx)
        stats.damaged.append(
            {"kind": damage.kind.value, "offset": damage.offset, "end": damage.end,
             "record": damage.record}
        )
    if opened.compressed:
        partial.emit(
            framing.compressed_finding(name, opened.kind, len(record_indices),
                                       opened.decompress_error),
            ctx,
        )
