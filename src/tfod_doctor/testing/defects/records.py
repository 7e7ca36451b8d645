"""Defects of the record files themselves: framing damage, compression, wrong files, inputs."""

from __future__ import annotations

import gzip
import socket
import struct
import zlib

from tfod_doctor.testing.builder import Builder, Stage, defect
from tfod_doctor.testing.images import make_image


def _offsets(builder: Builder, name: str) -> list[int]:
    offsets, offset = [], 0
    for slot in builder.slots[name]:
        offsets.append(offset)
        offset += len(slot.payload or b"") + 16
    return offsets


def _damage_target(builder: Builder) -> tuple[str, int, int]:
    """Record 1 of the first train file, or the next one no other defect was planted in."""
    name = builder.files("train")[0]
    count = len(builder.slots[name])
    taken = {p.record for p in builder.planted if p.file == str(builder.path(name))}
    index = next((i for i in range(1, count - 1) if i not in taken), min(1, count - 1))
    return name, index, _offsets(builder, name)[index]


@defect("bad_length_crc", Stage.BYTES)
def bad_length_crc(b: Builder) -> None:
    """Flip a bit in the length field of record 1 of the first train file."""
    name, index, offset = _damage_target(b)
    data = bytearray(b.file_bytes[name])
    data[offset + 1] ^= 0x04
    b.file_bytes[name] = bytes(data)
    b.plant("bad_length_crc", file=name, record=index, note=f"offset {offset}")


@defect("bad_payload_crc", Stage.BYTES)
def bad_payload_crc(b: Builder) -> None:
    """Flip a bit in the payload of record 1 of the first train file."""
    name, index, offset = _damage_target(b)
    data = bytearray(b.file_bytes[name])
    data[offset + 12 + 5] ^= 0x10
    b.file_bytes[name] = bytes(data)
    b.plant("bad_payload_crc", file=name, record=index, note=f"offset {offset + 12}")


def _last(b: Builder) -> tuple[str, int, int]:
    name = b.files("train")[0]
    index = len(b.slots[name]) - 1
    return name, index, _offsets(b, name)[index]


@defect("truncated_payload", Stage.BYTES)
def truncated_payload(b: Builder) -> None:
    """Cut the first train file in the middle of its last record's payload."""
    name, index, offset = _last(b)
    b.file_bytes[name] = b.file_bytes[name][: offset + 12 + 7]
    b.plant("truncated_payload", file=name, record=index, note=f"offset {offset}")


@defect("cut_in_header", Stage.BYTES)
def cut_in_header(b: Builder) -> None:
    """Cut the first train file 5 bytes into its last record's header."""
    name, index, offset = _last(b)
    b.file_bytes[name] = b.file_bytes[name][: offset + 5]
    b.plant("cut_in_header", file=name, record=index, note=f"offset {offset}")


@defect("empty_file", Stage.BYTES)
def empty_file(b: Builder) -> None:
    """Add an empty record file to the train split."""
    name = "data/train-empty.tfrecord"
    b.roles[name] = "train"
    b.slots[name] = []
    b.file_bytes[name] = b""
    b.plant("empty_file", file=name)


@defect("not_tfrecord_file", Stage.BYTES)
def not_tfrecord_file(b: Builder) -> None:
    """Add a JPEG image named like a record file to the train split."""
    name = "data/train-extra.tfrecord"
    b.roles[name] = "train"
    b.slots[name] = []
    b.file_bytes[name] = make_image(40, 30)
    b.plant("not_tfrecord_file", file=name, note="a JPEG image")


def _compressed(b: Builder, defect_name: str, compress) -> None:
    name = b.files("train")[0]
    b.file_bytes[name] = compress(b.file_bytes[name])
    b.plant(defect_name, file=name)


@defect("gzip_file", Stage.BYTES)
def gzip_file(b: Builder) -> None:
    """GZIP-compress the first train file (as TFRecordWriter(options='GZIP') writes it)."""
    _compressed(b, "gzip_file", lambda data: gzip.compress(data, mtime=0))


@defect("zlib_file", Stage.BYTES)
def zlib_file(b: Builder) -> None:
    """ZLIB-compress the first train file (as TFRecordWriter(options='ZLIB') writes it)."""
    _compressed(b, "zlib_file", zlib.compress)


@defect("not_an_example", Stage.PAYLOADS)
def not_an_example(b: Builder) -> None:
    """Write raw JPEG bytes as record 1's payload instead of a tf.train.Example."""
    slot = b.pick("train", with_boxes=0, nth=1)
    slot.payload = slot.sample.image
    b.plant_in("not_an_example", slot)


@defect("missing_input", Stage.FILES)
def missing_input(b: Builder) -> None:
    """Name a record file that does not exist among the inputs."""
    path = str(b.path("data/trian.tfrecord"))
    b.extra_inputs.append(path)
    b.plant("missing_input", file=path)


@defect("glob_matches_nothing", Stage.FILES)
def glob_matches_nothing(b: Builder) -> None:
    """Name a shard pattern that matches no file among the inputs."""
    pattern = str(b.path("data/train.record-?????-of-00010"))
    b.extra_inputs.append(pattern)
    b.plant("glob_matches_nothing", file=pattern)


@defect("directory_without_records", Stage.FILES)
def directory_without_records(b: Builder) -> None:
    """Name a directory that holds only images among the inputs."""
    folder = b.path("images")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "img.jpg").write_bytes(make_image(16, 16))
    b.extra_inputs.append(str(folder))
    b.plant("directory_without_records", file=str(folder))


@defect("unreadable_file", Stage.FILES)
def unreadable_file(b: Builder) -> None:
    """Name a path that exists but cannot be opened (a Unix socket, even root can't read it)."""
    path = b.path("data/train-socket.tfrecord")
    path.parent.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()
    b.extra_inputs.append(str(path))
    b.plant("unreadable_file", file=str(path))


@defect("missing_shard", Stage.FILES)
def missing_shard(b: Builder) -> None:
    """Write the train split as 3 shards and delete the middle one."""
    names = b.files("train")
    if len(names) < 3:
        raise ValueError("missing_shard needs train_shards >= 3")
    gone = names[1]
    del b.roles[gone], b.file_bytes[gone]
    b.plant("missing_shard", file=gone)


def huge_length_header() -> bytes:
    """A 12-byte header announcing 2**63 bytes, with a valid CRC (for bad-input tests)."""
    from tfod_doctor.records.crc import masked_crc32c

    length = struct.pack("<Q", 1 << 63)
    return length + struct.pack("<I", masked_crc32c(length))



@defect("reader_without_records", Stage.CONFIG)
def reader_without_records(b: Builder) -> None:
    """Empty every eval file (the eval reader then reads files that hold no record)."""
    for name in b.files("eval"):
        b.slots[name] = []
        b.file_bytes[name] = b""
        b.path(name).write_bytes(b"")
    b.plant("reader_without_records", file="pipeline.config",
            line=b.config_line("eval_input_reader {"))
