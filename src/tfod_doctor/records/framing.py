"""Reading TFRecord framing: every record with its place, every damage with its byte range.

A file is a concatenation of records, each ``length (8 bytes LE) | masked CRC32C of length (4) |
payload | masked CRC32C of payload (4)``. TensorFlow stops at the first bad record; this reader
reports the damage, resynchronises at the next offset where a whole record verifies (its length,
the length's CRC and the payload's CRC), and goes on, so every intact record is read. It reads in
large chunks (constant memory) and never allocates more than the file holds, whatever a length
field says.

:meth:`RecordReader.chain` follows the same path through a file reading headers only, so that a
large file can be cut into pieces that start on items and read with their true indices.

Record indices after a damaged range count that range as one record: when it held several
records, later indices are lower than the ones the original file had (nobody can tell how many
records a destroyed byte range held).
"""

from __future__ import annotations

import io
import os
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import BinaryIO

import numpy as np

from tfod_doctor.records.crc import MASK_DELTA, masked_crc32c

HEADER_SIZE = 12
FOOTER_SIZE = 4
FRAME_OVERHEAD = HEADER_SIZE + FOOTER_SIZE
DEFAULT_CHUNK = 1 << 20
_SCAN_WINDOW = 1 << 20
_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
#: TensorFlow reads ``length + 4`` bytes into an ``int64``: at or above this it goes negative.
_TF_NEGATIVE_READ = (1 << 63) - FOOTER_SIZE
#: ``length >= SIZE_MAX - 4`` makes TensorFlow say ``record size too large``.
_TF_TOO_LARGE = (1 << 64) - 1 - FOOTER_SIZE
#: Above this, TensorFlow's up-front memory reservation for the record may crash the process.
_TF_RESERVES_TOO_MUCH = 1 << 31


class DamageKind(str, Enum):
    """The kinds of framing damage TensorFlow distinguishes (and one it does not notice)."""

    CORRUPTED_LENGTH = "corrupted-length"
    CORRUPTED_PAYLOAD = "corrupted-payload"
    TRUNCATED = "truncated"
    CUT_IN_HEADER = "cut-in-header"


@dataclass(slots=True)
class Record:
    """One intact record: its file, 0-based index, byte offset of its header, and payload.

    Not frozen, because one is made per record and a frozen dataclass costs four times as much
    to make; treat it as a value all the same.
    """

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
    message names, and ``[offset, end)`` is the byte range lost: ``end`` is where the next intact
    record starts (or the end of the file). ``record`` is the index the damaged record would have
    had. ``length`` is the payload length its header announces, when the header's CRC verifies.
    """

    kind: DamageKind
    file: str
    record: int
    offset: int
    tf_offset: int
    end: int
    detail: str
    length: int | None = None

    @property
    def lost_bytes(self) -> int:
        """How many bytes of the file no intact record accounts for."""
        return self.end - self.offset

    @property
    def lost_range(self) -> tuple[int, int]:
        """The byte range ``[start, end)`` no intact record accounts for."""
        return self.offset, self.end

    @property
    def stops_tensorflow(self) -> bool:
        """Whether TensorFlow raises here (and so never reads what follows)."""
        return self.kind is not DamageKind.CUT_IN_HEADER

    @property
    def tf_message(self) -> str | None:
        """What TensorFlow says when it reaches this damage (``None``: it says nothing)."""
        if self.kind is DamageKind.CUT_IN_HEADER:
            return None
        if self.kind is DamageKind.TRUNCATED and self.length is not None:
            if self.length >= _TF_TOO_LARGE:
                return "DataLossError: record size too large"
            if self.length >= _TF_NEGATIVE_READ:
                wrapped = self.length + FOOTER_SIZE - (1 << 64)
                return f"InvalidArgumentError: Can't read a negative number of bytes: {wrapped}"
        if self.kind is DamageKind.TRUNCATED:
            return f"DataLossError: truncated record at {self.tf_offset}"
        suffix = " (Is this even a TFRecord file?)" if self.tf_offset == 0 else ""
        return f"DataLossError: corrupted record at {self.tf_offset}{suffix}"


class _Window:
    """A sliding window over a seekable binary file, read in chunks.

    ``span(offset, n)`` returns a buffer holding those bytes and where they start in it, so that
    the reader slices each payload out exactly once. Files are read, never memory-mapped: when
    another program truncates a mapped file, touching a page past its new end kills the process
    (SIGBUS), where a read just comes back short, and a short read is reported as the file
    having changed during the run.
    """

    def __init__(self, file: BinaryIO, size: int, chunk: int) -> None:
        self._file = file
        self._size = size
        self._chunk = chunk
        self._base = 0
        self._buf = b""
        #: Read a whole chunk ahead (``False``: little more than asked, when only the record
        #: headers are read).
        self.read_ahead = True

    def span(self, offset: int, n: int) -> tuple[bytes, int]:
        """A buffer and a position in it such that ``buf[pos:pos + n]`` is bytes ``[offset,
        offset + n)`` of the file; OSError if the file is shorter than it was."""
        rel = offset - self._base
        if rel < 0 or rel + n > len(self._buf):
            self._fill(offset, n)
            rel = offset - self._base
        return self._buf, rel

    def loaded(self, offset: int) -> tuple[bytes, int]:
        """The current buffer and where ``offset`` is in it (outside it when negative or past
        its end): a look without reading anything."""
        return self._buf, offset - self._base

    def get(self, offset: int, n: int) -> bytes:
        """``n`` bytes at ``offset`` (one copy); OSError if the file is shorter than it was."""
        buf, rel = self.span(offset, n)
        if rel == 0 and n == len(buf):
            return buf
        return buf[rel : rel + n]

    def close(self) -> None:
        """Let the current window go."""
        self._buf = b""

    def _fill(self, offset: int, n: int) -> None:
        self.close()  # let the old chunk go before reading the next one
        ahead = self._chunk if self.read_ahead else _HEADERS_AHEAD
        want = min(max(ahead, n), self._size - offset)
        self._file.seek(offset)
        self._buf = self._file.read(want)
        self._base = offset
        if n > len(self._buf):
            raise OSError(
                f"it changed during the run: it was {self._size:,} bytes when the run started "
                f"and now ends before byte {offset + n:,} (did another program write to it "
                "while it was read?)"
            )


#: How much is read at a time when only record headers are wanted (:meth:`RecordReader.chain`):
#: a little past the header, since the next one is usually a record further on.
_HEADERS_AHEAD = 8 << 10


def _local_fileno(file: BinaryIO) -> int | None:
    """The descriptor of a plain local file, else ``None`` (fsspec files, spools, pipes)."""
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
    then ``start`` must be where an item of the file starts (as :meth:`chain` finds them) and
    ``first_index`` that item's index, so that records keep their true indices. After a full
    iteration, :attr:`stop` is the offset where the next item starts (``>= end``, or the file
    size) and :attr:`next_index` its index. Raises ``OSError`` if the file cannot be read, or
    if it changes during the run (it turns out shorter than ``size``, or a local file's size
    differs at the end); damage in the bytes is never an exception, it is yielded as a
    :class:`Damage`.
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
        self._fileno = _local_fileno(file)

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
        self._check_unchanged()

    def chain(self) -> Iterator[tuple[int, int]]:
        """The offset and index of every item (record or damage) from ``start`` to the end.

        It follows the path iterating takes, reading record headers only (a record's data only
        where the header after it is damaged), so it is cheap: this is where a large file can be
        cut into pieces that read on their own with true record indices. Only after two records
        in a row whose data fail their CRCs can it see one item more than iterating does (the
        pieces then do not join up, and the file is read again whole).
        """
        offset, index = self.start, self.first_index
        self._window.read_ahead = False  # only headers are read
        try:
            while offset < self.size:
                yield offset, index
                offset = self._item_end(offset)
                index += 1
        finally:
            self._window.close()

    def _check_unchanged(self) -> None:
        """OSError when a local file is no longer the size it was read as: another program
        wrote to it (or cut it) during the run, and what was read may not be what is there."""
        if self._fileno is None:
            return
        try:
            now = os.fstat(self._fileno).st_size
        except OSError:
            return
        if now != self.size:
            raise OSError(
                f"it changed during the run: it was {self.size:,} bytes when the run started "
                f"and is {now:,} bytes now (did another program write to it while it was read?)"
            )

    # -- one record ----------------------------------------------------------------------------

    def _header(self, offset: int) -> tuple[int, DamageKind | None]:
        """The length announced at ``offset`` (or the bytes left, for a cut header) and what is
        wrong with the header, if anything."""
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

    def _intact_at(self, offset: int, index: int) -> Record | None:
        """The record at ``offset`` when the current window holds all of it and it is intact
        (the common case, in one short step); ``None`` when it takes a closer look."""
        buf, pos = self._window.loaded(offset)
        if pos < 0 or pos + HEADER_SIZE > len(buf):
            return None
        length, length_crc = _HEADER.unpack_from(buf, pos)
        start = pos + HEADER_SIZE
        if start + length + FOOTER_SIZE > len(buf) or masked_crc32c(buf[pos:pos + 8]) != length_crc:
            return None
        payload = buf[start:start + length]
        if masked_crc32c(payload) != _CRC.unpack_from(buf, start + length)[0]:
            return None
        return Record(self.name, index, offset, payload)

    def _read_at(self, offset: int, index: int) -> Record | Damage:
        intact = self._intact_at(offset, index)
        if intact is not None:
            return intact
        length, problem = self._header(offset)
        if problem is DamageKind.CUT_IN_HEADER:
            return Damage(
                DamageKind.CUT_IN_HEADER, self.name, index, offset, offset, self.size,
                f"the file ends {length} byte(s) into a 12-byte record header (a record cut "
                "short, or stray bytes appended after the last record)",
            )
        if problem is DamageKind.CORRUPTED_LENGTH:
            return self._damaged(
                DamageKind.CORRUPTED_LENGTH, index, offset, offset, offset + 1,
                "the length field fails its CRC",
            )
        if problem is DamageKind.TRUNCATED:
            return self._damaged(
                DamageKind.TRUNCATED, index, offset, offset, offset + HEADER_SIZE,
                _truncation_detail(length, self.size - offset), length,
            )
        buf, pos = self._window.span(offset + HEADER_SIZE, length + FOOTER_SIZE)
        payload = buf[pos : pos + length]
        (payload_crc,) = _CRC.unpack_from(buf, pos + length)
        if masked_crc32c(payload) != payload_crc:
            return self._corrupted_payload(index, offset, length)
        return Record(self.name, index, offset, payload)

    def _item_end(self, offset: int) -> int:
        """Where the item at ``offset`` ends, as :meth:`_read_at` decides it, from headers."""
        length, problem = self._header(offset)
        if problem is DamageKind.CUT_IN_HEADER:
            return self.size
        if problem is not None:
            found = self._resync(offset + (1 if problem is DamageKind.CORRUPTED_LENGTH
                                           else HEADER_SIZE))
            return self.size if found is None else found
        follows = offset + FRAME_OVERHEAD + length
        if follows == self.size or self._header_ok(follows):
            return follows  # the record is intact, or its data is damaged and it ends there
        return self._read_at(offset, 0).end

    def _header_ok(self, offset: int) -> bool:
        """Whether a record header whose length CRC verifies starts at ``offset``."""
        if self.size - offset < HEADER_SIZE:
            return False
        buf, pos = self._window.span(offset, HEADER_SIZE)
        return masked_crc32c(buf[pos : pos + 8]) == _CRC.unpack_from(buf, pos + 8)[0]

    def _damaged(
        self, kind: DamageKind, index: int, offset: int, tf_offset: int, scan_from: int,
        detail: str, length: int | None = None,
    ) -> Damage:
        found = self._resync(scan_from)
        end = self.size if found is None else found
        return Damage(kind, self.name, index, offset, tf_offset, end, detail, length)

    def _corrupted_payload(self, index: int, offset: int, length: int) -> Damage:
        # The length verified, so the record ends where it says: the next one starts there.
        follows = offset + FRAME_OVERHEAD + length
        detail = f"the {length}-byte data fails its CRC"
        if follows == self.size or self._plausible_record(follows):
            return Damage(DamageKind.CORRUPTED_PAYLOAD, self.name, index, offset,
                          offset + HEADER_SIZE, follows, detail, length)
        return self._damaged(DamageKind.CORRUPTED_PAYLOAD, index, offset, offset + HEADER_SIZE,
                             offset + HEADER_SIZE, detail, length)

    # -- resynchronisation -------------------------------------------------------------------

    def _plausible_record(self, offset: int) -> bool:
        """Whether a record starts at ``offset``: its length CRC verifies, and its payload CRC
        too, unless the length runs past the end of the file (a truncated last record)."""
        remaining = self.size - offset
        if remaining < HEADER_SIZE:
            return False
        header = self._window.get(offset, HEADER_SIZE)
        length, length_crc = _HEADER.unpack(header)
        if masked_crc32c(header[:8]) != length_crc:
            return False
        if length > remaining - FRAME_OVERHEAD:
            return True
        body = self._window.get(offset + HEADER_SIZE, length + FOOTER_SIZE)
        return masked_crc32c(body[:length]) == _CRC.unpack_from(body, length)[0]

    def _resync(self, offset: int) -> int | None:
        """The first offset >= ``offset`` where a record starts (see :meth:`_plausible_record`),
        or ``None``.

        Candidates are found vectorised: a real length is below 2**32 (protobuf caps messages at
        2 GiB), so bytes 4-7 of a header are zero; the length CRC of every such candidate is then
        computed at once with numpy, and only headers that verify are looked at one by one.
        """
        pos = offset
        last = self.size - HEADER_SIZE  # the last offset where a header fits
        while pos <= last:
            span = min(_SCAN_WINDOW, last - pos + 1)
            data = np.frombuffer(self._window.get(pos, span + HEADER_SIZE - 1), dtype=np.uint8)
            for rel in _verified_headers(data, span).tolist():
                if self._plausible_record(pos + rel):
                    return pos + rel
            pos += span
        return None


def _crc32c_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0x82F63B78), table >> 1)
    return table.astype(np.uint32)


_CRC_TABLE = _crc32c_table()


def _verified_headers(data: np.ndarray, span: int) -> np.ndarray:
    """The offsets ``< span`` in ``data`` where 12 bytes are a header whose length CRC verifies
    (and whose length is below 2**32), in increasing order."""
    zero = data == 0
    high_zero = zero[4 : 4 + span] & zero[5 : 5 + span] & zero[6 : 6 + span]
    high_zero &= zero[7 : 7 + span]
    # A stored CRC of 0 next to a zero length field is a run of zeros: skip it cheaply.
    crc_zero = zero[8 : 8 + span] & zero[9 : 9 + span] & zero[10 : 10 + span]
    crc_zero &= zero[11 : 11 + span]
    candidates = np.flatnonzero(high_zero & ~crc_zero)
    if candidates.size == 0:
        return candidates
    crc = np.full(candidates.size, 0xFFFFFFFF, dtype=np.uint32)
    for i in range(4):  # bytes 4-7 are zero: (crc ^ 0) & 0xFF needs no gather of the data
        crc = _CRC_TABLE[(crc ^ data[candidates + i]) & 0xFF] ^ (crc >> 8)
    for _ in range(4):
        crc = _CRC_TABLE[crc & 0xFF] ^ (crc >> 8)
    crc ^= np.uint32(0xFFFFFFFF)
    masked = ((crc >> 15) | (crc << 17)) + np.uint32(MASK_DELTA)
    stored = data[candidates + 8].astype(np.uint32) | (data[candidates + 9].astype(np.uint32) << 8)
    stored |= (data[candidates + 10].astype(np.uint32) << 16)
    stored |= (data[candidates + 11].astype(np.uint32) << 24)
    return candidates[masked == stored]


def _truncation_detail(length: int, remaining: int) -> str:
    available = max(remaining - FRAME_OVERHEAD, 0)
    detail = (
        f"the header announces {length:,} bytes of data but only {available:,} follow before "
        "the end of the file"
    )
    if _TF_RESERVES_TOO_MUCH < length < _TF_NEGATIVE_READ:
        detail += (
            f"; TensorFlow first reserves {length + FOOTER_SIZE:,} bytes of memory for it and "
            "can crash (out of memory) before it reports the truncation"
        )
    return detail


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
    size = file.seek(0, 2)
    if offset + HEADER_SIZE > size:
        raise NoRecordHere(f"{name}: the file ends before byte {offset + HEADER_SIZE} (it holds "
                           f"{size:,} bytes)")
    file.seek(offset)
    header = file.read(HEADER_SIZE)
    if len(header) < HEADER_SIZE:
        raise NoRecordHere(f"{name}: the file ends before byte {offset + HEADER_SIZE}")
    length, length_crc = _HEADER.unpack(header)
    if masked_crc32c(header[:8]) != length_crc:
        raise NoRecordHere(f"{name}: no record header at byte {offset}")
    remaining = size - offset - HEADER_SIZE
    if length + FOOTER_SIZE > remaining:
        raise NoRecordHere(f"{name}: the record at byte {offset} is cut short")
    file.seek(offset + HEADER_SIZE)
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
