"""The per-split work: read the records of one work item and run every check on them."""

from __future__ import annotations

from collections.abc import Callable

from tfod_doctor.checks import framing
from tfod_doctor.checks.base import Aggregator, RecordCheck, RecordPlace
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.engine.partial import Partial, Piece
from tfod_doctor.engine.work import WorkItem
from tfod_doctor.findings import Finding
from tfod_doctor.policy import record_key
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
from tfod_doctor.records.crc import crc32c
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
        #: Each aggregator's ``add`` with the state it folds records into.
        self.adds = [(agg.add, partial.states[agg.name]) for agg in aggregators]
        self.partial = partial
        self.role = role
        self._emit = self.emit  # bound once: every check of every record gets it
        #: The record being checked (a baseline names the findings on it by its key).
        self.view: FeatureView | None = None
        self.keyed = ctx.policy is not None and ctx.policy.wants_record_keys

    def emit(self, finding: Finding) -> None:
        record = _record_key(self.view) if self.keyed and self.view is not None else None
        self.partial.emit(finding, self.ctx, record)

    def run(self, record: Record) -> None:
        try:
            view = FeatureView.from_payload(record.payload)
        except ExampleDecodeError as exc:
            self.view = None
            self.emit(framing.not_an_example_finding(record.file, record.index, record.offset,
                                                     str(exc), record.payload))
            return
        self.view = view
        place = RecordPlace(record.file, record.index, record.offset, self.role,
                            len(record.payload))
        ctx, emit = self.ctx, self._emit
        for check in self.checks:
            check(view, place, ctx, emit)
        for add, state in self.adds:
            add(state, view, place, ctx)


def _record_key(view: FeatureView) -> str | None:
    """A record's name in a baseline: its source id, else its image's CRC32C."""
    image = view.first_bytes("image/encoded")
    return record_key(view.first_bytes("image/source_id"),
                      crc32c(image) if image else None)


def process(
    item: WorkItem,
    ctx: CheckContext,
    checks: list[RecordCheck],
    aggregators: list[Aggregator],
    progress: Progress | None = None,
) -> Piece:
    """Read one work item and check every record in it; never raises for bad input."""
    ctx = ctx.for_role(item.role)
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
            stats.opened = True
            stats.compressed = opened.compressed
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
    if opened.size == 0 and item.start == 0:
        stats.empty = True  # R007 / R025 are found once all files are read (engine.run)
        if opened.compressed:
            partial.emit(framing.compressed_finding(name, opened.kind, 0,
                                                    opened.decompress_error), ctx)
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
    try:
        for entry in reader:
            if isinstance(entry, Damage):
                damages.append(entry)
                continue
            records += 1
            runner.run(entry)
            if records % _PROGRESS_EVERY == 0:
                progress(_scaled(entry.end, opened, item) - done)
                done = _scaled(entry.end, opened, item)
    finally:
        # Also when the file fails mid-way (OSError): what was read is still reported.
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
    if _not_a_tfrecord(opened, item, damages, records):
        # No framing anywhere: not a damaged TFRecord, something else entirely.
        partial.emit(framing.not_a_tfrecord_finding(name, opened.kind, opened.inner), ctx)
        stats.damaged.append({"kind": "not-a-tfrecord", "offset": 0, "end": item.source.size})
        return
    stats.damages.extend(damages)
    if opened.compressed:
        partial.emit(
            framing.compressed_finding(name, opened.kind, records, opened.decompress_error),
            ctx,
        )


def _not_a_tfrecord(
    opened: OpenedFile, item: WorkItem, damages: list[Damage], records: int
) -> bool:
    """Whether the whole file is something else (no record anywhere), not a damaged TFRecord.

    A file whose first record is damaged still counts as a TFRecord when any record after it
    is intact, or when its first bytes are a header whose length matches the file (only the
    length's CRC is damaged).
    """
    if item.start != 0 or records or not damages:
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
