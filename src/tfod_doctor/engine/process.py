"""The per-split work: read the records of one work item and run every check on them."""

from __future__ import annotations

from collections.abc import Callable

from tfod_doctor.checks import framing
from tfod_doctor.checks.base import Aggregator, RecordCheck, RecordPlace
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.engine.partial import Partial, Piece
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
) -> Piece:
    """Read one work item and check every record in it; never raises for bad input."""
    partial = Partial.empty(ctx, aggregators)
    name = item.source.name
    stats = partial.file(name, item.role)
    stats.bytes = item.source.size
    stop, next_index = item.start + item.length, item.first_index
    reported = 0

    def report(n: int) -> None:
        nonlocal reported
        reported += n
        if progress is not None:
            progress(n)

    try:
        with open_records(item.source) as opened:
            stats.kind = opened.kind.value
            stop, next_index = _read(opened, item, ctx, checks, aggregators, partial, report)
    except OSError as exc:
        problem = InputProblem(ProblemKind.UNREADABLE, name,
                               f"{name} cannot be read: {exc.strerror or exc}")
        partial.emit(framing.input_problem_finding(problem), ctx)
    if progress is not None:
        progress(item.length - reported)
    return Piece(item, partial, stop, next_index)


def _read(
    opened: OpenedFile, item: WorkItem, ctx: CheckContext, checks: list[RecordCheck],
    aggregators: list[Aggregator], partial: Partial, progress: Progress,
) -> tuple[int, int]:
    """Check the records of the item; returns where the next item of the file starts."""
    name = item.source.name
    stats = partial.files[name]
    if opened.size == 0 and not opened.compressed:
        partial.emit(framing.empty_file_finding(name), ctx)
        return 0, 0
    end = item.end
    if opened.kind is not FileKind.TFRECORD and not item.whole_file:
        # Only plain TFRecord files are cut into pieces; read anything else whole, once.
        if item.start > 0:
            return item.start + item.length, item.first_index
        end = None
    runner = _RecordRunner(ctx, checks, aggregators, partial, item.role)
    reader = opened.reader(item.start, end, item.first_index, resync=False)
    damages: list[Damage] = []
    records = 0
    done = item.start
    for entry in reader:
        if isinstance(entry, Damage):
            damages.append(entry)
            continue
        records += 1
        runner.run(entry)
        if records % _PROGRESS_EVERY == 0:
            progress(_scaled(entry.end, opened, item) - done)
            done = _scaled(entry.end, opened, item)
    stats.records += records
    _report_damage(opened, item, damages, records, partial, ctx)
    stop = opened.size if reader.stop is None else reader.stop
    return stop, item.first_index if reader.next_index is None else reader.next_index


def _scaled(offset: int, opened: OpenedFile, item: WorkItem) -> int:
    """Progress counts bytes on disk; in a decompressed stream, scale offsets to them."""
    if not opened.compressed or opened.size == 0:
        return min(offset, item.start + item.length)
    return int(offset * item.source.size / opened.size)


def _report_damage(
    opened: OpenedFile, item: WorkItem, damages: list[Damage], records: int,
    partial: Partial, ctx: CheckContext,
) -> None:
    """Keep the damages met (their findings come once the whole file is merged); report a file
    that is no TFRecord at all, and a compressed one."""
    name = item.source.name
    stats = partial.files[name]
    headless = opened.kind not in _TFRECORD_KINDS and item.start == 0
    if headless and not records:
        # No framing anywhere: not a damaged TFRecord, something else entirely.
        partial.emit(framing.not_a_tfrecord_finding(name, opened.kind), ctx)
        stats.damaged.append({"kind": "not-a-tfrecord", "offset": 0, "end": opened.size})
        return
    for damage in damages:
        stats.damages.append(damage)
        stats.damaged.append(
            {"kind": damage.kind.value, "offset": damage.offset, "end": damage.end,
             "record": damage.record}
        )
    if opened.compressed:
        partial.emit(
            framing.compressed_finding(name, opened.kind, records, opened.decompress_error),
            ctx,
        )
