"""Parallel checking: files cut into pieces, worker processes, and the same report whatever the
split — record indices included, damage at piece boundaries included."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfod_doctor import api
from tfod_doctor.cli import main
from tfod_doctor.engine import execute, scan_plan
from tfod_doctor.engine import local as local_engine
from tfod_doctor.engine import split as split_engine
from tfod_doctor.engine.chain import FileChain
from tfod_doctor.engine.partial import Piece
from tfod_doctor.engine.split import cut, split_items, tasks
from tfod_doctor.engine.work import WorkItem
from tfod_doctor.records import (
    Bytes,
    Damage,
    DamageKind,
    Ints,
    Record,
    RecordReader,
    Source,
    encode_example,
    frame,
)
from tfod_doctor.testing import make_dataset

DAMAGE = ["not_an_example", "truncated_payload"]


def _source(path: Path) -> Source:
    return Source(name=str(path), path=str(path), size=path.stat().st_size)


def _report_json(inputs: list[str], **options) -> str:
    report = execute(scan_plan(inputs), api.context(), **options)
    return json.dumps(report.to_dict(), sort_keys=True)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``tfod-doctor ARGS`` as the console script does: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return exited.value.code, out, err


# -- cutting files: pieces read exactly like the whole file ------------------------------------


@st.composite
def damaged_files(draw) -> bytes:
    """TFRecord bytes, some payloads holding whole frames (traps for a resync), then damaged."""
    plain = st.binary(max_size=120)
    nested = st.builds(lambda a, b, c: a + frame(b) + c, plain, plain, plain)
    payloads = draw(st.lists(st.one_of(plain, nested), max_size=14))
    data = bytearray(b"".join(frame(p) for p in payloads))
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        pos = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 20))]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=20))
        else:
            del data[pos:]
    return bytes(data)


def _resynced_after_bad_data(items) -> bool:
    """Whether reading scanned for the next record after a record whose data failed its CRC
    (the one place where following headers alone can see one item more than reading does)."""
    return any(isinstance(d, Damage) and d.kind is DamageKind.CORRUPTED_PAYLOAD
               and d.end != d.offset + d.length + 16 for d in items)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=damaged_files(), piece=st.integers(1, 600))
def test_pieces_read_exactly_like_the_whole_file(data, piece):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.tfrecord"
        path.write_bytes(data)
        source = _source(path)
        with source.open() as handle:
            whole = list(RecordReader(handle, source.size, source.name))
        items, follows, joined = [], (0, 0), True
        with source.open() as handle:
            for item in cut(WorkItem(source), piece):
                joined &= (item.start, item.first_index) == follows
                reader = RecordReader(handle, source.size, source.name, item.start, item.end,
                                      item.first_index, resync=False)
                items.extend(reader)
                follows = (reader.stop, reader.next_index)
    if joined:
        assert items == whole
    else:  # the engine reads such a file again whole
        assert _resynced_after_bad_data(whole)


def test_a_cut_lands_on_every_damage_when_every_item_is_a_piece(tmp_path):
    payloads = [bytes([i]) * (50 + i) for i in range(8)]
    data = bytearray(b"".join(frame(p) for p in payloads))
    data[200] ^= 0xFF  # damage inside the file
    path = tmp_path / "train.tfrecord"
    path.write_bytes(bytes(data[:-30]))  # and a truncated last record
    source = _source(path)
    with source.open() as handle:
        damages = [d for d in RecordReader(handle, source.size, source.name)
                   if isinstance(d, Damage)]
    starts = {item.start for item in cut(WorkItem(source), 1)}
    assert len(damages) >= 2
    assert {d.offset for d in damages} <= starts


def test_files_that_are_no_plain_tfrecord_are_never_cut(tmp_path):
    records = b"".join(frame(bytes(200)) for _ in range(50))
    gz = tmp_path / "train.tfrecord.gz"
    gz.write_bytes(gzip.compress(records))
    jpeg_named = tmp_path / "images.tfrecord"
    jpeg_named.write_bytes(b"\xff\xd8\xff\xe0" + bytes(5000))
    bad_start = tmp_path / "bad-start.tfrecord"
    bad_start.write_bytes(b"\x01" * 12 + records)
    remote = Source(name="memory://x/train.tfrecord", path="memory://x/train.tfrecord",
                    size=len(records), protocol="memory")
    items = [WorkItem(_source(p)) for p in (gz, jpeg_named, bad_start)] + [WorkItem(remote)]
    assert list(split_items(items, 1)) == items


def test_a_file_of_half_a_piece_or_more_is_a_task_of_its_own(tmp_path):
    """Files already about a piece in size are neither cut nor batched; small ones are batched."""
    sizes = {"big": 9_000, "half": 5_000, "small1": 1_000, "small2": 2_000, "small3": 3_000}
    items = []
    for name, size in sizes.items():
        path = tmp_path / f"{name}.tfrecord"
        path.write_bytes(b"\0" * size)
        items.append(WorkItem(_source(path)))
    grouped = [[item.source.name.rsplit("/", 1)[-1] for item in task]
               for task in tasks(items, 10_000)]
    assert grouped == [["big.tfrecord"], ["half.tfrecord"],
                       ["small1.tfrecord", "small2.tfrecord", "small3.tfrecord"]]


# -- the engine: same report with any number of workers and any piece size ----------------------


def _damage_record_at(path: Path, index: int, at: int = 40) -> int:
    """Flip a byte ``at`` bytes into record ``index`` of a file; returns the record's offset."""
    data = bytearray(path.read_bytes())
    with path.open("rb") as handle:
        records = [r for r in RecordReader(handle, len(data), str(path)) if isinstance(r, Record)]
    offset = records[index].offset
    data[offset + at] ^= 0x5A
    path.write_bytes(bytes(data))
    return offset


@pytest.fixture(scope="module")
def damaged_dataset(tmp_path_factory):
    """Records written by TensorFlow; a record that is no Example, a truncated last record, a
    damaged payload (record 5) in the first train file and a damaged length field (record 3) in
    the second."""
    dataset = make_dataset(tmp_path_factory.mktemp("ds"), DAMAGE, n_train=40, train_shards=2,
                           max_boxes_per_image=12, writer="tf")
    _damage_record_at(dataset.train_files[0], 5, 40)
    _damage_record_at(dataset.train_files[1], 3, 2)
    return dataset


@pytest.mark.parametrize("split_bytes", [1, 333, 2_000, 1 << 30])
def test_same_report_whatever_the_split(damaged_dataset, split_bytes):
    inputs = damaged_dataset.scan_inputs
    alone = _report_json(inputs, workers=1)
    assert _report_json(inputs, workers=2, split_bytes=split_bytes) == alone
    rules = json.loads(alone)["rule_counts"]
    assert {"R003", "R004", "R005", "R008"} <= set(rules)


def test_record_indices_are_true_indices_in_every_piece(damaged_dataset, tf_oracle):
    """A finding in a late piece names the record as `Dataset.skip(n)` counts — TensorFlow
    itself fails to parse the record at that index."""
    report = execute(scan_plan(damaged_dataset.scan_inputs), api.context(), workers=2,
                     split_bytes=1)
    (finding,) = report.by_rule("R008")
    (planted,) = damaged_dataset.planted_for("not_an_example")
    assert (finding.location.file, finding.location.record) == (planted.file, planted.record)
    import tensorflow as tf

    dataset = tf.data.TFRecordDataset(planted.file).skip(planted.record).take(1)
    (payload,) = [r.numpy() for r in dataset]
    # TensorFlow's message quotes the raw bytes; in eager mode that can fail to decode first.
    with pytest.raises((tf.errors.InvalidArgumentError, UnicodeDecodeError)):
        tf_oracle.tf_parse(payload)
    (good,) = [r.numpy() for r in tf.data.TFRecordDataset(planted.file).skip(0).take(1)]
    assert tf_oracle.tf_parse(good)["image/height"] > 0


def test_recovered_records_count_the_whole_file(damaged_dataset):
    """How many records follow a damage spans every piece after it."""
    report = execute(scan_plan(damaged_dataset.scan_inputs), api.context(), workers=2,
                     split_bytes=1)
    first = str(damaged_dataset.train_files[0])
    (finding,) = report.by_rule("R004")
    (records,) = [f["records"] for f in report.stats["files"] if f["file"] == first]
    assert (finding.location.file, finding.location.record) == (first, 5)
    # 20 records: all but record 5 and the truncated last one are intact; 13 come after it.
    assert records == 18
    assert finding.evidence["records_recovered_after"] == 13


def test_pieces_that_do_not_join_are_read_again_whole(damaged_dataset, monkeypatch):
    inputs = damaged_dataset.scan_inputs
    alone = _report_json(inputs, workers=1)
    real_cut = split_engine.cut

    def wrong_indices(item, split_bytes):
        for piece in real_cut(item, split_bytes):
            bump = 1 if piece.start else 0
            yield WorkItem(piece.source, piece.role, piece.start, piece.end,
                           piece.first_index + bump)

    monkeypatch.setattr(split_engine, "cut", wrong_indices)
    assert _report_json(inputs, workers=2, split_bytes=500) == alone


def _chain(pieces) -> FileChain:
    source = Source("f", "f", 100)
    chain = FileChain()
    for start, end, first_index, stop, next_index in pieces:
        item = WorkItem(source, None, start, end, first_index)
        chain.add(Piece(item, None, stop, next_index), [])
    return chain


def test_two_bad_records_in_a_row_make_the_file_read_again_whole(tmp_path, monkeypatch):
    """Headers alone cannot tell that the reader will scan past two damaged records in a row:
    the pieces do not join, the file is read again whole, and the report is the same."""
    data = bytearray(b"".join(frame(bytes([i]) * 300) for i in range(12)))
    for index in (4, 5):
        data[index * 316 + 100] ^= 0xFF  # inside the data of records 4 and 5
    path = tmp_path / "train.tfrecord"
    path.write_bytes(bytes(data))
    alone = _report_json([str(path)], workers=1)
    read_again = []
    real = local_engine.run_sequential

    def counting(items, ctx, progress=None):
        read_again.extend(items)
        return real(items, ctx, progress)

    monkeypatch.setattr(local_engine, "run_sequential", counting)
    assert _report_json([str(path)], workers=2, split_bytes=1) == alone
    assert [item.source.path for item in read_again] == [str(path)]
    (damage,) = [f for f in json.loads(alone)["findings"] if f["rule"] == "R004"]
    assert damage["evidence"]["lost_range"] == [4 * 316, 6 * 316]  # one range over both


def test_file_chain_joins_only_pieces_that_meet():
    meeting = [(80, None, 5, 100, 7), (0, 40, 0, 40, 3), (40, 80, 3, 80, 5)]  # any order
    assert _chain(meeting).complete
    assert not _chain([(0, 40, 0, 45, 3), (40, None, 3, 100, 5)]).complete  # stopped elsewhere
    assert not _chain([(0, 40, 0, 40, 3), (40, None, 4, 100, 5)]).complete  # index differs
    assert not _chain([(0, 40, 0, 40, 3)]).complete  # the end of the file is missing
    assert not _chain([(40, None, 3, 100, 5)]).complete  # the start is missing
    assert not FileChain().complete


def test_progress_adds_up_to_every_byte(damaged_dataset):
    plan = scan_plan(damaged_dataset.scan_inputs)
    for options in ({"workers": 1}, {"workers": 2, "split_bytes": 700}):
        seen: list[int] = []
        execute(plan, api.context(), seen.append, **options)
        assert sum(seen) == plan.total_bytes
        assert all(n >= 0 for n in seen)


def test_small_data_is_checked_in_process(damaged_dataset, monkeypatch):
    def no_pool(*args):
        raise AssertionError("a pool for a few kilobytes")

    monkeypatch.setattr(local_engine, "_run_pool", no_pool)
    execute(scan_plan(damaged_dataset.scan_inputs), api.context(), workers=4)


def test_workers_option_on_the_command_line(damaged_dataset, capsys):
    outputs = []
    for workers in ("1", "2"):
        code, out, _ = run_cli(capsys, "scan", *damaged_dataset.scan_inputs, "--workers", workers,
                               "--format", "json")
        assert code == 1
        outputs.append(json.loads(out))
    assert outputs[0] == outputs[1]
    code, _, err = run_cli(capsys, "scan", *damaged_dataset.scan_inputs, "--workers", "0")
    assert code == 2
    assert "--workers" in err


def test_records_read_in_pieces_are_the_records_tensorflow_reads(tmp_path, tf_oracle):
    payloads = [bytes([i % 251]) * (i * 37 % 500) for i in range(120)]
    path = tmp_path / "train.tfrecord"
    tf_oracle.tf_write_records(path, payloads)
    source = _source(path)
    got = []
    with source.open() as handle:
        for item in cut(WorkItem(source), 997):
            reader = RecordReader(handle, source.size, source.name, item.start, item.end,
                                  item.first_index, resync=False)
            got.extend((r.index, r.payload) for r in reader if isinstance(r, Record))
    tf_records, error = tf_oracle.tf_read_records(path)
    assert error is None
    assert got == list(enumerate(tf_records))


def test_memory_does_not_grow_with_the_file(tmp_path):
    """Records stream through: checking a 64 MB file holds a few records at a time, not it."""
    import tracemalloc

    payload = encode_example({"image/encoded": Bytes([bytes(range(256)) * 8192]),  # 2 MB
                              "image/height": Ints([1]), "image/width": Ints([1])})
    path = tmp_path / "big.tfrecord"
    with path.open("wb") as handle:
        for _ in range(32):
            handle.write(frame(payload))
    assert path.stat().st_size > 64 << 20
    tracemalloc.start()
    try:
        report = execute(scan_plan([str(path)]), api.context(), workers=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.stats["totals"]["records"] == 32
    assert peak < 16 << 20, f"{peak / 1e6:.0f} MB held at once"


def test_check_of_a_pipeline_config_in_pieces(damaged_dataset):
    """`check` reads both splits with their own reader settings; the same report in pieces."""
    plan, ctx = api.check_plan(damaged_dataset.config_path)
    alone = json.dumps(execute(plan, ctx, workers=1).to_dict(), sort_keys=True)
    assert json.dumps(execute(plan, ctx, workers=2, split_bytes=1).to_dict(),
                      sort_keys=True) == alone
