"""Reading TFRecord framing: every record with its place, every damage with its byte range.

A file is a concatenation of records, each ``length (8 bytes LE) | masked CRC32C of length (4) |
payload | masked CRC32C of payload (4)``. TensorFlow stops at the first bad record; this reader
reports the damage, resynchronises at the next offset where a record header verifies, and goes on,
so every intact record is read. It reads in large chunks (constant memory) and never allocates
more than the file holds, whatever a length field says.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import BinaryIO

import numpy as np

from tfod_doctor.records.crc import masked_crc32c

HEADER_SIZE = 12
FOOTER_SIZE = 4
FRAME_OVERHEAD = HEADER_SIZE + FOOTER_SIZE
DEFAULT_CHUNK = 8 << 20
_SCAN_WINDOW = 1 << 20
_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")


class DamageKind(str, Enum):
    """The kinds of framing damage TensorFlow distinguishes (and one it does not notice)."""

    CORRUPTED_LENGTH = "corrupted-length"
    CORRUPTED_PAYLOAD = "corrupted-payload"
    TRUNCATED = "truncated"
    CUT_IN_HEADER = "cut-in-header"


@dataclass(frozen=True, slots=True)
class Record:
    """One intact record: its file, 0-based index, byte offset of its header, and payload."""

    file: str
    index: int
    offset: int
    payload: bytes

    @property
    def end(self) -> int:
        """The byte offset just past this record's footer."""
        return self.offset + len(self.payload) + FRAME_OVERHEAD


@dataclass(frozen=True, slots=True)
class Damage:
    """A damaged stretch of a file.

    ``offset`` is where the damaged record starts, ``tf_offset`` is the offset TensorFlow's own
    message names, and ``[offset, end)`` is the byte range lost. ``record`` is the index the
    damaged record would have had.
    """

    kind: DamageKind
    file: str
    record: int
    offset: int
    tf_offset: int
    end: int
    detail: str

    @property
    def lost_bytes(self) -> int:
        """How many bytes of the file no intact record accounts for."""
        return self.end - self.offset

    @property
    def tf_message(self) -> str | None:
        """What TensorFlow says when it reaches this damage (``None``: it says nothing)."""
        if self.kind is DamageKind.CUT_IN_HEADER:
            return None
        if self.kind is DamageKind.TRUNCATED:
            return f"DataLossError: truncated record at {self.tf_offset}"
        suffix = " (Is this even a TFRecord file?)" if self.tf_offset == 0 else ""
        return f"DataLossError: corrupted record at {self.tf_offset}{suffix}"


class _Window:
    """A sliding window over a seekable binary file: ``get(offset, n)`` returns those bytes."""

    def __init__(self, file: BinaryIO, size: int, chunk: int) -> None:
        self._file = file
        self._size = size
        self._chunk = chunk
        self._base = 0
        self._buf = b""

    def get(self, offset: int, n: int) -> bytes:
        rel = offset - self._base
        if rel >= 0 and rel + n <= len(self._buf):
            return self._buf[rel : rel + n]
        self._file.seek(offset)
        want = min(max(self._chunk, n), self._size - offset)
        self._buf = self._file.read(want)
        self._base = offset
        if len(self._buf) < n:
            raise OSError(f"short read at byte {offset}: the file changed while it was read")
        return self._buf[:n] if n < len(self._buf) else self._buf


class RecordReader:
    """Iterates over the records and damages of one TFRecord file, in file order.

    ``start``/``end`` restrict it to the records whose header starts in ``[start, end)``; a reader
    that starts mid-file first resynchronises on the framing. ``first_index`` is the index given
    to the first record it yields.
    """

    def __init__(
        self,
        file: BinaryIO,
        size: int,
        name: str,
        start: int = 0,
        end: int | None = None,
        first_index: int = 0,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        self.name = name
        self.size = size
        self.start = start
        self.end = size if end is None else min(end, size)
        self.first_index = first_index
        self._window = _Window(file, size, chunk_size)

    # -- public -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Record | Damage]:
        offset = self.start
        if offset > 0:
            found = self._resync(offset)
            offset = self.size if found is None else found
        index = self.first_index
        while offset < self.end:
            item = self._read_at(offset, index)
            yield item
            offset = item.end
            index += 1

    # -- one record ----------------------------------------------------------------------------

    def _read_at(self, offset: int, index: int) -> Record | Damage:
        remaining = self.size - offset
        if remaining < HEADER_SIZE:
            return Damage(
                DamageKind.CUT_IN_HEADER, self.name, index, offset, offset, self.size,
                f"the file ends {remaining} byte(s) into a 12-byte record header",
            )
        header = self._window.get(offset, HEADER_SIZE)
        length, length_crc = _HEADER.unpack(header)
        if masked_crc32c(header[:8]) != length_crc:
            return self._damaged(
                DamageKind.CORRUPTED_LENGTH, index, offset, offset, offset + 1,
                "the length field fails its CRC",
            )
        if length > remaining - FRAME_OVERHEAD:
            return self._damaged(
                DamageKind.TRUNCATED, index, offset, offset, offset + HEADER_SIZE,
                f"the header announces {length} bytes of data but only "
                f"{max(remaining - FRAME_OVERHEAD, 0)} follow before the end of the file",
            )
        body = self._window.get(offset + HEADER_SIZE, length + FOOTER_SIZE)
        payload = body[:length]
        (payload_crc,) = _CRC.unpack_from(body, length)
        if masked_crc32c(payload) != payload_crc:
            return self._damaged(
                DamageKind.CORRUPTED_PAYLOAD, index, offset, offset + HEADER_SIZE,
                offset + HEADER_SIZE, f"the {length}-byte data fails its CRC",
            )
        return Record(self.name, index, offset, payload)

    def _damaged(
        self, kind: DamageKind, index: int, offset: int, tf_offset: int, scan_from: int,
        detail: str,
    ) -> Damage:
        found = self._resync(scan_from)
        end = self.size if found is None else found
        return Damage(kind, self.name, index, offset, tf_offset, end, detail)

    # -- resynchronisation -------------------------------------------------------------------

    def _header_ok(self, offset: int) -> bool:
        if self.size - offset < HEADER_SIZE:
            return False
        header = self._window.get(offset, HEADER_SIZE)
        return masked_crc32c(header[:8]) == _CRC.unpack_from(header, 8)[0]

    def _resync(self, offset: int) -> int | None:
        """The first offset >= ``offset`` where a record header verifies, or ``None``.

        Candidates are found vectorised: a real length is below 2**32 (protobuf caps messages at
        2 GiB), so bytes 4-7 of a header are zero. Runs of zero bytes are skipped too: there the
        stored CRC would be 0, which a real header has with probability 2**-32.
        """
        pos = offset
        last = self.size - HEADER_SIZE  # the last offset where a header fits
        while pos <= last:
            span = min(_SCAN_WINDOW, last - pos + 1)
            data = np.frombuffer(self._window.get(pos, span + HEADER_SIZE - 1), dtype=np.uint8)
            zero = data == 0
            high_zero = zero[4 : 4 + span] & zero[5 : 5 + span] & zero[6 : 6 + span]
            high_zero &= zero[7 : 7 + span]
            crc_zero = zero[8 : 8 + span] & zero[9 : 9 + span] & zero[10 : 10 + span]
            crc_zero &= zero[11 : 11 + span]
            for rel in np.flatnonzero(high_zero & ~crc_zero).tolist():
                if self._header_ok(pos + rel):
                    return pos + rel
            pos += span
        return None


class NoRecordHere(ValueError):
    """No record can be read at the given offset (its header fails, or the file ends early)."""


def read_record_at(
    file: BinaryIO, name: str, offset: int, index: int = 0, *, verify_payload: bool = True
) -> Record:
    """The record whose header starts at ``offset``, read without scanning the file.

    Raises :class:`NoRecordHere` when the header there fails its CRC or the file is too short. With
    ``verify_payload=False`` a payload that fails its CRC is returned anyway (to show what a
    damaged record still holds); otherwise that raises too.
    """
    file.seek(offset)
    header = file.read(HEADER_SIZE)
    if len(header) < HEADER_SIZE:
        raise NoRecordHere(f"{name}: the file ends before byte {offset + HEADER_SIZE}")
    length, length_crc = _HEADER.unpack(header)
    if masked_crc32c(header[:8]) != length_crc:
        raise NoRecordHere(f"{name}: no record header at byte {offset}")
    body = file.read(length + FOOTER_SIZE)
    if len(body) < length + FOOTER_SIZE:
        raise NoRecordHere(f"{name}: the record at byte {offset} is cut short")
    payload = body[:length]
    if verify_payload and masked_crc32c(payload) != _CRC.unpack_from(body, length)[0]:
        raise NoRecordHere(f"{name}: the data of the record at byte {offset} fails its CRC")
    return Record(name, index, offset, payload)


def iter_records(
    file: BinaryIO, size: int, name: str, start: int = 0, end: int | None = None
) -> Iterator[Record | Damage]:
    """Shorthand for ``iter(RecordReader(file, size, name, start, end))``."""
    return iter(RecordReader(file, size, name, start, end))
