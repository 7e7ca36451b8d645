"""Reading TFRecord framing: every record with its place, every damage with its byte range.

A file is a concatenation of records, each ``length (8 bytes LE) | masked CRC32C of length (4) |
payload | masked CRC32C of payload (4)``. TensorFlow stops at the first bad record; this reader
reports the damage, resynchronises at the next offset where a record header verifies, and goes on,
so every intact record is read. It reads in large chunks (constant memory) and never allocates
more than the file holds, whatever a length field says.
"""

from __future__ import annotations

import io
import mmap
import os
import stat
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
    """A sliding window over a seekable binary file.

    ``span(offset, n)`` returns a buffer holding those bytes and where they start in it, so that
    the reader slices each payload out exactly once. Local files are memory-mapped one window at
    a time (no copy into a read buffer, and at most one window of the file resident); other files
    (fsspec, decompressed spools) are read in chunks.
    """

    def __init__(self, file: BinaryIO, size: int, chunk: int) -> None:
        self._file = file
        self._size = size
        self._chunk = chunk
        self._base = 0
        self._buf: bytes | mmap.mmap = b""
        self._fileno = _mappable_fileno(file) if size else None

    def span(self, offset: int, n: int) -> tuple[bytes | mmap.mmap, int]:
        """A buffer and a position in it such that ``buf[pos:pos + n]`` is bytes ``[offset,
        offset + n)`` of the file; OSError if the file is shorter than it was."""
        rel = offset - self._base
        if rel >= 0 and rel + n <= len(self._buf):
            return self._buf, rel
        want = min(max(self._chunk, n), self._size - offset)
        if want < n:
            raise OSError(f"short read at byte {offset}: the file changed while it was read")
        if self._fileno is not None:
            self._map(offset, want)
        else:
            self._read(offset, want)
        rel = offset - self._base
        if rel + n > len(self._buf):
            raise OSError(f"short read at byte {offset}: the file changed while it was read")
        return self._buf, rel

    def get(self, offset: int, n: int) -> bytes:
        """Bytes ``[offset, offset + n)`` of the file (a copy)."""
        buf, rel = self.span(offset, n)
        return buf[rel : rel + n]

    def close(self) -> None:
        """Unmap the current window, if any."""
        if isinstance(self._buf, mmap.mmap):
            self._buf.close()
        self._buf = b""

    def _map(self, offset: int, want: int) -> None:
        self.close()
        base = offset - offset % mmap.ALLOCATIONGRANULARITY
        length = offset - base + want
        try:
            if os.fstat(self._fileno).st_size < offset + want:
                raise OSError("the file shrank while it was read")
            self._buf = mmap.mmap(self._fileno, length, offset=base, **_MAP_FLAGS)
        except (OSError, ValueError) as exc:  # the file shrank, or cannot be mapped after all
            raise OSError(f"cannot map bytes {offset}-{offset + want}: {exc}") from None
        self._base = base

    def _read(self, offset: int, want: int) -> None:
        self._file.seek(offset)
        parts = []
        got = 0
        while got < want:
            part = self._file.read(want - got)
            if not part:
                break
            parts.append(part)
            got += len(part)
        self._buf = parts[0] if len(parts) == 1 else b"".join(parts)
        self._base = offset


#: Read-only shared mappings, with the page tables filled at once where Linux allows it.
_MAP_FLAGS = (
    {"flags": mmap.MAP_SHARED | mmap.MAP_POPULATE, "prot": mmap.PROT_READ}
    if hasattr(mmap, "MAP_POPULATE") else {"access": mmap.ACCESS_READ}
)


def _mappable_fileno(file: BinaryIO) -> int | None:
    """The descriptor of a plain local file that can be memory-mapped, else ``None``."""
    if not isinstance(file, (io.BufferedReader, io.FileIO)):
        return None
    try:
        fileno = file.fileno()
        return fileno if stat.S_ISREG(os.fstat(fileno).st_mode) else None
    except (OSError, ValueError):
        return None


class RecordReader:
    """Iterates over the records and damages of one TFRecord file, in file order.

    ``start``/``end`` restrict it to the records whose header starts in ``[start, end)``. A
    reader that starts mid-file first resynchronises on the framing, unless ``resync`` is false:
    then ``start`` must be where an item of the file starts (as :meth:`chain` finds them), and
    ``first_index`` the index of that item, so that records keep their true indices. After a full
    iteration, :attr:`stop` is the offset where the next item starts (``>= end``, or the file
    size) and :attr:`next_index` its index.
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
        resync: bool = True,
    ) -> None:
        self.name = name
        self.size = size
        self.start = start
        self.end = size if end is None else min(end, size)
        self.first_index = first_index
        self.resync = resync
        self.stop: int | None = None
        self.next_index: int | None = None
        self._window = _Window(file, size, chunk_size)

    # -- public -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Record | Damage]:
        offset = self.start
        if offset > 0 and self.resync:
            found = self._resync(offset)
            offset = self.size if found is None else found
        index = self.first_index
        try:
            while offset < self.end:
                item = self._read_at(offset, index)
                yield item
                offset = item.end
                index += 1
            self.stop, self.next_index = offset, index
        finally:
            self._window.close()

    def chain(self) -> Iterator[tuple[int, int]]:
        """The offset and index of every item (record or damage) from ``start`` to the end.

        It follows exactly the path iterating would take, reading record headers only (and a
        record's data only where the header after it is damaged), so it is cheap: this is where
        a large file can be cut into pieces that read on their own with true record indices.
        """
        offset, index = self.start, self.first_index
        try:
            while offset < self.size:
                yield offset, index
                offset = self._item_end(offset)
                index += 1
        finally:
            self._window.close()

    # -- one record ----------------------------------------------------------------------------

    def _header(self, offset: int) -> tuple[int, DamageKind | None]:
        """The length announced at ``offset`` and what is wrong with the header, if anything."""
        remaining = self.size - offset
        if remaining < HEADER_SIZE:
            return remaining, DamageKind.CUT_IN_HEADER
        buf, pos = self._window.span(offset, HEADER_SIZE)
        length, length_crc = _HEADER.unpack_from(buf, pos)
        if masked_crc32c(buf[pos : pos + 8]) != length_crc:
            return length, DamageKind.CORRUPTED_LENGTH
        if length > remaining - FRAME_OVERHEAD:
            return length, DamageKind.TRUNCATED
        return length, None

    def _read_at(self, offset: int, index: int) -> Record | Damage:
        length, problem = self._header(offset)
        if problem is DamageKind.CUT_IN_HEADER:
            return Damage(
                problem, self.name, index, offset, offset, self.size,
                f"the file ends {length} byte(s) into a 12-byte record header",
            )
        if problem is DamageKind.CORRUPTED_LENGTH:
            return Damage(problem, self.name, index, offset, offset, self._next_header(offset + 1),
                          "the length field fails its CRC")
        if problem is DamageKind.TRUNCATED:
            return Damage(
                problem, self.name, index, offset, offset,
                self._next_header(offset + HEADER_SIZE),
                f"the header announces {length} bytes of data but only "
                f"{max(self.size - offset - FRAME_OVERHEAD, 0)} follow before the end of the file",
            )
        buf, pos = self._window.span(offset + HEADER_SIZE, length + FOOTER_SIZE)
        payload = buf[pos : pos + length]
        (payload_crc,) = _CRC.unpack_from(buf, pos + length)
        if masked_crc32c(payload) != payload_crc:
            return Damage(
                DamageKind.CORRUPTED_PAYLOAD, self.name, index, offset, offset + HEADER_SIZE,
                self._after_bad_data(offset, length), f"the {length}-byte data fails its CRC",
            )
        return Record(self.name, index, offset, payload)

    def _item_end(self, offset: int) -> int:
        """Where the item at ``offset`` ends, as :meth:`_read_at` decides it, from headers."""
        length, problem = self._header(offset)
        if problem is DamageKind.CUT_IN_HEADER:
            return self.size
        if problem is DamageKind.CORRUPTED_LENGTH:
            return self._next_header(offset + 1)
        if problem is DamageKind.TRUNCATED:
            return self._next_header(offset + HEADER_SIZE)
        after = offset + length + FRAME_OVERHEAD
        if after == self.size or self._header_ok(after) or self._data_ok(offset, length):
            return after
        return self._after_bad_data(offset, length)

    def _data_ok(self, offset: int, length: int) -> bool:
        buf, pos = self._window.span(offset + HEADER_SIZE, length + FOOTER_SIZE)
        (payload_crc,) = _CRC.unpack_from(buf, pos + length)
        return masked_crc32c(buf[pos : pos + length]) == payload_crc

    def _after_bad_data(self, offset: int, length: int) -> int:
        """Where reading goes on after a record whose data fails its CRC.

        Its length field verified, so when a valid header (or the end of the file) follows the
        frame, the next item starts there; a scan inside the damaged data could only find a
        header by accident. Otherwise bytes were lost or added in it: scan from its data on.
        """
        after = offset + length + FRAME_OVERHEAD
        if after == self.size or self._header_ok(after):
            return after
        return self._next_header(offset + HEADER_SIZE)

    def _next_header(self, offset: int) -> int:
        """The first offset >= ``offset`` where a header verifies, or the file size."""
        found = self._resync(offset)
        return self.size if found is None else found

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


def iter_records(
    file: BinaryIO, size: int, name: str, start: int = 0, end: int | None = None
) -> Iterator[Record | Damage]:
    """Shorthand for ``iter(RecordReader(file, size, name, start, end))``."""
    return iter(RecordReader(file, size, name, start, end))
