"""Which records a report shows as pictures, read back from their files, capped and time-boxed.

Findings carry the file and byte offset of their record, so each picture costs one seek and one
read, whatever the size of the dataset. The number of pictures is capped per rule and overall, and
reading stops at a deadline, so the report of a 100 GB dataset stays small and quick to make.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from tfod_doctor.findings import Finding
from tfod_doctor.records import (
    Damage,
    ExampleDecodeError,
    FeatureView,
    NoRecordHere,
    OpenedFile,
    discover,
    open_records,
    read_record_at,
)
from tfod_doctor.report.model import Report
from tfod_doctor.report.pictures import THUMB_SIDE, data_uri, draw_record

#: Compressed files are decompressed whole before a record can be read; skip bigger ones.
MAX_COMPRESSED_BYTES = 64 << 20
#: Evidence keys that name the offending boxes of a record (0-based indices into its box lists).
BOX_EVIDENCE_KEYS = ("box", "boxes", "box_index", "box_indices")


@dataclass
class Picture:
    """One drawn record: a ``data:`` URI, where it comes from, and what it shows."""

    uri: str
    file: str
    record: int | None
    caption: str
    findings: list[Finding] = field(default_factory=list)
    #: Whether some of its boxes are drawn as the offending ones.
    highlighted: bool = False
    #: The train record the findings name as this eval image's copy (D004, D017), drawn to show
    #: beside it.
    twin: Picture | None = None


@dataclass
class Limits:
    """How many pictures to make and how long to spend reading records for them."""

    per_rule: int = 6
    total: int = 48
    samples: int = 12
    seconds: float = 20.0
    side: int = THUMB_SIDE


class RecordFetcher:
    """Reads single records of a report's files by name, keeping each file open once; stops
    giving records after its deadline."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.out_of_time = False
        self._stack = ExitStack()
        self._opened: dict[str, OpenedFile | None] = {}

    def __enter__(self) -> RecordFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def time_left(self) -> bool:
        """Whether there is still time to read; remembers when it ran out."""
        if time.monotonic() > self.deadline:
            self.out_of_time = True
        return not self.out_of_time

    def _open(self, name: str) -> OpenedFile | None:
        if name not in self._opened:
            self._opened[name] = self._try_open(name)
        return self._opened[name]

    def _try_open(self, name: str) -> OpenedFile | None:
        found = discover([name])
        if len(found.sources) != 1:
            return None
        source = found.sources[0]
        try:
            opened = self._stack.enter_context(open_records(source))
        except OSError:
            return None
        if opened.compressed and source.size > MAX_COMPRESSED_BYTES:
            return None
        return opened

    def view_at(self, name: str, offset: int, index: int = 0) -> FeatureView | None:
        """The decoded record whose header starts at ``offset`` in file ``name``, or ``None``.

        A record whose data fails its CRC is still decoded if it can be: the picture then shows
        what the damaged record holds.
        """
        opened = self._open(name) if self.time_left() else None
        if opened is None:
            return None
        try:
            record = read_record_at(opened.file, name, offset, index, verify_payload=False)
            return FeatureView.from_payload(record.payload)
        except (NoRecordHere, ExampleDecodeError, OSError):
            return None

    def first_views(self, name: str, count: int) -> Iterator[tuple[int, FeatureView]]:
        """The first ``count`` decodable records of file ``name``, with their indices."""
        opened = self._open(name) if self.time_left() else None
        if opened is None:
            return
        given = 0
        try:
            for entry in opened.records():
                if given >= count or not self.time_left():
                    return
                if isinstance(entry, Damage):
                    continue
                try:
                    view = FeatureView.from_payload(entry.payload)
                except ExampleDecodeError:
                    continue
                given += 1
                yield entry.index, view
        except OSError:
            return


def label_names(report: Report, given: Mapping[int, str] | None = None) -> dict[int, str]:
    """Class id -> name: the names given, else those of the report's class statistics."""
    if given:
        return dict(given)
    names: dict[int, str] = {}
    for entry in report.stats.get("classes") or []:
        if isinstance(entry, dict) and entry.get("id") is not None and entry.get("name"):
            names[int(entry["id"])] = str(entry["name"])
    return names


def bad_boxes(findings: list[Finding]) -> set[int]:
    """The indices of the boxes the findings name in their evidence."""
    bad: set[int] = set()
    for finding in findings:
        for key in BOX_EVIDENCE_KEYS:
            value = finding.evidence.get(key)
            if isinstance(value, bool):
                continue
            if isinstance(value, int):
                bad.add(value)
            elif isinstance(value, (list, tuple)):
                bad.update(v for v in value if isinstance(v, int) and not isinstance(v, bool))
    return bad


def record_start(finding: Finding) -> int | None:
    """Where the record of a finding starts: its offset, or ``record_start`` when the offset is
    the one TensorFlow names (a corrupted payload is reported at start + 12)."""
    start: Any = finding.evidence.get("record_start", finding.location.offset)
    return start if isinstance(start, int) else None


def _caption(finding: Finding) -> str:
    where = finding.location
    return f"{where.file} · record {where.record}" if where.record is not None else str(where)


def finding_pictures(
    report: Report, fetcher: RecordFetcher, limits: Limits,
    names: Mapping[int, str] | None = None,
) -> dict[str, list[Picture]]:
    """Rule id -> pictures of the first records its findings point at (capped, time-boxed)."""
    pictures: dict[str, list[Picture]] = {}
    made = 0
    for rule, findings in _by_rule_and_record(report).items():
        for (file, offset), group in findings.items():
            if made >= limits.total or len(pictures.get(rule, [])) >= limits.per_rule:
                break
            view = fetcher.view_at(file, offset, group[0].location.record or 0)
            if view is None:
                continue
            bad = bad_boxes(group)
            image = draw_record(view, names, bad, limits.side)
            twin = twin_picture(group[0], fetcher, limits, names)
            pictures.setdefault(rule, []).append(Picture(
                data_uri(image), file, group[0].location.record, _caption(group[0]), group,
                highlighted=bool(bad), twin=twin,
            ))
            made += 1 if twin is None else 2
    return pictures


def twin_picture(finding: Finding, fetcher: RecordFetcher, limits: Limits,
                 names: Mapping[int, str] | None = None) -> Picture | None:
    """The picture of the train record a finding's evidence names (``train``: its file, record
    and offset), or ``None`` when it names none or it cannot be read back."""
    train = finding.evidence.get("train")
    if not isinstance(train, dict):
        return None
    file, offset, record = train.get("file"), train.get("offset"), train.get("record")
    if not isinstance(file, str) or not isinstance(offset, int):
        return None
    view = fetcher.view_at(file, offset, record if isinstance(record, int) else 0)
    if view is None:
        return None
    image = draw_record(view, names, (), limits.side)
    return Picture(data_uri(image), file, record, f"train: {file} · record {record}")


def _by_rule_and_record(report: Report) -> dict[str, dict[tuple[str, int], list[Finding]]]:
    """The kept findings that point at a record, grouped by rule and then by record."""
    grouped: dict[str, dict[tuple[str, int], list[Finding]]] = {}
    for finding in report.findings:
        start = record_start(finding)
        if finding.location.file is None or finding.location.record is None or start is None:
            continue
        grouped.setdefault(finding.rule, {}).setdefault(
            (finding.location.file, start), []
        ).append(finding)
    return grouped


def sample_pictures(
    report: Report, fetcher: RecordFetcher, limits: Limits,
    names: Mapping[int, str] | None = None,
) -> list[Picture]:
    """Pictures of the first records of the report's files, spread over the files."""
    files = [entry["file"] for entry in report.stats.get("files") or [] if entry.get("records")]
    if not files or limits.samples <= 0:
        return []
    per_file = max(1, math.ceil(limits.samples / len(files)))
    pictures: list[Picture] = []
    for name in files:
        for index, view in fetcher.first_views(name, min(per_file,
                                                         limits.samples - len(pictures))):
            image = draw_record(view, names, (), limits.side)
            pictures.append(Picture(data_uri(image), name, index, f"{name} · record {index}"))
        if len(pictures) >= limits.samples or fetcher.out_of_time:
            break
    return pictures
