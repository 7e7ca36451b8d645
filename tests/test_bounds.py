"""No input makes the tool hang or take memory out of proportion to its real work.

Every test runs the command line in a child process with a time limit (a hang fails the test)
and an address-space limit (a set of a billion numbers fails it), and checks the exit code and
the message a user sees.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tfod_doctor import api
from tfod_doctor.engine import execute, scan_plan
from tfod_doctor.engine import local as local_engine
from tfod_doctor.records import encode_example, write_records
from tfod_doctor.testing.images import make_image
from tfod_doctor.testing.samples import Box, Sample

SRC = Path(__file__).resolve().parent.parent / "src"
#: Far more than any command here needs, far less than a billion-element set.
MEMORY_LIMIT = 3 << 30


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def cli(*args: str, timeout: float = 60, stdin: bytes | None = None, cwd: Path | None = None,
        **env: str) -> subprocess.CompletedProcess:
    """``tfod-doctor ARGS`` in a child process; a hang past ``timeout`` seconds fails."""
    environ = {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1", **env}
    try:
        run = subprocess.run([sys.executable, "-m", "tfod_doctor", *args], input=stdin,
                             capture_output=True, timeout=timeout, env=environ, cwd=cwd,
                             preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"tfod-doctor {' '.join(args)[:200]} did not end within {timeout} s")
    out, err = run.stdout.decode(errors="replace"), run.stderr.decode(errors="replace")
    assert "Traceback" not in err and "internal error" not in err, err[-3000:]
    return subprocess.CompletedProcess(run.args, run.returncode, out, err)


def _records(path: Path, boxes: list[list[Box]], size: int = 16) -> Path:
    samples = [Sample(make_image(size, size, seed=i, fmt="png"), size, size, "png", f"{i}.png",
                      f"{i}.png", record_boxes) for i, record_boxes in enumerate(boxes)]
    write_records(path, [encode_example(sample.features()) for sample in samples])
    return path


@pytest.fixture
def records(tmp_path) -> Path:
    return _records(tmp_path / "train.tfrecord", [[Box(0.1, 0.1, 0.9, 0.8, 1, "cat")]] * 3)


@pytest.fixture
def fifo(tmp_path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


# -- text inputs: regular files only, with a size cap ---------------------------------------


NOT_REGULAR = {"fifo": "a named pipe (FIFO), not a regular file",
               "zero": "a character device, not a regular file"}


def _special(kind: str, fifo: Path) -> str:
    return str(fifo) if kind == "fifo" else "/dev/zero"


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_config_that_is_a_pipe_or_device_is_refused(kind, fifo):
    run = cli("check", _special(kind, fifo))
    assert run.returncode == 2
    assert NOT_REGULAR[kind] in run.stderr


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_label_map_that_is_a_pipe_or_device_is_refused(kind, fifo, records):
    run = cli("scan", str(records), "--label-map", _special(kind, fifo))
    assert run.returncode == 2
    assert f"cannot read the label map {_special(kind, fifo)}: it is {NOT_REGULAR[kind]}" \
        in run.stderr


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_coco_annotations_that_are_a_pipe_or_device_are_refused(kind, fifo, tmp_path):
    run = cli("convert", "coco", _special(kind, fifo), "--out", str(tmp_path / "out"))
    assert run.returncode == 2
    assert NOT_REGULAR[kind] in run.stderr


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_export_manifest_that_is_a_pipe_or_device_is_refused(kind, fifo, records, tmp_path):
    run = cli("export", "coco", str(records), "--out", str(tmp_path / "coco"),
              "--manifest", _special(kind, fifo))
    assert run.returncode == 2
    assert NOT_REGULAR[kind] in run.stderr


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_explain_file_that_is_a_pipe_or_device_is_refused(kind, fifo):
    run = cli("explain", _special(kind, fifo))
    assert run.returncode == 2
    assert NOT_REGULAR[kind] in run.stderr


def test_config_naming_a_device_reports_it_and_goes_on(tmp_path):
    config = tmp_path / "pipeline.config"
    config.write_text('model { ssd { num_classes: 1 } }\ntrain_input_reader { label_map_path: '
                      '"/dev/zero" tf_record_input_reader { input_path: "/dev/zero" } }\n')
    run = cli("check", str(config), "--format", "json")
    assert run.returncode in (1, 2)
    messages = {f["rule"]: f["message"] for f in json.loads(run.stdout)["findings"]}
    assert messages["C016"] == ("train_input_reader.label_map_path '/dev/zero' cannot be read: "
                                "it is a character device, not a regular file")
    assert messages["R023"] == ("/dev/zero cannot be read as records: it is a character "
                                "device, not a regular file")


def test_fix_on_a_pipe_is_refused(fifo, tmp_path):
    run = cli("fix", str(fifo), "--out", str(tmp_path / "out"))
    assert run.returncode == 2
    assert "a named pipe (FIFO), not a regular file" in run.stderr


def test_image_that_is_a_pipe_is_skipped_with_the_reason(fifo, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.png").write_bytes(make_image(20, 10, fmt="png"))
    os.symlink(fifo, images / "b.png")
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 10},
                      {"id": 2, "file_name": "b.png", "width": 20, "height": 10}],
           "annotations": [{"id": i, "image_id": i, "category_id": 1, "bbox": [1, 1, 5, 5],
                            "area": 25, "iscrowd": 0} for i in (1, 2)],
           "categories": [{"id": 1, "name": "cat"}]}
    (tmp_path / "train.json").write_text(json.dumps(doc))
    run = cli("convert", "coco", str(tmp_path / "train.json"), "--images", str(images),
              "--out", str(tmp_path / "out"), "--verbose")
    assert run.returncode == 1  # one image skipped, the other converted
    assert "a named pipe (FIFO), not a regular file" in run.stdout + run.stderr


def test_label_map_over_the_cap_names_the_cap(tmp_path, records):
    big = tmp_path / "label_map.pbtxt"
    with big.open("wb") as handle:  # sparse: 50 MB that take no disk
        handle.truncate(50 << 20)
    run = cli("scan", str(records), "--label-map", str(big))
    assert run.returncode == 2
    assert "it is 50.0 MB, more than the 32 MB a text input may have" in run.stderr
    assert "TFOD_DOCTOR_MAX_INPUT_MB" in run.stderr


def test_config_over_a_lowered_cap_names_that_cap(tmp_path):
    config = tmp_path / "pipeline.config"
    config.write_text("# " + "x" * (2 << 20) + "\n")
    run = cli("check", str(config), TFOD_DOCTOR_MAX_INPUT_MB="1")
    assert run.returncode == 2
    assert "more than the 1 MB a text input may have" in run.stderr


def test_endless_standard_input_to_explain_stops_at_the_cap():
    run = cli("explain", "-", stdin=b"a" * (3 << 20), TFOD_DOCTOR_MAX_INPUT_MB="2")
    assert run.returncode == 2
    assert "cannot read -: it holds more than the 2 MB a text input may have" in run.stderr


def test_one_long_line_to_explain_takes_linear_time():
    line = b"DataLossError: corrupted record at 12 " + b"x/" * (1 << 20)
    run = cli("explain", "-", stdin=line, timeout=90)
    assert run.returncode == 0
    assert "DataLossError" in run.stdout or "corrupt" in run.stdout.lower()


def test_config_with_a_10_mb_quoted_string_is_checked(tmp_path):
    config = tmp_path / "pipeline.config"
    config.write_text('model { ssd { num_classes: 1 } }\n'
                      f'train_input_reader {{ label_map_path: "{"a" * (10 << 20)}" }}\n')
    run = cli("check", str(config), "--format", "json", timeout=180)
    assert run.returncode in (1, 2)
    assert "label_map_path" in run.stdout + run.stderr


# -- parsers that refuse expansion bombs ---------------------------------------------------


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<annotation><filename>a.png</filename><size><width>20</width><height>10</height></size>
<object><name>&lol9;</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax>
</bndbox></object></annotation>
"""


def test_voc_entity_expansion_bomb_is_refused(tmp_path):
    folder = tmp_path / "voc"
    folder.mkdir()
    (folder / "a.xml").write_text(BILLION_LAUGHS)
    (folder / "a.png").write_bytes(make_image(20, 10, fmt="png"))
    run = cli("convert", "voc", str(folder), "--out", str(tmp_path / "out"), "--verbose")
    assert run.returncode in (1, 2)
    assert "document type declaration (<!DOCTYPE ...>) is not read" in run.stdout + run.stderr


YAML_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
names: *i
train: images
"""


def test_yolo_alias_bomb_is_refused(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "data.yaml").write_text(YAML_BOMB)
    run = cli("convert", "yolo", str(tmp_path / "data.yaml"), "--out", str(tmp_path / "out"))
    assert run.returncode == 2
    assert "data.yaml:2:8: not valid YAML: aliases (*name) are not read" in run.stderr


def test_yolo_nc_of_a_billion_without_names_is_refused(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "data.yaml").write_text("nc: 1000000000\ntrain: images\n")
    run = cli("convert", "yolo", str(tmp_path / "data.yaml"), "--out", str(tmp_path / "out"))
    assert run.returncode == 2
    assert "nc is 1000000000 and \"names\" is missing" in run.stderr


# -- work grows with the items, not with the numbers in them --------------------------------


def test_label_map_id_of_a_billion_is_one_gap(tmp_path, records):
    label_map = tmp_path / "label_map.pbtxt"
    label_map.write_text('item { id: 1 name: "cat" }\nitem { id: 1000000000 name: "dog" }\n')
    run = cli("scan", str(records), "--label-map", str(label_map), "--format", "json")
    report = json.loads(run.stdout)
    gap = next(f for f in report["findings"] if f["rule"] == "M008")
    assert "999999998 class id(s) without a name" in gap["message"]
    assert gap["evidence"]["missing"][:3] == [2, 3, 4]
    assert len(gap["evidence"]["missing"]) <= 1000


def test_fix_with_a_label_map_id_of_a_billion_ends(tmp_path, records):
    label_map = tmp_path / "label_map.pbtxt"
    label_map.write_text('item { id: 1 name: "cat" }\nitem { id: 1000000000 name: "dog" }\n')
    run = cli("fix", str(records), "--label-map", str(label_map), "--out", str(tmp_path / "out"))
    assert run.returncode in (0, 1)
    assert "Traceback" not in run.stderr


def test_shard_count_of_twenty_digits_is_counted_not_listed(tmp_path, records):
    folder = tmp_path / "shards"
    folder.mkdir()
    count = "99999999999999999999"
    for index in ("00000", "00001"):
        (folder / f"train-{index}-of-{count}.tfrecord").write_bytes(records.read_bytes())
    run = cli("scan", str(folder), "--format", "json")
    report = json.loads(run.stdout)
    messages = [f["message"] for f in report["findings"]]
    assert any(f"99999999999999999997 of {count} shards are missing: "
               f"{folder}/train-00002-of-{count}.tfrecord" in m for m in messages), messages


def test_near_misses_in_a_large_label_map_are_worked_out_once_per_name(tmp_path):
    """Names of one length, as real large label maps have them: comparing every unknown name of
    every record with every item took many minutes; an index and one lookup per name do not."""
    label_map = tmp_path / "label_map.pbtxt"
    label_map.write_text("".join(f'item {{ name: "class_{i:05d}" id: {i + 1} }}\n'
                                 for i in range(30_000)))
    boxes = [[Box(0.1, 0.1, 0.9, 0.8, 1, f"klass_{i % 3:05d}"),
              Box(0.2, 0.2, 0.6, 0.6, 1, "clas_00007")] for i in range(300)]
    records = _records(tmp_path / "named.tfrecord", boxes, size=8)
    run = cli("scan", str(records), "--label-map", str(label_map), "--select", "L",
              "--format", "json", "-j", "1", timeout=120)
    assert run.returncode == 1
    found = [f for f in json.loads(run.stdout)["findings"] if "did you mean" in f["message"]]
    assert found
    suggestions = {name: near for f in found for name, near in f["evidence"]["suggestions"].items()}
    assert suggestions["clas_00007"][0] == "class_00007"
    assert suggestions["klass_00001"][0] == "class_00001"


# -- folders: bounded walk, progress, no way out through links -------------------------------


def test_folder_walk_is_bounded_with_a_progress_line(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(10_050):
        (folder / f"f{i:05d}.txt").touch()
    run = cli("scan", str(folder), "--format", "json", TFOD_DOCTOR_MAX_WALK="10020",
              timeout=120)
    assert run.returncode == 2
    assert run.stderr.count(f"looking through {folder}: 10,000 entries so far") == 1
    messages = [f["message"] for f in json.loads(run.stdout)["findings"]]
    assert messages == [f"the directory {folder} holds more than 10,020 files and folders: "
                        "stopped looking there (name the files or a narrower pattern, or set "
                        "TFOD_DOCTOR_MAX_WALK to walk further)"]


def test_a_pattern_through_the_whole_file_system_is_bounded(tmp_path):
    config = tmp_path / "pipeline.config"
    config.write_text('model { ssd { num_classes: 1 } }\n'
                      'train_input_reader { tf_record_input_reader { input_path: "/*/*/*/*" } }\n')
    run = cli("check", str(config), "--format", "json", TFOD_DOCTOR_MAX_WALK="300", timeout=120)
    assert run.returncode in (1, 2)
    messages = [f["message"] for f in json.loads(run.stdout)["findings"]]
    assert ("the pattern '/*/*/*/*' goes through more than 300 files and folders: stopped "
            "looking there (name the files or a narrower pattern, or set TFOD_DOCTOR_MAX_WALK "
            "to walk further)") in messages


def test_image_folder_walk_is_bounded(tmp_path):
    (tmp_path / "yolo").mkdir()
    (tmp_path / "yolo" / "classes.txt").write_text("cat\n")
    run = cli("convert", "yolo", str(tmp_path / "yolo"), "--images", "/",
              "--out", str(tmp_path / "out"), TFOD_DOCTOR_MAX_WALK="500", timeout=120)
    assert run.returncode in (1, 2)
    assert "the directory / holds more than 500 files and folders" in run.stderr


def test_scan_of_the_root_folder_ends(tmp_path):
    run = cli("scan", "/", "--format", "json", TFOD_DOCTOR_MAX_WALK="2000", timeout=120)
    assert run.returncode in (1, 2)
    assert "holds more than 2,000 files and folders" in run.stdout + run.stderr


def test_symbolic_links_out_of_the_folder_are_not_followed(tmp_path, records):
    folder = tmp_path / "data"
    folder.mkdir()
    os.symlink(records, folder / "train.tfrecord")
    os.symlink("/dev/zero", folder / "zero.tfrecord")
    os.symlink("/", folder / "root")
    run = cli("scan", str(folder), "--format", "json")
    assert run.returncode == 2
    messages = [f["message"] for f in json.loads(run.stdout)["findings"]]
    assert messages == [f"the directory {folder} holds no TFRecord files (2 symbolic link(s) "
                        "that lead out of it were not followed)"]


def test_links_inside_the_folder_are_followed(tmp_path, records):
    folder = tmp_path / "data"
    (folder / "real").mkdir(parents=True)
    records.rename(folder / "real" / "train.tfrecord")
    os.symlink(folder / "real" / "train.tfrecord", folder / "link.tfrecord")
    run = cli("scan", str(folder), "--format", "json")
    assert run.returncode == 0
    assert json.loads(run.stdout)["stats"]["totals"]["records"] == 3


# -- drawing and workers ---------------------------------------------------------------------


@pytest.mark.parametrize("side", [1, 2, 4])
def test_show_draws_tiny_images(side, tmp_path):
    records = _records(tmp_path / "tiny.tfrecord", [[Box(0.1, 0.1, 0.9, 0.8, 1, "cat")]], side)
    run = cli("show", str(records), "-o", str(tmp_path / "tiny.png"), timeout=30)
    assert run.returncode == 0
    assert (tmp_path / "tiny.png").stat().st_size > 0


def test_workers_are_capped_at_the_cpus(records):
    run = cli("scan", str(records), "-j", "1000")
    assert run.returncode == 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert run.stderr.count("note: --workers 1000 is more than this machine can run at once "
                            f"({cpus} CPU(s)); using {cpus}") == 1


def test_python_callers_get_no_more_processes_than_cpus(records, monkeypatch):
    """``tfod_doctor.scan(..., workers=1000)`` has no command line to say so, but is capped."""
    started: list[int] = []

    def pool(items, ctx, progress, workers, split_bytes):
        started.append(workers)
        return local_engine.run_sequential(items, ctx, progress)

    monkeypatch.setattr(local_engine, "_run_pool", pool)
    execute(scan_plan([str(records)]), api.context(), workers=1000, split_bytes=1)
    assert started == [max(2, local_engine.default_workers())]
