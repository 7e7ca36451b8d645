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
    DamageKind,
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
                                                     str(exc), record.payload))
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
            stats.opened = True
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
    if opened.size == 0 and item.start == 0:
        partial.emit(framing.empty_file_finding(name, opened.kind), ctx)
        if opened.compressed:
            partial.emit(framing.compressed_finding(name, opened.kind, 0,
                                                    opened.decompress_error), ctx)
        return
    runner = _RecordRunner(ctx, checks, aggregators, partial, item.role)
    damages: list[Damage] = []
    record_indices: list[int] = []
    done = item.start
    try:
        for entry in opened.records(item.start, item.end):
            if isinstance(entry, Damage):
                damages.append(entry)
                continue
            record_indices.append(entry.index)
            runner.run(entry)
            if progress is not None and len(record_indices) % _PROGRESS_EVERY == 0:
                progress(_scaled(entry.end, opened, item) - done)
                done = _scaled(entry.end, opened, item)
    finally:
        # Also when the file fails mid-way (OSError): what was read is still reported.
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
    if _not_a_tfrecord(opened, item, damages, record_indices):
        # No framing anywhere: not a damaged TFRecord, something else entirely.
        partial.emit(framing.not_a_tfrecord_finding(name, opened.kind, opened.inner), ctx)
        stats.damaged.append({"kind": "not-a-tfrecord", "offset": 0, "end": item.source.size})
        stats.tensorflow_reads = 0
        return
    for damage in damages:
        recovered = sum(1 for index in record_indices if index > damage.record)
        partial.emit(framing.damage_finding(damage, recovered, opened.compressed), ctx)
        stats.damaged.append(
            {"kind": damage.kind.value, "offset": damage.offset, "end": damage.end,
             "record": damage.record, "tf_offset": damage.tf_offset,
             "records_recovered_after": recovered}
        )
    if item.whole_file:
        stats.tensorflow_reads = _tensorflow_reads(opened, damages, record_indices)
    if opened.compressed:
        partial.emit(
            framing.compressed_finding(name, opened.kind, len(record_indices),
                                       opened.decompress_error),
            ctx,
        )


def _tensorflow_reads(
    opened: OpenedFile, damages: list[Damage], record_indices: list[int]
) -> int:
    """How many records the OD API's reader gets from the file before it stops."""
    if opened.compressed:
        return 0  # it reads the compressed bytes as framing and fails at byte 0
    stop = min((d.record for d in damages if d.stops_tensorflow), default=None)
    if stop is None:
        return len(record_indices)
    return sum(1 for index in record_indices if index < stop)


def _not_a_tfrecord(
    opened: OpenedFile, item: WorkItem, damages: list[Damage], record_indices: list[int]
) -> bool:
    """Whether the whole file is something else (no record anywhere), not a damaged TFRecord.

    A file whose first record is damaged still counts as a TFRecord when any record after it
    is intact, or when its first bytes are a header whose length matches the file (only the
    length's CRC is damaged).
    """
    if item.start != 0 or record_indices or not damages:
        return False
    kind = opened.inner if opened.compressed else opened.kind
    if kind in _TFRECORD_KINDS:
        return False
    first = damages[0]
    return not (kind is FileKind.UNKNOWN and first.kind is DamageKind.CORRUPTED_LENGTH
                and _length_fits(opened))


def _length_fits(opened: OpenedFile) -> bool:
    """Whether the file's first 8 bytes, read as a record length, account for the whole file."""
    opened.file.seek(0)
    head = opened.file.read(8)
    return len(head) == 8 and int.from_bytes(head, "little") + 16 == opened.size
