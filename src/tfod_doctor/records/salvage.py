"""Salvage: every intact record of a (possibly damaged) record file, and what was lost.

    >>> from tfod_doctor.records import salvage, salvage_to
    >>> with salvage("train.tfrecord") as found:
    ...     for record in found:              # intact records only, in file order
    ...         use(record.payload)
    ...     found.report.damages              # filled in as the reading goes
    >>> salvage_to("train.tfrecord", "fixed/train.tfrecord")   # an uncompressed, clean copy

A record is intact when its length, the length's CRC and its payload's CRC all verify. After a
damage the reader resynchronises at the next intact record, so nothing intact is left behind.
GZIP/ZLIB-compressed files are read decompressed; offsets then count in the decompressed bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfod_doctor.records.files import OpenedFile, open_records
from tfod_doctor.records.framing import Damage, Record
from tfod_doctor.records.sniff import FileKind
from tfod_doctor.records.sources import Source, discover, is_url
from tfod_doctor.records.writer import TFRecordWriter


@dataclass
class SalvageReport:
    """What salvaging one file found: intact records, damaged ranges, bytes lost."""

    file: str
    kind: FileKind
    #: Intact records read (and, for :func:`salvage_to`, written).
    records: int = 0
    damages: list[Damage] = field(default_factory=list)
    #: Where decompression of a GZIP/ZLIB file stopped, if it did.
    decompress_error: str | None = None

    @property
    def lost_ranges(self) -> list[tuple[int, int]]:
        """The byte ranges ``[start, end)`` no intact record accounts for."""
        return [damage.lost_range for damage in self.damages]

    @property
    def lost_bytes(self) -> int:
        """How many bytes the damaged ranges hold."""
        return sum(damage.lost_bytes for damage in self.damages)

    @property
    def damaged(self) -> bool:
        """Whether anything was lost."""
        return bool(self.damages) or self.decompress_error is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary, for a repair manifest."""
        return {
            "file": self.file,
            "kind": self.kind.value,
            "records": self.records,
            "lost_bytes": self.lost_bytes,
            "damages": [
                {"kind": d.kind.value, "record": d.record, "offset": d.offset,
                 "tf_offset": d.tf_offset, "end": d.end, "detail": d.detail,
                 "tensorflow": d.tf_message}
                for d in self.damages
            ],
            "decompress_error": self.decompress_error,
        }


class Salvage:
    """The intact records of one opened file, as an iterator; ``report`` fills in as it goes."""

    def __init__(self, opened: OpenedFile) -> None:
        self._opened = opened
        self.report = SalvageReport(opened.source.name, opened.kind,
                                    decompress_error=opened.decompress_error)

    def __iter__(self) -> Iterator[Record]:
        for item in self._opened.records():
            if isinstance(item, Damage):
                self.report.damages.append(item)
            else:
                self.report.records += 1
                yield item


def as_source(file: Source | str | os.PathLike[str]) -> Source:
    """A :class:`Source` for a path or URL; ``FileNotFoundError``/``OSError`` if there is none."""
    if isinstance(file, Source):
        return file
    text = os.fspath(file)
    if not is_url(text):
        return Source.local(text)
    found = discover([text])
    if len(found.sources) != 1:
        why = found.problems[0].message if found.problems else "it names more than one file"
        raise FileNotFoundError(f"cannot salvage {text}: {why}")
    return found.sources[0]


@contextmanager
def salvage(file: Source | str | os.PathLike[str]) -> Iterator[Salvage]:
    """Open a record file for salvage: iterate over the result for its intact records.

    ``OSError`` if the file cannot be read. Damage is never an exception: it is listed in
    ``.report.damages`` (complete once the iteration has finished).
    """
    with open_records(as_source(file)) as opened:
        yield Salvage(opened)


def salvage_to(
    file: Source | str | os.PathLike[str], target: str | os.PathLike[str]
) -> SalvageReport:
    """Write every intact record of ``file`` to ``target``, an uncompressed TFRecord file.

    The input is never modified: ``ValueError`` if ``target`` is the input itself.
    """
    source = as_source(file)
    if source.protocol == "file" and os.path.exists(target) and os.path.samefile(
        source.path, target
    ):
        raise ValueError(f"refusing to overwrite the input {source.name}: name another target")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    with salvage(source) as found, TFRecordWriter(target) as writer:
        for record in found:
            writer.write(record.payload)
    return found.report
