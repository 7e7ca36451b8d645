"""The records layer against TensorFlow: its writer, its reader, and what it says on damage.

Every file here is written by TensorFlow's own ``tf.io.TFRecordWriter`` (or checked byte for byte
against it), every damage is built on such a file, and TensorFlow's own reader is run on it next
to ours: the same records, the same offset in the same message, or the same silence.
"""

from __future__ import annotations

import gzip
import struct
import tracemalloc
import zlib
from pathlib import Path

import pytest

from tfod_doctor.api import scan
from tfod_doctor.records import (
    Damage,
    DamageKind,
    FileKind,
    Floats,
    Record,
    RecordReader,
    Source,
    open_records,
    salvage,
    salvage_to,
    write_records,
)
from tfod_doctor.records.crc import masked_crc32c
from tfod_doctor.testing import make_image
from tfod_doctor.testing.defects.records import huge_length_header

pytestmark = pytest.mark.tf

N = 7


def _payloads(tf_oracle, n: int = N) -> list[bytes]:
    """Real tf.train.Example payloads of varied sizes, encoded by TensorFlow."""
    return [
        tf_oracle.tf_encode({
            "image/encoded": b"\xff\xd8" + bytes(range(256)) * (i % 3),
            "image/height": 10 + i,
            "image/object/bbox/xmin": Floats([0.1 * j for j in range(i)]),
        })
        for i in range(n)
    ]


def _offsets(payloads: list[bytes]) -> list[int]:
    offsets, offset = [], 0
    for payload in payloads:
        offsets.append(offset)
        offset += len(payload) + 16
    return offsets


def _read(path: Path) -> tuple[list[Record], list[Damage], FileKind]:
    source = Source.local(path)
    with open_records(source) as opened:
        items = list(opened.records())
        kind = opened.kind
    return ([i for i in items if isinstance(i, Record)],
            [i for i in items if isinstance(i, Damage)], kind)


def _tf_says(tf_message: str, tf_error: str | None) -> bool:
    """Whether TensorFlow's error text carries our rendering of it (``DataLossError: ...``)."""
    assert tf_error is not None
    return tf_message.split(": ", 1)[1] in tf_error


@pytest.fixture
def tf_file(tf_oracle, tmp_path):
    """A TFRecord file written by TensorFlow: (path, payloads, record offsets)."""
    payloads = _payloads(tf_oracle)
    path = tmp_path / "tf.tfrecord"
    tf_oracle.tf_write_records(path, payloads)
    return path, payloads, _offsets(payloads)


# -- reading and writing what TensorFlow reads and writes ------------------------------------


@pytest.mark.parametrize("options", [None, "GZIP", "ZLIB"])
def test_tf_written_files_read_to_identical_payloads(tf_oracle, tmp_path, options):
    payloads = [*_payloads(tf_oracle), b""]  # an empty payload is a valid record too
    path = tmp_path / "data.tfrecord"
    tf_oracle.tf_write_records(path, payloads, options)
    records, damages, kind = _read(path)
    assert [r.payload for r in records] == payloads
    assert [r.index for r in records] == list(range(len(payloads)))
    assert [r.offset for r in records] == _offsets(payloads)
    assert damages == []
    expected = {None: FileKind.TFRECORD, "GZIP": FileKind.TFRECORD_GZIP,
                "ZLIB": FileKind.TFRECORD_ZLIB}[options]
    assert kind is expected


def test_our_writer_is_byte_identical_to_tensorflows(tf_oracle, tmp_path):
    payloads = [*_payloads(tf_oracle), b"", b"\x00" * 1000, bytes(range(256))]
    tf_oracle.tf_write_records(tmp_path / "tf.tfrecord", payloads)
    write_records(tmp_path / "ours.tfrecord", payloads)
    assert (tmp_path / "ours.tfrecord").read_bytes() == (tmp_path / "tf.tfrecord").read_bytes()
    read_back, error = tf_oracle.tf_read_records(tmp_path / "ours.tfrecord")
    assert error is None and read_back == payloads


def test_a_record_larger_than_the_read_chunk(tf_oracle, tmp_path):
    big = bytes(range(256)) * (9 << 12)  # 9 MB: more than the reader's chunk
    payloads = [b"small", big, b"after"]
    path = tmp_path / "big.tfrecord"
    tf_oracle.tf_write_records(path, payloads)
    records, damages, _ = _read(path)
    assert [r.payload for r in records] == payloads and damages == []
    # Damage the small record before it: the reader resynchronises across the big one.
    data = bytearray(path.read_bytes())
    data[13] ^= 0xFF
    path.write_bytes(bytes(data))
    records, damages, _ = _read(path)
    assert [r.payload for r in records] == payloads[1:]
    assert [(d.kind, d.offset, d.end) for d in damages] == [
        (DamageKind.CORRUPTED_PAYLOAD, 0, 21)
    ]


def test_small_read_chunks_give_the_same_result(tf_file):
    path, _, _ = tf_file
    data = bytearray(path.read_bytes())
    data[40] ^= 1
    path.write_bytes(bytes(data))
    with path.open("rb") as handle:
        small = list(RecordReader(handle, len(data), "f", chunk_size=7))
    with path.open("rb") as handle:
        default = list(RecordReader(handle, len(data), "f"))
    assert small == default


# -- each kind of damage, TensorFlow's behaviour next to ours ----------------------------------


def _flip(data: bytes, at: int) -> bytes:
    damaged = bytearray(data)
    damaged[at] ^= 0x20
    return bytes(damaged)


DAMAGES = {
    # name: (how to damage record k at offset o with payload length n, kind, TF's offset)
    "length-field": (lambda d, o, n: _flip(d, o + 2), DamageKind.CORRUPTED_LENGTH, 0),
    "length-crc": (lambda d, o, n: _flip(d, o + 9), DamageKind.CORRUPTED_LENGTH, 0),
    "payload": (lambda d, o, n: _flip(d, o + 12 + n // 2), DamageKind.CORRUPTED_PAYLOAD, 12),
    "payload-crc": (lambda d, o, n: _flip(d, o + 12 + n + 1), DamageKind.CORRUPTED_PAYLOAD, 12),
    "zero-filled": (lambda d, o, n: d[:o] + bytes(n + 16) + d[o + n + 16 :],
                    DamageKind.CORRUPTED_LENGTH, 0),
}


@pytest.mark.parametrize("name", sorted(DAMAGES))
@pytest.mark.parametrize("k", [0, 3, N - 1])
def test_damage_is_where_tensorflow_says_and_everything_else_is_recovered(
    tf_oracle, tf_file, name, k
):
    path, payloads, offsets = tf_file
    damage_fn, kind, tf_delta = DAMAGES[name]
    path.write_bytes(damage_fn(path.read_bytes(), offsets[k], len(payloads[k])))

    tf_records, tf_error = tf_oracle.tf_read_records(path)
    assert tf_records == payloads[:k]  # TensorFlow stops at the damage...
    assert f"corrupted record at {offsets[k] + tf_delta}" in tf_error

    records, damages, _ = _read(path)
    (damage,) = damages
    assert (damage.kind, damage.record, damage.offset) == (kind, k, offsets[k])
    assert damage.tf_offset == offsets[k] + tf_delta
    assert _tf_says(damage.tf_message, tf_error)
    assert damage.end == offsets[k] + len(payloads[k]) + 16  # exactly the damaged record
    # ... and we read on: every other record, identical, in order.
    assert [r.payload for r in records] == payloads[:k] + payloads[k + 1 :]
    assert [r.offset for r in records] == offsets[:k] + offsets[k + 1 :]


@pytest.mark.parametrize("cut", [0, 1, 7, -1])
def test_truncated_record(tf_oracle, tf_file, cut):
    """The file ends after the last record's header: ``cut`` bytes after it (-1: in the CRC)."""
    path, payloads, offsets = tf_file
    data = path.read_bytes()
    keep = len(data) - 1 if cut < 0 else offsets[-1] + 12 + cut
    path.write_bytes(data[:keep])
    tf_records, tf_error = tf_oracle.tf_read_records(path)
    assert tf_records == payloads[:-1]
    assert f"truncated record at {offsets[-1]}" in tf_error

    records, damages, _ = _read(path)
    assert [r.payload for r in records] == payloads[:-1]
    (damage,) = damages
    assert (damage.kind, damage.record, damage.tf_offset) == (DamageKind.TRUNCATED, N - 1,
                                                                offsets[-1])
    assert damage.end == keep
    assert _tf_says(damage.tf_message, tf_error)


@pytest.mark.parametrize("keep", [1, 5, 11])
def test_cut_inside_a_header_is_silent_data_loss_in_tensorflow(tf_oracle, tf_file, keep):
    path, payloads, offsets = tf_file
    path.write_bytes(path.read_bytes()[: offsets[-1] + keep])
    tf_records, tf_error = tf_oracle.tf_read_records(path)
    assert tf_error is None and tf_records == payloads[:-1]  # no word: the record is gone

    records, damages, _ = _read(path)
    assert [r.payload for r in records] == payloads[:-1]
    (damage,) = damages
    assert (damage.kind, damage.record, damage.offset) == (DamageKind.CUT_IN_HEADER, N - 1,
                                                            offsets[-1])
    assert damage.tf_message is None and not damage.stops_tensorflow
    report = scan(str(path))
    (finding,) = report.by_rule("R006")
    assert finding.severity.label == "data-loss"
    assert (finding.location.record, finding.location.offset) == (N - 1, offsets[-1])


@pytest.mark.parametrize("tail", [b"\n", b"\x00" * 11, b"garbage"])
def test_one_to_eleven_trailing_bytes_are_ignored_by_tensorflow(tf_oracle, tf_file, tail):
    path, payloads, _ = tf_file
    size = path.stat().st_size
    path.write_bytes(path.read_bytes() + tail)
    tf_records, tf_error = tf_oracle.tf_read_records(path)
    assert tf_error is None and tf_records == payloads

    records, damages, _ = _read(path)
    assert [r.payload for r in records] == payloads
    assert [(d.kind, d.offset, d.end) for d in damages] == [
        (DamageKind.CUT_IN_HEADER, size, size + len(tail))
    ]


def test_twelve_or_more_trailing_bytes_stop_tensorflow(tf_oracle, tf_file):
    path, payloads, _ = tf_file
    size = path.stat().st_size
    path.write_bytes(path.read_bytes() + b"trailing garbage!")
    tf_records, tf_error = tf_oracle.tf_read_records(path)
    assert tf_records == payloads and f"corrupted record at {size}" in tf_error
    records, damages, _ = _read(path)
    assert len(records) == N
    (damage,) = damages
    assert (damage.kind, damage.tf_offset, damage.end) == (DamageKind.CORRUPTED_LENGTH, size,
                                                            size + 17)
    assert _tf_says(damage.tf_message, tf_error)


@pytest.mark.parametrize(
    ("length", "tf_text"),
    [
        (1 << 63, "Can't read a negative number of bytes: -9223372036854775804"),
        ((1 << 64) - 6, "Can't read a negative number of bytes: -2"),
        ((1 << 64) - 5, "record size too large"),
        (1000, "truncated record at"),
    ],
)
def test_a_length_field_larger_than_the_file(tf_oracle, tf_file, length, tf_text):
    """A header whose CRC verifies but whose length runs past the end of the file.

    (Lengths between a few GB and 2**63 make TensorFlow reserve that much memory first: it
    crashes the process, so they are not run here.)
    """
    path, payloads, _ = tf_file
    size = path.stat().st_size
    header = struct.pack("<Q", length)
    header += struct.pack("<I", masked_crc32c(header))
    path.write_bytes(path.read_bytes() + header + b"x" * 20)
    tf_records, tf_error = tf_oracle.tf_read_records(path)
    assert tf_records == payloads and tf_text in tf_error

    records, damages, _ = _read(path)  # allocates nothing near `length`
    assert len(records) == N
    (damage,) = damages
    assert (damage.kind, damage.record, damage.offset, damage.length) == (
        DamageKind.TRUNCATED, N, size, length)
    assert _tf_says(damage.tf_message, tf_error)


def test_a_huge_length_allocates_nothing_near_it(tmp_path):
    """A verified header announcing 1 TB (TensorFlow crashes reserving it): we allocate ~0."""
    header = struct.pack("<Q", 1 << 40)
    path = tmp_path / "tb.tfrecord"
    path.write_bytes(header + struct.pack("<I", masked_crc32c(header)) + bytes(1000))
    tracemalloc.start()
    try:
        _, (damage,), _ = _read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert damage.kind is DamageKind.TRUNCATED and damage.length == 1 << 40
    assert "can crash" in damage.detail
    assert peak < 1 << 20


def test_an_empty_file(tf_oracle, tmp_path):
    path = tmp_path / "empty.tfrecord"
    tf_oracle.tf_write_records(path, [])
    assert path.read_bytes() == b""
    assert tf_oracle.tf_read_records(path) == ([], None)  # valid, silent, nothing
    report = scan(str(path))
    (finding,) = report.by_rule("R007")
    assert finding.severity.label == "warning"
    assert report.stats["files"][0]["records"] == 0


def test_the_huge_length_defect_header(tf_oracle, tmp_path):
    path = tmp_path / "huge.tfrecord"
    path.write_bytes(huge_length_header())
    tf_records, tf_error = tf_oracle.tf_read_records(path)
    assert tf_records == [] and "negative number of bytes" in tf_error
    records, (damage,), _ = _read(path)
    assert records == [] and damage.kind is DamageKind.TRUNCATED
    assert _tf_says(damage.tf_message, tf_error)


# -- files that are not TFRecords, compressed files -------------------------------------------


def _not_records(tmp_path: Path) -> dict[str, tuple[bytes, FileKind]]:
    csv = b"filename,width,height,class,xmin,ymin,xmax,ymax\na.jpg,64,48,cat,1,2,30,40\n"
    return {
        "jpeg": (make_image(40, 30, "jpeg"), FileKind.JPEG),
        "png": (make_image(40, 30, "png"), FileKind.PNG),
        "csv": (csv, FileKind.CSV),
        "json": (b'{"images": [], "annotations": []}', FileKind.JSON),
        "gzip": (gzip.compress(csv), FileKind.GZIP),
        "zlib": (zlib.compress(csv), FileKind.ZLIB),
        "zeros": (bytes(300), FileKind.ZEROS),
    }


@pytest.mark.parametrize("what", ["jpeg", "png", "csv", "json", "gzip", "zlib", "zeros"])
def test_a_file_that_is_not_a_tfrecord(tf_oracle, tmp_path, what):
    data, kind = _not_records(tmp_path)[what]
    path = tmp_path / f"{what}.tfrecord"
    path.write_bytes(data)
    tf_records, tf_error = tf_oracle.tf_read_records(path)
    assert tf_records == [] and "corrupted record at 0 (Is this even a TFRecord file?)" in tf_error

    report = scan(str(path))
    (finding,) = report.by_rule("R001")
    assert finding.evidence["detected"] == kind.value
    assert finding.location.offset == 0
    assert not report.by_rule("R003")  # not reported as a damaged TFRecord
    assert report.exit_code() == 1


def test_first_record_damaged_is_damage_not_a_foreign_file(tf_oracle, tf_file):
    path, _, _ = tf_file
    path.write_bytes(_flip(path.read_bytes(), 3))
    report = scan(str(path))
    assert not report.by_rule("R001")
    (finding,) = report.by_rule("R003")
    assert (finding.location.record, finding.location.offset) == (0, 0)
    assert finding.evidence["records_recovered_after"] == N - 1
    assert f"never reads the {N - 1} intact records after it" in finding.message


def test_a_single_record_file_with_a_damaged_length_crc(tf_oracle, tmp_path):
    path = tmp_path / "one.tfrecord"
    tf_oracle.tf_write_records(path, [b"only record"])
    path.write_bytes(_flip(path.read_bytes(), 10))
    assert "corrupted record at 0" in tf_oracle.tf_read_records(path)[1]
    report = scan(str(path))
    assert report.by_rule("R003") and not report.by_rule("R001")


@pytest.mark.parametrize("options", ["GZIP", "ZLIB"])
def test_compressed_file_fed_to_the_od_api_reader(tf_oracle, tmp_path, options):
    """The OD API reads without compression: TensorFlow fails at byte 0; we read it all."""
    payloads = _payloads(tf_oracle)
    path = tmp_path / "c.tfrecord"
    tf_oracle.tf_write_records(path, payloads, options)
    tf_records, tf_error = tf_oracle.tf_read_records(path)  # no compression_type
    assert tf_records == [] and "corrupted record at 0" in tf_error
    report = scan(str(path))
    (finding,) = report.by_rule("R002")
    assert finding.evidence["records"] == N
    assert report.stats["files"][0]["records"] == N
    assert report.stats["files"][0]["tensorflow_reads"] == 0


def test_concatenated_gzip_members(tf_oracle, tmp_path):
    payloads = _payloads(tf_oracle)
    tf_oracle.tf_write_records(tmp_path / "a.gz", payloads[:3], "GZIP")
    tf_oracle.tf_write_records(tmp_path / "b.gz", payloads[3:], "GZIP")
    path = tmp_path / "ab.gz"
    path.write_bytes((tmp_path / "a.gz").read_bytes() + (tmp_path / "b.gz").read_bytes())
    tf_records, tf_error = tf_oracle.tf_read_records(path, "GZIP")
    assert tf_error is None and tf_records == payloads
    records, damages, _ = _read(path)
    assert [r.payload for r in records] == payloads and damages == []


def test_gzip_file_cut_short(tf_oracle, tmp_path):
    payloads = _payloads(tf_oracle)
    path = tmp_path / "cut.gz"
    tf_oracle.tf_write_records(path, payloads, "GZIP")
    path.write_bytes(path.read_bytes()[:-12])  # the gzip trailer and some data are gone
    tf_records, tf_error = tf_oracle.tf_read_records(path, "GZIP")
    records, damages, _ = _read(path)
    assert [r.payload for r in records] == tf_records
    (damage,) = damages
    assert f"truncated record at {damage.tf_offset}" in tf_error
    with open_records(Source.local(path)) as opened:
        assert "ends early" in opened.decompress_error


@pytest.mark.parametrize("tail", [b"\x00" * 10, b"not gzip"])
def test_bytes_after_the_last_gzip_member(tf_oracle, tmp_path, tail):
    payloads = _payloads(tf_oracle)
    path = tmp_path / "tail.gz"
    tf_oracle.tf_write_records(path, payloads, "GZIP")
    path.write_bytes(path.read_bytes() + tail)
    tf_records, tf_error = tf_oracle.tf_read_records(path, "GZIP")
    assert tf_records == payloads and "incorrect header check" in tf_error
    with open_records(Source.local(path)) as opened:
        assert [r.payload for r in opened.records()] == payloads
        assert "incorrect header check" in opened.decompress_error


def test_damaged_gzip_stream_never_crashes(tf_oracle, tmp_path):
    payloads = _payloads(tf_oracle, 40)
    path = tmp_path / "dmg.gz"
    tf_oracle.tf_write_records(path, payloads, "GZIP")
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    tf_records, tf_error = tf_oracle.tf_read_records(path, "GZIP")
    assert tf_error is not None and len(tf_records) < 40
    report = scan(str(path))
    (finding,) = report.by_rule("R002")
    assert "decompress_error" in finding.evidence
    records, _, _ = _read(path)
    assert [r.payload for r in records] == payloads[: len(records)]  # what came before is kept


# -- salvage ----------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [0, 2, N - 1])
def test_salvage_recovers_every_other_record_identical(tf_oracle, tf_file, tmp_path, k):
    path, payloads, offsets = tf_file
    path.write_bytes(_flip(path.read_bytes(), offsets[k] + 14))
    target = tmp_path / "salvaged" / "tf.tfrecord"
    report = salvage_to(path, target)
    assert report.records == N - 1
    assert report.lost_ranges == [(offsets[k], offsets[k] + len(payloads[k]) + 16)]
    tf_records, tf_error = tf_oracle.tf_read_records(target)
    assert tf_error is None and tf_records == payloads[:k] + payloads[k + 1 :]
    with salvage(path) as found:
        assert [r.payload for r in found] == tf_records
    assert found.report.damages[0].record == k


def test_salvage_never_overwrites_its_input(tf_file):
    path, _, _ = tf_file
    before = path.read_bytes()
    with pytest.raises(ValueError, match="refusing"):
        salvage_to(path, path)
    assert path.read_bytes() == before


def test_scan_names_file_record_and_offset_of_each_damage(tf_oracle, tmp_path):
    """The issue's "done when": several damages in TF-written files, all located, rest read."""
    payloads = _payloads(tf_oracle, 10)
    offsets = _offsets(payloads)
    a, b = tmp_path / "a.tfrecord", tmp_path / "b.tfrecord"
    tf_oracle.tf_write_records(a, payloads)
    tf_oracle.tf_write_records(b, payloads)
    data = _flip(_flip(a.read_bytes(), offsets[2] + 3), offsets[6] + 20)
    a.write_bytes(data)
    b.write_bytes(b.read_bytes()[: offsets[9] + 30])
    report = scan([str(a), str(b)], select=["R"])  # the framing rules: payloads are toys
    located = sorted((f.rule, f.location.file, f.location.record, f.location.offset)
                     for f in report.findings)
    assert located == [
        ("R003", str(a), 2, offsets[2]),
        ("R004", str(a), 6, offsets[6] + 12),
        ("R005", str(b), 9, offsets[9]),
    ]
    files = {f["file"]: f for f in report.stats["files"]}
    assert files[str(a)]["records"] == 8 and files[str(b)]["records"] == 9
    assert files[str(a)]["tensorflow_reads"] == 2 and files[str(b)]["tensorflow_reads"] == 9
    first = report.by_rule("R003")[0]
    assert first.evidence["records_recovered_after"] == 6
    assert first.evidence["tensorflow"] == f"DataLossError: corrupted record at {offsets[2]}"


def test_a_damaged_header_that_starts_like_gzip(tf_oracle, tmp_path):
    """A length whose low bytes are 1f 8b (gzip's magic) in a header that fails its CRC."""
    payloads = [bytes(0x8B1F), *_payloads(tf_oracle, 2)]
    path = tmp_path / "magic.tfrecord"
    tf_oracle.tf_write_records(path, payloads)
    path.write_bytes(_flip(path.read_bytes(), 9))  # the length CRC
    tf_records, tf_error = tf_oracle.tf_read_records(path)
    assert tf_records == [] and "corrupted record at 0" in tf_error
    report = scan(str(path), select=["R"])
    assert list(report.rule_counts) == ["R003"]
    assert report.stats["files"][0]["records"] == 2
