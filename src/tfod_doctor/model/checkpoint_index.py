"""Read a TensorFlow checkpoint's ``.index`` file without TensorFlow: tensor names, dtypes, shapes.

A V2 checkpoint ``PREFIX`` is ``PREFIX.index`` plus ``PREFIX.data-0000K-of-0000N``. The index is a
TensorBundle: a LevelDB-format table (TensorFlow's ``core/lib/io/table``) whose empty key holds a
``BundleHeaderProto`` (shard count, endianness, version) and whose other keys are tensor names,
sorted, each holding a ``BundleEntryProto`` (dtype, shape, shard, offset and size in the data file,
crc32c); keys starting with a zero byte hold the slices of a tensor saved in pieces (partitioned
variables, or a shard size limit), which the tensor's own entry lists. The table is:

* data blocks of prefix-compressed entries (``varint32 shared, varint32 unshared, varint32
  value length, key suffix, value``) followed by ``fixed32`` restart offsets and their count;
* after every block a trailer: one compression byte (0 none, 1 snappy) and the masked CRC32C of
  the block and that byte;
* a metaindex block and an index block (separator key -> ``varint64 offset, varint64 size`` of a
  data block);
* a 48-byte footer: the metaindex and index block handles, zero padding, and the magic number.

Protobuf fields are decoded by hand (the few this needs); unknown fields are skipped. Anything
malformed raises :class:`CheckpointIndexError` with what is wrong, never another exception.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tfod_doctor.records.crc import masked_crc32c

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5
#: The key of the object graph TF2's ``tf.train.Checkpoint`` writes (a scalar string tensor).
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"

#: ``tensorflow/core/framework/types.proto``'s DataType numbers, as TensorFlow names them.
DTYPES = {
    1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string",
    8: "complex64", 9: "int64", 10: "bool", 11: "qint8", 12: "quint8", 13: "qint32",
    14: "bfloat16", 15: "qint16", 16: "quint16", 17: "uint16", 18: "complex128", 19: "float16",
    20: "resource", 21: "variant", 22: "uint32", 23: "uint64",
}


class CheckpointIndexError(Exception):
    """The bytes are not a readable TensorBundle index; ``reason`` says what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of the checkpoint as the index describes it."""

    name: str
    dtype: str
    #: The dimensions; ``None`` when the shape has unknown rank.
    shape: tuple[int, ...] | None
    shard_id: int = 0
    offset: int = 0
    size: int = 0
    #: Whether the tensor is saved as slices (partitioned variables), not as one piece.
    sliced: bool = False


@dataclass(frozen=True)
class BundleIndex:
    """What a checkpoint's ``.index`` says: the header and every tensor, in key order."""

    num_shards: int
    big_endian: bool
    producer: int
    entries: tuple[TensorEntry, ...]

    def names(self) -> list[str]:
        """Every tensor name, in the index's (sorted) order."""
        return [entry.name for entry in self.entries]

    @property
    def object_based(self) -> bool:
        """Whether TF2's ``tf.train.Checkpoint`` wrote it (it stores the object graph)."""
        return any(entry.name == OBJECT_GRAPH_KEY for entry in self.entries)


def read_index(path: str | Path) -> BundleIndex:
    """Read and parse the ``.index`` file at ``path`` (OSError if it cannot be opened)."""
    return parse_index(Path(path).read_bytes())


def parse_index(data: bytes) -> BundleIndex:
    """Parse the bytes of a ``.index`` file."""
    header: BundleIndex | None = None
    entries: list[TensorEntry] = []
    for key, value in iter_table(data):
        if key == b"":
            header = _header(value)
        elif not key.startswith(b"\0"):  # b"\0..." keys hold the slices of sliced tensors
            entries.append(_entry(key.decode("utf-8", "replace"), value))
    if header is None:
        raise CheckpointIndexError("the table has no bundle header (not a TensorBundle index)")
    return BundleIndex(header.num_shards, header.big_endian, header.producer, tuple(entries))


# -- the LevelDB table -----------------------------------------------------------------------


def iter_table(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Every (key, value) of a LevelDB-format table, in order."""
    if len(data) < FOOTER_SIZE:
        raise CheckpointIndexError(f"{len(data)} bytes is too short for a table footer "
                                   f"({FOOTER_SIZE} bytes): the file is empty or truncated")
    footer = data[-FOOTER_SIZE:]
    (magic,) = struct.unpack_from("<Q", footer, FOOTER_SIZE - 8)
    if magic != TABLE_MAGIC:
        raise CheckpointIndexError("not a table file (bad magic number): not a checkpoint index, "
                                   "or a truncated one")
    cursor = _Cursor(footer, 0, FOOTER_SIZE - 8)
    cursor.varint()  # metaindex offset
    cursor.varint()  # metaindex size
    index_handle = (cursor.varint(), cursor.varint())
    end = len(data) - FOOTER_SIZE
    last_key: bytes | None = None
    for _, handle in _block_entries(_block(data, *index_handle, end)):
        handle_cursor = _Cursor(handle, 0, len(handle))
        block = _block(data, handle_cursor.varint(), handle_cursor.varint(), end)
        for key, value in _block_entries(block):
            if last_key is not None and key <= last_key:
                raise CheckpointIndexError("the table's keys are out of order: the index is "
                                           "damaged")
            last_key = key
            yield key, value


def _block(data: bytes, offset: int, size: int, end: int) -> bytes:
    """The contents of the block at ``offset`` (trailer checked)."""
    if offset + size + BLOCK_TRAILER_SIZE > end:
        raise CheckpointIndexError(f"a block at byte {offset} ({size} bytes) runs past the end of "
                                   "the table: the index is truncated or damaged")
    contents = data[offset:offset + size]
    kind = data[offset + size]
    (stored,) = struct.unpack_from("<I", data, offset + size + 1)
    if masked_crc32c(contents + bytes([kind])) != stored:
        raise CheckpointIndexError(f"the block at byte {offset} fails its checksum: the index is "
                                   "damaged")
    if kind == 1:
        raise CheckpointIndexError("the index's blocks are snappy-compressed, which TensorFlow "
                                   "never writes for checkpoints: not a TensorFlow checkpoint")
    if kind != 0:
        raise CheckpointIndexError(f"unknown block compression type {kind}")
    return contents


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The (key, value) entries of one block, keys expanded from their shared prefixes."""
    if len(block) < 4:
        raise CheckpointIndexError("a block is too short to hold its restart count")
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * restarts
    if restarts < 1 or limit < 0:
        raise CheckpointIndexError("a block's restart count does not fit the block")
    cursor = _Cursor(block, 0, limit)
    key = b""
    while cursor.pos < limit:
        shared, unshared, value_size = cursor.varint(), cursor.varint(), cursor.varint()
        if shared > len(key):
            raise CheckpointIndexError("an entry shares more of the key than the last key has")
        key = key[:shared] + cursor.take(unshared)
        yield key, cursor.take(value_size)


# -- protobuf fields ---------------------------------------------------------------------------


class _Cursor:
    """Reads varints and byte runs from ``data[pos:limit]``, raising on overruns."""

    def __init__(self, data: bytes, pos: int, limit: int) -> None:
        self.data, self.pos, self.limit = data, pos, limit

    def varint(self) -> int:
        result = shift = 0
        while True:
            if self.pos >= self.limit:
                raise CheckpointIndexError("a number runs past the end of its field")
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise CheckpointIndexError("a number is longer than 64 bits")

    def take(self, size: int) -> bytes:
        if self.pos + size > self.limit:
            raise CheckpointIndexError("a field runs past the end of its record")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk


def _fields(message: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of a serialized message: ints for varint and fixed, bytes for
    length-delimited fields."""
    cursor = _Cursor(message, 0, len(message))
    while cursor.pos < len(message):
        tag = cursor.varint()
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            yield number, cursor.varint()
        elif wire == 1:
            yield number, struct.unpack("<Q", cursor.take(8))[0]
        elif wire == 2:
            yield number, cursor.take(cursor.varint())
        elif wire == 5:
            yield number, struct.unpack("<I", cursor.take(4))[0]
        else:
            raise CheckpointIndexError(f"a protobuf field has wire type {wire}")


def _int(value: int | bytes) -> int:
    if isinstance(value, bytes):
        raise CheckpointIndexError("a number field holds bytes")
    return value - (1 << 64) if value >= 1 << 63 else value


def _bytes(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise CheckpointIndexError("a message field holds a number")
    return value


def _header(value: bytes) -> BundleIndex:
    num_shards, big_endian, producer = 1, False, 0
    for number, field in _fields(value):
        if number == 1:
            num_shards = _int(field)
        elif number == 2:
            big_endian = _int(field) == 1
        elif number == 3:
            producer = next((_int(v) for n, v in _fields(_bytes(field)) if n == 1), 0)
    return BundleIndex(num_shards, big_endian, producer, ())


def _entry(name: str, value: bytes) -> TensorEntry:
    dtype, shape, shard, offset, size, sliced = 0, (), 0, 0, 0, False
    for number, field in _fields(value):
        if number == 1:
            dtype = _int(field)
        elif number == 2:
            shape = _shape(_bytes(field))
        elif number == 3:
            shard = _int(field)
        elif number == 4:
            offset = _int(field)
        elif number == 5:
            size = _int(field)
        elif number == 7:
            sliced = True
    return TensorEntry(name, DTYPES.get(dtype, f"dtype {dtype}"), shape, shard, offset, size,
                       sliced)


def _shape(message: bytes) -> tuple[int, ...] | None:
    dims: list[int] = []
    for number, field in _fields(message):
        if number == 2:
            dims.append(next((_int(v) for n, v in _fields(_bytes(field)) if n == 1), 0))
        elif number == 3 and _int(field):
            return None
    return tuple(dims)
