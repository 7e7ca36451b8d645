"""Opening one record file for reading: sniff what it is, decompress GZIP/ZLIB to a spool."""

from __future__ import annotations

import os
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from tfod_doctor.records.framing import Damage, Record, RecordReader
from tfod_doctor.records.sniff import SNIFF_BYTES, FileKind, sniff_file
from tfod_doctor.records.sources import Source

_GZIP_WBITS = 16 + zlib.MAX_WBITS
_WBITS = {
    FileKind.TFRECORD_GZIP: _GZIP_WBITS,
    FileKind.GZIP: _GZIP_WBITS,
    FileKind.TFRECORD_ZLIB: zlib.MAX_WBITS,
    FileKind.ZLIB: zlib.MAX_WBITS,
}
_AS_TFRECORD = {FileKind.GZIP: FileKind.TFRECORD_GZIP, FileKind.ZLIB: FileKind.TFRECORD_ZLIB}
_SPOOL_IN_MEMORY = 64 << 20
_READ_SIZE = 1 << 20


@dataclass
class OpenedFile:
    """A record file ready to read: what it is, and a seekable stream of its TFRecord bytes.

    For a compressed file ``file`` holds the decompressed bytes (offsets then count in them, as
    they do in TensorFlow's messages) and ``inner`` says what the decompressed bytes are;
    ``decompress_error`` says where decompression stopped if the compressed stream is damaged.
    """

    source: Source
    kind: FileKind
    file: BinaryIO
    size: int
    decompress_error: str | None = None
    inner: FileKind | None = None

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
    """Inflate ``raw`` into a spool: (spool, decompressed size, what went wrong or ``None``).

    GZIP members written one after another (``cat a.gz b.gz``) are read on, as TensorFlow does.
    A ZLIB stream ends at its first end marker: TensorFlow ignores what follows, and so does this.
    The spool stays in memory up to 64 MB and goes to a temporary file beyond.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - returned
    try:
        error = _inflate_into(raw, wbits, spool)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    return spool, size, error


def _inflate_into(raw: BinaryIO, wbits: int, spool: BinaryIO) -> str | None:
    inflater = zlib.decompressobj(wbits)
    fed = False  # whether the current inflater (gzip member) has had any bytes
    members = 0  # gzip members inflated completely
    consumed = 0  # compressed bytes taken by finished members and the current one
    pending = b""
    while True:
        chunk = pending or raw.read(_READ_SIZE)
        pending = b""
        if not chunk:
            break
        fed = True
        try:
            spool.write(inflater.decompress(chunk))
        except zlib.error as exc:
            if members and "incorrect header check" in str(exc):
                size = consumed + len(chunk) + len(raw.read())
                return (f"bytes {consumed}-{size} after the last gzip member are not gzip data "
                        "(TensorFlow reads the records before them, then fails: inflate() "
                        "failed with error -3: incorrect header check)")
            return (f"the compressed stream is damaged between bytes {consumed} and "
                    f"{consumed + len(chunk)}: {exc}")
        consumed += len(chunk) - len(inflater.unused_data)
        if not inflater.eof:
            continue
        members += 1
        rest = inflater.unused_data
        if wbits != _GZIP_WBITS:
            ignored = len(rest) + len(raw.read())
            if ignored:
                return (f"{ignored} bytes follow the end of the ZLIB stream (TensorFlow ignores "
                        "them too)")
            return None
        # Concatenated gzip members, as `cat a.gz b.gz` makes: start a new inflater.
        inflater, fed, pending = zlib.decompressobj(wbits), False, rest
    if fed and not inflater.eof:
        return f"the compressed stream ends early, after {consumed} bytes (the file was cut short)"
    return None


def _file_size(raw: BinaryIO, fallback: int) -> int:
    """The size of the opened file now (it may differ from when it was found)."""
    try:
        return os.fstat(raw.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        return fallback


@contextmanager
def open_records(source: Source) -> Iterator[OpenedFile]:
    """Open a record file; OSError if it cannot be read. Compressed files are decompressed.

    Any GZIP or ZLIB file is decompressed, also one whose first record is damaged: ``inner``
    then says what the decompressed bytes are, and the kind names a compressed TFRecord when
    they start with a valid record header.
    """
    with source.open() as raw:
        head = raw.read(SNIFF_BYTES)
        kind = sniff_file(head)
        if kind in _WBITS:
            raw.seek(0)
            spool, size, error = _decompress(raw, _WBITS[kind])
            if size == 0 and error is not None and kind in _AS_TFRECORD:
                # Magic bytes, then nothing inflates: not compressed after all (a damaged
                # TFRecord header can start with them). Read the bytes as they are.
                spool.close()
                raw.seek(0)
                yield OpenedFile(source, FileKind.UNKNOWN, raw, _file_size(raw, source.size))
                return
            with spool:
                inner = sniff_file(spool.read(SNIFF_BYTES))
                spool.seek(0)
                if inner is FileKind.TFRECORD:
                    kind = _AS_TFRECORD.get(kind, kind)
                yield OpenedFile(source, kind, spool, size, error, inner)
            return
        yield OpenedFile(source, kind, raw, _file_size(raw, source.size))
