"""Reading OD API records back into canonical samples, for exporters.

Records are read with tfod-doctor's own reader: damaged records, records that are not
``tf.Example`` and records the OD API could not read as samples are reported as problems and
skipped, and reading goes on. Features the canonical model does not hold (masks, keypoints...)
are counted as losses of the export.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfod_doctor.converters.model import (
    CanonicalSample,
    Losses,
    Problem,
    ProblemKind,
    Skipped,
    Where,
)
from tfod_doctor.converters.outputs import MANIFEST, ConversionStopped, Progress, read_manifest
from tfod_doctor.converters.tfexample import SampleError, decode_sample
from tfod_doctor.errors import UserError
from tfod_doctor.records import (
    Damage,
    ExampleDecodeError,
    FeatureView,
    FileKind,
    Source,
    discover,
    open_records,
)
from tfod_doctor.records.sources import ProblemKind as InputProblemKind

_READABLE = (FileKind.TFRECORD, FileKind.TFRECORD_GZIP, FileKind.TFRECORD_ZLIB)


@dataclass(frozen=True)
class ExportOptions:
    """How to export: where the conversion manifest is, and what to do about problems."""

    #: A ``conversion.json`` to restore categories from (default: the one beside the records).
    manifest: Path | None = None
    allow_lossy: bool = False
    strict: bool = False
    overwrite: bool = False
    #: ``(id, name)`` of a label map, for categories when there is no manifest.
    label_map: tuple[tuple[int, str], ...] | None = None
    #: Other files the export reads (a label map): no output may be or hold them.
    inputs: tuple[Path, ...] = ()


@dataclass(frozen=True)
class RecordSample:
    """A sample read from a record, and where the record is."""

    sample: CanonicalSample
    where: Where


def find_manifest(sources: Sequence[Source], given: Path | None) -> dict[str, Any] | None:
    """The conversion manifest: the one given, or a ``conversion.json`` beside the records."""
    if given is not None:
        return read_manifest(given)
    for source in sources:
        if source.protocol == "file":
            candidate = Path(source.path).parent / MANIFEST
            if candidate.is_file():
                return read_manifest(candidate)
    return None


class SampleReader:
    """The samples of some record files, with problems and losses collected on the way."""

    def __init__(self, records: Sequence[str], options: ExportOptions,
                 progress: Progress | None = None) -> None:
        found = discover(list(records))
        if not found.sources:
            reasons = "; ".join(p.message for p in found.problems) or "nothing found"
            raise UserError(f"no record files to export: {reasons}")
        self.sources = found.sources
        self.options = options
        self.progress = progress
        self.problems: list[Problem] = []
        self.losses = Losses()
        self.names: Mapping[int, str] | None = None
        for problem in found.problems:
            skipped = (Skipped.NOTHING if problem.kind is InputProblemKind.MISSING_SHARDS
                       else Skipped.RECORDS)
            self.report(Problem(ProblemKind.MISSING_INPUT, problem.message,
                                Where(problem.input), skipped=skipped, boxes=0))

    @property
    def total_bytes(self) -> int:
        """The size of the record files, for a progress bar."""
        return sum(source.size for source in self.sources)

    def report(self, problem: Problem) -> None:
        """Keep a problem; ``--strict`` stops at the first that leaves something out."""
        self.problems.append(problem)
        if self.options.strict and not problem.is_note:
            raise ConversionStopped(problem)

    def __iter__(self) -> Iterator[RecordSample]:
        for source in self.sources:
            yield from self._file(source)

    def _file(self, source: Source) -> Iterator[RecordSample]:
        try:
            with open_records(source) as opened:
                if opened.kind not in _READABLE:
                    self.report(Problem(ProblemKind.DAMAGED_RECORD,
                                        f"not a TFRecord file ({opened.kind.value})",
                                        Where(source.name), skipped=Skipped.RECORDS, boxes=0))
                    return
                done = 0
                for entry in opened.records():
                    if self.progress is not None:
                        self.progress(min(entry.end, source.size) - done)
                        done = min(entry.end, source.size)
                    sample = self._entry(source, entry)
                    if sample is not None:
                        yield sample
                if self.progress is not None:
                    self.progress(source.size - done)
        except OSError as exc:
            self.report(Problem(ProblemKind.DAMAGED_RECORD,
                                f"cannot read: {exc.strerror or exc}", Where(source.name),
                                skipped=Skipped.RECORDS, boxes=0))

    def _entry(self, source: Source, entry: Any) -> RecordSample | None:
        if isinstance(entry, Damage):
            self.report(Problem(ProblemKind.DAMAGED_RECORD, entry.detail,
                                Where(source.name, index=entry.record,
                                      item=f"record {entry.record} @ byte {entry.offset}"),
                                skipped=Skipped.RECORDS, boxes=0))
            return None
        where = Where(source.name, index=entry.index,
                      item=f"record {entry.index} @ byte {entry.offset}")
        try:
            sample = decode_sample(FeatureView.from_payload(entry.payload), self.names)
        except ExampleDecodeError as exc:
            self.report(Problem(ProblemKind.DAMAGED_RECORD, f"not a tf.train.Example: {exc}",
                                where, skipped=Skipped.RECORDS, boxes=0))
            return None
        except SampleError as exc:
            self.report(Problem(ProblemKind.MALFORMED_ANNOTATION,
                                f"{exc}" + (f" [{exc.key}]" if exc.key else ""), where,
                                skipped=Skipped.RECORDS, boxes=0))
            return None
        for key, values in sample.extra_features.items():
            if values.values:
                self.losses.add(f"feature {key}")
        return RecordSample(sample, where)
