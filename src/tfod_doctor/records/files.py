"""Opening one record file for reading: sniff what it is, decompress GZIP/ZLIB to a spool."""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from tfod_doctor.records.framing import Damage, Record, RecordReader
from tfod_doctor.records.sniff import SNIFF_BYTES, FileKind, sniff_file
from tfod_doctor.records.sources import Source

_WBITS = {FileKind.TFRECORD_GZIP: 16 + zlib.MAX_WBITS, FileKind.TFRECORD_ZLIB: zlib.MAX_WBITS}
_SPOOL_IN_MEMORY = 64 << 20


@dataclass
class OpenedFile:
    """A record file ready to read: what it is, and a seekable stream of its TFRecord bytes.

    For a compressed file ``file`` holds the decompressed bytes (offsets then count in them);
    ``decompress_error`` says where decompression stopped if the compressed stream is damaged.
    """

    source: Source
    kind: FileKind
    file: BinaryIO
    size: int
    decompress_error: str | None = None

    @property
    def compressed(self) -> bool:
        """Whether the bytes on disk are GZIP or ZLIB compressed."""
        return self.kind in _WBITS

    def records(
        self, start: int = 0, end: int | None = None, first_index: int = 0
    ) -> Iterator[Record | Damage]:
        """The records and damages of the file (or of the byte range ``[start, end)``)."""
        return iter(self.reader(start, end, first_index))

    def reader(
        self, start: int = 0, end: int | None = None, first_index: int = 0, resync: bool = True
    ) -> RecordReader:
        """A reader of the file's records (see :class:`RecordReader` for the arguments)."""
        return RecordReader(self.file, self.size, self.source.name, start, end, first_index,
                            resync=resync)


def _decompress(raw: BinaryIO, wbits: int) -> tuple[BinaryIO, int, str | None]:
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - returned
    inflater = zlib.decompressobj(wbits)
    error = None
    consumed = 0
    while chunk := raw.read(1 << 20):
        try:
            spool.write(inflater.decompress(chunk))
        except zlib.error as exc:
            error = f"the compressed stream is damaged after byte {consumed}: {exc}"
            break
        consumed += len(chunk)
        if inflater.eof and inflater.unused_data:
            # Concatenated gzip members, as `cat a.gz b.gz` makes: keep inflating.
            rest = inflater.unused_data
            inflater = zlib.decompressobj(wbits)
            spool.write(inflater.decompress(rest))
    if error is None:
        try:
            spool.write(inflater.flush())
        except zlib.error as exc:
            error = f"the compressed stream is damaged: {exc}"
        if not inflater.eof:
            error = error or "the compressed stream ends early (the file was cut short)"
    size = spool.tell()
    spool.seek(0)
    return spool, size, error


@contextmanager
def open_records(source: Source) -> Iterator[OpenedFile]:
    """Open a record file; OSError if it cannot be read. Compressed files are decompressed."""
    with source.open() as raw:
        head = raw.read(SNIFF_BYTES)
        kind = sniff_file(head)
        if kind in _WBITS:
            raw.seek(0)
            spool, size, error = _decompress(raw, _WBITS[kind])
            with spool:
                yield OpenedFile(source, kind, spool, size, error)
            return
        yield OpenedFile(source, kind, raw, source.size)
