"""Finding the record files: globs as tf.io.gfile.glob, directories, shards, URLs, bad inputs."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from tfod_doctor.api import scan
from tfod_doctor.records import ProblemKind, discover, encode_example, frame
from tfod_doctor.records.sources import local_glob

RECORD = frame(encode_example({"image/height": 1}))


def _touch(root, *names, data=RECORD):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _kinds(found) -> list[ProblemKind]:
    return [p.kind for p in found.problems]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A folder of record files and other files; the working directory is its parent."""
    _touch(tmp_path / "d", "a.tfrecord", "b1.tfrecord", "b2.tfrecord", "b-1.rec", "b]1",
           "[x].tfrecord", ".hidden", "*star", "sub/c.tfrecord", "sub/deep/d.record")
    monkeypatch.chdir(tmp_path)
    return tmp_path


PATTERNS = [
    "d/*", "d/b?.tfrecord", "d/b[12].tfrecord", "d/b[!1].tfrecord", "d/b[^1].tfrecord",
    "d/*/*.tfrecord", "d/**", r"d/\[x\].tfrecord", "d/[[]x].tfrecord", "d/b[]]1", "d/b[a-c-]1*",
    "d/b[", r"d/\*star", "d/*/*/*.record", "d/s*/deep", "d/*.nothing", "*/sub/*",
]


@pytest.mark.tf
@pytest.mark.parametrize("pattern", PATTERNS)
def test_globs_match_what_tensorflow_matches(tf_oracle, tree, pattern):
    expected = sorted(p.removeprefix("./") for p in tf_oracle.tf.io.gfile.glob(pattern))
    assert local_glob(pattern) == expected
    assert local_glob(str(tree / pattern)) == sorted(
        p.removeprefix("./") for p in tf_oracle.tf.io.gfile.glob(str(tree / pattern))
    )


def test_a_star_matches_hidden_files_as_tensorflow_does(tree):
    """macOS copies leave `._train.tfrecord` next to the data: TensorFlow reads it too."""
    _touch(tree / "d", "._a.tfrecord", data=b"\x00\x05\x16\x07AppleDouble")
    found = discover(["d/*.tfrecord"])
    names = [s.name for s in found.sources]
    assert "d/._a.tfrecord" in names
    report = scan(["d/*.tfrecord"], select=["R"])
    assert [f.location.file for f in report.by_rule("R001")] == ["d/._a.tfrecord"]


def test_a_glob_that_matches_a_directory_reports_it(tree):
    found = discover(["d/*"])
    assert "d/sub" not in [s.name for s in found.sources]
    (problem,) = found.problems
    assert problem.kind is ProblemKind.UNREADABLE and "d/sub" in problem.message


def test_a_glob_that_matches_nothing(tree):
    found = discover(["d/train-?????-of-00010", "d/a.tfrecord"])
    assert [s.name for s in found.sources] == ["d/a.tfrecord"]
    assert _kinds(found) == [ProblemKind.GLOB_MATCHES_NOTHING]


def test_a_directory_stands_for_the_records_below_it(tree):
    _touch(tree / "d", "notes.txt", data=b"hello")
    _touch(tree / "d", "unnamed", data=RECORD)  # a TFRecord by content, not by name
    found = discover(["d"])
    names = sorted(s.name for s in found.sources)
    assert names == sorted([
        "d/a.tfrecord", "d/b1.tfrecord", "d/b2.tfrecord", "d/b-1.rec", "d/[x].tfrecord",
        "d/sub/c.tfrecord", "d/sub/deep/d.record", "d/unnamed", "d/b]1", "d/*star",
    ])
    assert found.problems == []
    assert all(s.found_by == "directory" for s in found.sources)


def test_a_directory_without_records(tmp_path):
    _touch(tmp_path / "images", "a.jpg", data=b"\xff\xd8\xff\xe0 not really")
    found = discover([str(tmp_path / "images")])
    assert found.sources == [] and _kinds(found) == [ProblemKind.NO_RECORD_FILES]


def test_the_same_file_named_twice_is_read_once(tree):
    found = discover(["d/a.tfrecord", "./d/a.tfrecord", str(tree / "d" / "a.tfrecord"),
                      "d/a.tfrec*"])
    assert [s.name for s in found.sources] == ["d/a.tfrecord"]


def test_paths_relative_to_a_folder(tree, tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    found = discover(["d/a.tfrecord", "d/b?.tfrecord"], relative_to=tree)
    assert [s.path for s in found.sources] == [
        str(tree / "d/a.tfrecord"), str(tree / "d/b1.tfrecord"), str(tree / "d/b2.tfrecord")]


# -- shard sets -------------------------------------------------------------------------------


def _shards(root, present, count=4):
    _touch(root, *(f"train-{i:05d}-of-{count:05d}.tfrecord" for i in present))


def test_a_shard_set_with_a_missing_shard(tmp_path):
    _shards(tmp_path, [0, 1, 3])
    found = discover([str(tmp_path / "train-*-of-00004.tfrecord")])
    (problem,) = found.problems
    assert problem.kind is ProblemKind.MISSING_SHARDS
    assert problem.evidence["missing"] == [str(tmp_path / "train-00002-of-00004.tfrecord")]
    assert "1 of 4 shards are missing" in problem.message
    report = scan([str(tmp_path)], select=["R"])
    (finding,) = report.by_rule("R024")
    assert finding.severity.label == "data-loss"


def test_a_complete_shard_set(tmp_path):
    _shards(tmp_path, range(4))
    assert discover([str(tmp_path)]).problems == []


def test_one_shard_named_on_its_own_is_not_a_missing_set(tmp_path):
    _shards(tmp_path, [0, 1, 3])
    alone = discover([str(tmp_path / "train-00001-of-00004.tfrecord")])
    assert alone.problems == []
    two = discover([str(tmp_path / f"train-0000{i}-of-00004.tfrecord") for i in (0, 1)])
    assert _kinds(two) == [ProblemKind.MISSING_SHARDS]


# -- bad inputs -------------------------------------------------------------------------------


def test_a_path_that_does_not_exist(tmp_path):
    found = discover([str(tmp_path / "nope.tfrecord")])
    assert found.sources == [] and _kinds(found) == [ProblemKind.NOT_FOUND]


def test_a_socket_is_reported_not_opened(tmp_path):
    path = tmp_path / "train.tfrecord"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
    found = discover([str(path)])
    assert found.sources == [] and _kinds(found) == [ProblemKind.UNREADABLE]
    assert "socket" in found.problems[0].message


def test_a_fifo_is_reported_without_blocking(tmp_path):
    path = tmp_path / "train.tfrecord"
    os.mkfifo(path)
    result = {}
    worker = threading.Thread(target=lambda: result.update(found=discover([str(path)])),
                              daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "discover() blocked on a FIFO"
    assert _kinds(result["found"]) == [ProblemKind.UNREADABLE]


def test_a_broken_symlink(tmp_path):
    (tmp_path / "train.tfrecord").symlink_to(tmp_path / "gone.tfrecord")
    found = discover([str(tmp_path / "train.tfrecord")])
    assert _kinds(found) == [ProblemKind.UNREADABLE]
    assert "broken symbolic link" in found.problems[0].message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions "
                    "(test_unreadable.py runs the commands in a child that obeys them)")
def test_a_file_without_read_permission(tmp_path):
    path = tmp_path / "train.tfrecord"
    path.write_bytes(RECORD)
    path.chmod(0)
    found = discover([str(path)])
    assert _kinds(found) == [ProblemKind.UNREADABLE]


def test_bad_inputs_do_not_stop_the_good_ones(tmp_path):
    _touch(tmp_path, "good.tfrecord")
    report = scan([str(tmp_path / "missing.tfrecord"), str(tmp_path / "good.tfrecord"),
                   str(tmp_path / "x-*.tfrecord")], select=["R"])
    assert report.stats["totals"]["records"] == 1
    assert sorted(report.rule_counts) == ["R020", "R021"]


# -- fsspec URLs ------------------------------------------------------------------------------


@pytest.fixture
def memory_fs():
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    root = "/tfod-doctor-test"
    for name, data in {"a.tfrecord": RECORD * 2, "b.tfrecord": RECORD,
                       "sub/c.tfrecord": RECORD, "notes.txt": b"hi"}.items():
        fs.pipe(f"{root}/{name}", data)
    yield f"memory://{root}"
    fs.rm(root, recursive=True)


def test_memory_url_file_glob_and_directory(memory_fs):
    one = discover([f"{memory_fs}/a.tfrecord"])
    assert [(s.name, s.size, s.protocol) for s in one.sources] == [
        (f"{memory_fs}/a.tfrecord", 2 * len(RECORD), "memory")]
    glob = discover([f"{memory_fs}/?.tfrecord"])
    assert [s.name.rsplit("/", 1)[-1] for s in glob.sources] == ["a.tfrecord", "b.tfrecord"]
    folder = discover([memory_fs])
    assert sorted(s.name.rsplit("/", 1)[-1] for s in folder.sources) == [
        "a.tfrecord", "b.tfrecord", "c.tfrecord"]
    report = scan([f"{memory_fs}/*.tfrecord"], select=["R"])
    assert report.stats["totals"]["records"] == 3 and report.rule_counts == {}


def test_memory_url_problems(memory_fs):
    found = discover([f"{memory_fs}/nope.tfrecord", f"{memory_fs}/x*.tfrecord"])
    assert _kinds(found) == [ProblemKind.NOT_FOUND, ProblemKind.GLOB_MATCHES_NOTHING]


def test_an_unknown_protocol(tmp_path):
    found = discover(["nosuchfs://bucket/train.tfrecord"])
    assert _kinds(found) == [ProblemKind.UNREADABLE]


def test_a_protocol_whose_backend_is_not_installed():
    pytest.importorskip("fsspec")
    try:
        import gcsfs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("gcsfs is installed")
    found = discover(["gs://bucket/train.tfrecord"])
    assert _kinds(found) == [ProblemKind.UNREADABLE]
    assert "tfod-doctor[gcs]" in found.problems[0].message
