"""Property tests: damaged files never crash the reader, and nothing unverified gets through.

Every record the reader yields is checked here with an independent, pure-Python CRC32C against
the file's own bytes; every record of the original file that the damage did not touch must come
back, at its offset, with its payload.
"""

from __future__ import annotations

import gzip
import io
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfod_doctor.records import Damage, Record, RecordReader, frame
from tfod_doctor.records.files import _decompress
from tfod_doctor.records.framing import _verified_headers

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def _masked_crc(data: bytes) -> int:
    """CRC32C and TFRecord's mask, written out independently of the package."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _verified(data: bytes, record: Record) -> bool:
    """Whether the file's bytes at the record's offset are a record with both CRCs right."""
    start = record.offset
    length, length_crc = struct.unpack_from("<QI", data, start)
    if _masked_crc(data[start : start + 8]) != length_crc or length != len(record.payload):
        return False
    payload = data[start + 12 : start + 12 + length]
    (payload_crc,) = struct.unpack_from("<I", data, start + 12 + length)
    return payload == record.payload and _masked_crc(payload) == payload_crc


def _read(data: bytes, chunk: int = 8 << 20) -> list[Record | Damage]:
    return list(RecordReader(io.BytesIO(data), len(data), "f", chunk_size=chunk))


def _layout(payloads: list[bytes]) -> list[tuple[int, int]]:
    spans, offset = [], 0
    for payload in payloads:
        spans.append((offset, offset + len(payload) + 16))
        offset += len(payload) + 16
    return spans


def _check_invariants(data: bytes, items: list[Record | Damage]) -> None:
    """Items tile the file from 0 to its end; records verify; indices count up by one."""
    position = 0
    for index, item in enumerate(items):
        assert item.offset == position
        assert item.end > item.offset and item.end <= len(data)
        if isinstance(item, Record):
            assert _verified(data, item)
            assert item.index == index
        else:
            assert item.record == index and item.tf_offset in (item.offset, item.offset + 12)
        position = item.end
    assert position == len(data)


payload_lists = st.lists(st.binary(max_size=64), min_size=1, max_size=8)


@SETTINGS
@given(payloads=payload_lists, data=st.data())
def test_random_truncation(payloads, data):
    original = b"".join(frame(p) for p in payloads)
    cut = data.draw(st.integers(0, len(original)))
    damaged = original[:cut]
    items = _read(damaged)
    _check_invariants(damaged, items)
    kept = [(start, end) for start, end in _layout(payloads) if end <= cut]
    records = [i for i in items if isinstance(i, Record)]
    assert [(r.offset, r.end) for r in records] == kept
    assert [r.payload for r in records] == payloads[: len(kept)]
    assert sum(isinstance(i, Damage) for i in items) == (cut != (kept[-1][1] if kept else 0))


@SETTINGS
@given(payloads=payload_lists, data=st.data())
def test_random_byte_flips(payloads, data):
    pristine = b"".join(frame(p) for p in payloads)
    changed = bytearray(pristine)
    flips = data.draw(st.lists(
        st.tuples(st.integers(0, len(pristine) - 1), st.integers(1, 255)), min_size=1,
        max_size=4,
    ))
    for at, mask in flips:
        changed[at] ^= mask
    damaged = bytes(changed)
    items = _read(damaged)
    _check_invariants(damaged, items)
    touched = {at for at in range(len(pristine)) if pristine[at] != damaged[at]}
    spans = _layout(payloads)
    intact = {start: payloads[i] for i, (start, end) in enumerate(spans)
              if not touched & set(range(start, end))}
    records = {r.offset: r.payload for r in items if isinstance(r, Record)}
    assert records == intact  # every untouched record, nothing else
    assert _read(damaged, chunk=5) == items  # tiny read chunks: the same result


@SETTINGS
@given(noise=st.binary(max_size=300), chunk=st.integers(1, 64))
def test_arbitrary_bytes_never_crash(noise, chunk):
    items = _read(noise, chunk)
    _check_invariants(noise, items)


@settings(max_examples=100, deadline=None)
@given(payloads=payload_lists, data=st.data())
def test_damaged_gzip_never_crashes(payloads, data):
    compressed = bytearray(gzip.compress(b"".join(frame(p) for p in payloads), mtime=0))
    cut = data.draw(st.integers(1, len(compressed)))
    compressed = compressed[:cut]
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(compressed) - 1))
        compressed[at] ^= data.draw(st.integers(1, 255))
    spool, size, _ = _decompress(io.BytesIO(bytes(compressed)), 16 + 15)
    with spool:
        inflated = spool.read()
    assert len(inflated) == size
    _check_invariants(inflated, _read(inflated))


@SETTINGS
@given(noise=st.binary(min_size=12, max_size=400), headers=st.lists(
    st.tuples(st.integers(0, 388), st.integers(0, 2**32 - 1)), max_size=5))
def test_vectorised_header_search_finds_exactly_the_verified_headers(noise, headers):
    """The numpy CRC of every candidate agrees with the scalar check, position by position."""
    data = bytearray(noise)
    for at, length in headers:
        if at + 12 <= len(data):
            field = struct.pack("<Q", length)
            data[at : at + 12] = field + struct.pack("<I", _masked_crc(field))
    span = len(data) - 11
    found = _verified_headers(np.frombuffer(bytes(data), dtype=np.uint8), span).tolist()
    expected = [
        at for at in range(span)
        if data[at + 4 : at + 8] == bytes(4)
        and struct.unpack_from("<I", data, at + 8)[0] == _masked_crc(bytes(data[at : at + 8]))
    ]
    assert found == expected


def test_a_file_that_shrinks_while_it_is_read():
    data = b"".join(frame(bytes([i]) * 50) for i in range(4))
    reader = RecordReader(io.BytesIO(data[:-30]), len(data), "f", chunk_size=16)
    with pytest.raises(OSError, match="changed during the run"):
        list(reader)
