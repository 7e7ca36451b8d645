"""Bad input through the command line: a clear message and exit code 1 or 2, never a crash.

Each test gives one command an input that once ended in "internal error ... this is a bug"
(exit code 3), or killed the process, and checks what the user sees now: the exit code, a
message that names the problem and the file, no traceback and no word of a bug. Two inputs turn
out to be usable (a 5 MB class name in ``show``, two equal non-UTF-8 values in ``fix``): those
commands now simply do their work (exit code 0). The last test keeps exit code 3 for a true bug.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tfod_doctor.cli import main
from tfod_doctor.records import Bytes, Floats, Ints, encode_example, framing, write_records
from tfod_doctor.testing import (
    annotated_images,
    make_dataset,
    write_coco,
    write_csv,
    write_yolo,
)
from tfod_doctor.testing.images import make_image

_BUG_WORDS = re.compile(r"internal error|\bbug\b|Traceback", re.IGNORECASE)


def run(capsys, *args: str) -> tuple[int, str]:
    """``tfod-doctor ARGS`` in this process: the exit code and everything it printed."""
    with pytest.raises(SystemExit) as exited:
        main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    printed = out + err
    assert not _BUG_WORDS.search(printed), printed[-2000:]
    return exited.value.code, printed


def one_line(text: str) -> str:
    """The output with its line breaks (the report wraps long messages) made spaces."""
    return " ".join(text.split())


@pytest.fixture
def dataset(tmp_path):
    return make_dataset(tmp_path / "data", n_train=4, n_eval=2, train_shards=1)


# -- config and label map: nesting and numbers ---------------------------------------------------


def _nested(depth: int) -> str:
    return "x {" * depth + "}" * depth


def test_a_config_nested_300_deep(capsys, dataset):
    config = dataset.config_path
    config.write_text(config.read_text().replace("num_classes: 3",
                                                 "num_classes: 3\n" + _nested(300), 1))
    code, printed = run(capsys, "check", config)
    assert code == 1
    assert "Blocks nested more than 100 levels deep" in printed
    assert f"{config}:4:297" in printed  # the 100th "{" of line 4
    # The line is quoted from 40 characters before that column, with the caret under it.
    quoted, caret = printed.split(f"{config}:4:297")[1].splitlines()[2:4]
    assert quoted.strip().startswith("4 | …") and caret.index("^") == quoted.index("…") + 41


def test_a_label_map_nested_300_deep(capsys, dataset):
    label_map = dataset.label_map_path
    label_map.write_text("item {" * 300 + "}" * 300 + label_map.read_text())
    code, printed = run(capsys, "check", dataset.config_path)
    assert code == 1
    assert "M001" in printed and "Blocks nested more than 100 levels deep" in printed
    assert f"{label_map}:1:" in printed
    code, printed = run(capsys, "scan", *dataset.scan_inputs, "--label-map", label_map)
    assert code == 1 and "M001" in printed


@pytest.mark.parametrize("number", ["1e999", "-1e999", "inf"])
def test_num_classes_too_large_for_any_number(capsys, dataset, number):
    config = dataset.config_path
    config.write_text(config.read_text().replace("num_classes: 3", f"num_classes: {number}", 1))
    code, printed = run(capsys, "check", config)
    assert code == 1
    assert f"num_classes: expected a whole number (int32), found {number}" in printed
    assert str(config) in printed


def test_a_label_map_id_of_1e999(capsys, dataset):
    label_map = dataset.label_map_path
    label_map.write_text(label_map.read_text().replace("id: 2", "id: 1e999", 1))
    code, printed = run(capsys, "check", dataset.config_path)
    assert code == 1
    assert "id: expected a whole number (int32), found 1e999" in printed
    assert str(label_map) in printed


# -- record files --------------------------------------------------------------------------------


def test_a_file_of_brackets_given_to_scan(capsys, tmp_path):
    """Sniffing what the file is parses its head as JSON: 4096 ``[`` nest too deep for that."""
    path = tmp_path / "brackets.tfrecord"
    path.write_text("[" * 100_000 + "]" * 100_000)
    code, printed = run(capsys, "scan", path)
    assert code == 1
    assert "R001" in printed and "JSON text" in printed and str(path) in printed


def _flat_box_record(path: Path, height: int) -> Path:
    """A record with a flat ``boxes`` list in pixels, bytes that are no image, and a stored
    image height of ``height``."""
    write_records(path, [encode_example({
        "image/encoded": Bytes([b"not an image"]), "image/height": Ints([height]),
        "image/width": Ints([32]), "boxes": Floats([1, 1, 5, 5]), "labels": Ints([1]),
    })])
    return path


@pytest.mark.parametrize("height", [-1, 0])
def test_a_flat_box_list_with_a_negative_stored_height(capsys, tmp_path, height):
    path = _flat_box_record(tmp_path / "flat.tfrecord", height)
    code, printed = run(capsys, "scan", path)
    assert code == 1
    assert "F008" in printed and "B013" in printed and str(path) in one_line(printed)
    code, printed = run(capsys, "fix", path, "--out", tmp_path / "fixed")
    assert code == 2 and "--box-layout" in printed
    code, printed = run(capsys, "fix", path, "--out", tmp_path / "fixed", "--box-layout",
                        "xyxy", "--box-units", "pixels")
    assert code == 1
    assert "boxes cannot be read as xyxy/pixels: pixel boxes need the image width and " \
           "height" in one_line(printed)


def _record(path: Path, **features) -> Path:
    base = {
        "image/encoded": Bytes([make_image(32, 24)]), "image/format": Bytes([b"jpeg"]),
        "image/height": Ints([24]), "image/width": Ints([32]),
        "image/object/bbox/ymin": Floats([0.1]), "image/object/bbox/xmin": Floats([0.1]),
        "image/object/bbox/ymax": Floats([0.5]), "image/object/bbox/xmax": Floats([0.5]),
        "image/object/class/label": Ints([1]),
    }
    write_records(path, [encode_example({**base, **features})])
    return path


def test_fix_on_a_single_value_key_with_two_values_that_are_not_utf8(capsys, tmp_path):
    """The two values are the same, so ``fix`` keeps one and says so (the bytes shown with
    replacement characters)."""
    path = _record(tmp_path / "in.tfrecord", **{"image/source_id": Bytes([b"\xff\xfe"] * 2)})
    out = tmp_path / "fixed"
    code, printed = run(capsys, "fix", path, "--out", out, "--apply")
    assert code == 0 and "F004" in printed
    (line,) = (out / "manifest.jsonl").read_text().splitlines()
    (change,) = json.loads(line)["changes"]
    assert change["detail"] == "image/source_id: 2 values -> ['\ufffd\ufffd']"


@pytest.mark.parametrize("value", [Floats([3.4e38]), Bytes([b"9" * 25])],
                         ids=["float 3.4e38", "text of 25 digits"])
def test_fix_on_a_class_label_too_large_for_int64(capsys, tmp_path, value):
    path = _record(tmp_path / "in.tfrecord", **{"image/object/class/label": value})
    code, printed = run(capsys, "fix", path, "--out", tmp_path / "fixed", "--apply")
    assert code == 1
    assert re.search(r"not repaired F003 cast: could not cast image/object/class/label from "
                     r"\w+_list to intNN_list without changing a value", one_line(printed))


_SHRINKING_SCAN = """
import os, sys
from tfod_doctor.records import framing
from tfod_doctor.cli import main

read = framing.RecordReader.__iter__
change = sys.argv.pop(1)


def changing(self):
    for number, item in enumerate(read(self)):
        yield item
        if number == 0 and self.start == 0:  # another program changes the file now
            if change == "truncate":
                os.truncate(self.name, 100)
            else:
                with open(self.name, "ab") as handle:
                    handle.write(bytes(1000))


framing.RecordReader.__iter__ = changing
main(sys.argv[1:])
"""


@pytest.mark.parametrize("change", ["truncate", "append"])
def test_a_record_file_that_changes_while_it_is_read(tmp_path, change):
    """Truncated while it is read, a memory-mapped file killed the process (SIGBUS). The child
    process changes a 10 MB file right after its first record is read (the reader's first
    chunk is in memory then): cut to 100 bytes, the records whole in that chunk still count;
    grown, all are read. Either way the report says the file changed during the run."""
    path = tmp_path / "changes.tfrecord"
    payloads = [_record_payload(i) for i in range(10)]
    write_records(path, payloads)
    in_first_chunk = max(1, framing.DEFAULT_CHUNK // (len(payloads[0]) + framing.FRAME_OVERHEAD))
    report = tmp_path / "report.json"
    run_ = subprocess.run(
        [sys.executable, "-c", _SHRINKING_SCAN, change, "scan", str(path), "--workers", "1",
         "--format", "json", "-o", str(report)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert run_.returncode == 1, (run_.returncode, run_.stderr[-2000:])
    assert not _BUG_WORDS.search(run_.stderr)
    loaded = json.loads(report.read_text())
    (finding,) = [f for f in loaded["findings"] if f["rule"] == "R023"]
    assert finding["location"]["file"] == str(path)
    assert "changed during the run" in finding["message"]
    assert loaded["stats"]["totals"]["records"] == (
        in_first_chunk if change == "truncate" else 10)


def test_a_record_file_cut_short_while_workers_read_its_pieces(tmp_path):
    """Two workers read a 10 MB file in pieces; it is cut short after the first record: the
    pieces no longer fit together (whichever piece is read first), the file is read again as
    it is now, and the report says it changed. Workers are forked on Linux, hook and all."""
    if sys.platform != "linux":
        pytest.skip("the workers inherit the hook that changes the file only when forked")
    path = tmp_path / "changes.tfrecord"
    write_records(path, [_record_payload(i) for i in range(10)])
    report = tmp_path / "report.json"
    run_ = subprocess.run(
        [sys.executable, "-c", _SHRINKING_SCAN, "truncate", "scan", str(path), "--workers",
         "2", "--format", "json", "-o", str(report)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert run_.returncode == 1, (run_.returncode, run_.stderr[-2000:])
    loaded = json.loads(report.read_text())
    (finding,) = [f for f in loaded["findings"] if f["rule"] == "R023"]
    assert "changed during the run" in finding["message"] and str(path) in finding["message"]


def _record_payload(seed: int) -> bytes:
    """A 1 MB tf.train.Example (an image and a large unused key)."""
    return encode_example({"image/encoded": Bytes([make_image(16, 16, seed=seed)]),
                           "padding": Bytes([bytes(1_000_000)])})


def test_show_at_an_offset_past_any_file(capsys, dataset):
    path = dataset.train_files[0]
    code, printed = run(capsys, "show", path, "--offset", "18446744073709551616",
                        "-o", dataset.root / "x.png")
    assert code == 2
    assert f"{path}: the file ends before byte 18446744073709551628" in one_line(printed)


def test_a_label_map_name_of_5_mb_in_show(capsys, dataset, tmp_path):
    """Not an error: the picture is drawn, with the name cut short."""
    label_map = tmp_path / "long.pbtxt"
    label_map.write_text("item { id: 1 name: '" + "c" * 5_000_000 + "' }\n")
    picture = tmp_path / "record.png"
    code, printed = run(capsys, "show", dataset.train_files[0], "--index", "0", "--label-map",
                        label_map, "-o", picture)
    assert code == 0 and picture.stat().st_size > 0
    assert f"wrote {picture}" in printed


# -- options -------------------------------------------------------------------------------------


def test_an_unbalanced_quote_in_beam_options(capsys, dataset):
    pytest.importorskip("apache_beam", reason="--runner beam needs apache-beam")
    code, printed = run(capsys, "scan", *dataset.scan_inputs, "--runner", "beam",
                        "--beam-options", '--runner="DirectRunner')
    assert code == 2
    assert "--beam-options '--runner=\"DirectRunner': no closing quotation" in one_line(printed)


@pytest.mark.parametrize("folder", [os.devnull, "FILE/demo"])
def test_demo_into_a_path_that_cannot_be_a_folder(capsys, tmp_path, folder):
    (tmp_path / "FILE").write_text("a file")
    folder = folder.replace("FILE", str(tmp_path / "FILE"))
    code, printed = run(capsys, "demo", folder)
    assert code == 2
    said = one_line(printed)
    assert (f"{folder} is a file, not a folder" in said
            or f"cannot create {folder}: Not a directory" in said), said


@pytest.mark.parametrize("name", ["x/y", "..", "/tmp/abs", ".hidden", "a*", ""])
def test_fix_name_that_is_not_a_plain_name(capsys, dataset, tmp_path, name):
    out = tmp_path / "fixed"
    code, printed = run(capsys, "fix", dataset.train_files[0], "--out", out, "--name", name,
                        "--apply")
    assert code == 2
    assert f"--name {name!r} cannot name the shard files" in one_line(printed)
    assert not out.exists()


def test_a_shard_size_beyond_any_number(capsys, dataset, tmp_path):
    size = "9" * 400 + "MB"
    code, printed = run(capsys, "fix", dataset.train_files[0], "--out", tmp_path / "fixed",
                        "--shard-size", size)
    assert code == 2
    assert f"the shard size {size!r} is too large" in printed


def test_convert_name_with_a_path(capsys, tmp_path):
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("filename,width,height,class,xmin,ymin,xmax,ymax\n")
    code, printed = run(capsys, "convert", "csv", csv_file, "--out", tmp_path / "out",
                        "--name", "../train")
    assert code == 2
    assert "--name '../train' cannot name the shard files: it holds a path separator" in printed


# -- annotation files ----------------------------------------------------------------------------


def test_a_json_array_nested_100000_deep_in_convert_coco(capsys, tmp_path):
    path = tmp_path / "instances.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    code, printed = run(capsys, "convert", "coco", path, "--out", tmp_path / "out")
    assert code == 2
    assert f"{path}: its arrays or objects nest too deep to read" in one_line(printed)


def test_a_yolo_data_yaml_nested_too_deep(capsys, tmp_path):
    path = tmp_path / "data.yaml"
    path.write_text("names: " + "[" * 5000 + "]" * 5000 + "\n")
    code, printed = run(capsys, "convert", "yolo", path, "--out", tmp_path / "out")
    assert code == 2
    assert f"{path}: its lists or mappings nest too deep to read" in one_line(printed)


def test_a_csv_file_name_with_a_nul_character(capsys, tmp_path):
    """Found by the property tests: opening such a name raised ValueError in the converter."""
    images = annotated_images(2, ["cat", "dog"], sizes=[(32, 24)], negative_rate=0.0)
    path = write_csv(tmp_path / "csv", images).source
    lines = path.read_text().split("\n")
    lines[1] = "\x00" + lines[1]
    path.write_text("\n".join(lines))
    code, printed = run(capsys, "convert", "csv", path, "--out", tmp_path / "out")
    assert code == 1
    assert f"{path}:2" in printed and "holds a NUL character" in printed


def test_a_csv_header_that_names_a_column_twice(capsys, tmp_path):
    """Found by the property tests: every row then looked one field short (IndexError)."""
    path = tmp_path / "labels.csv"
    path.write_text("filename,width,height,class,xmin,ymin,xmax,ymax,class\n"
                    "a.jpg,32,24,cat,6,5,16,17,dog\n")
    code, printed = run(capsys, "convert", "csv", path, "--out", tmp_path / "out")
    assert code == 2
    assert f"{path}:1: the header names the column(s) 'class' more than once" in printed


def test_an_image_name_too_long_for_the_file_system(capsys, tmp_path):
    """Found by the property tests: looking for the image raised "File name too long" and
    stopped the conversion; now that image is skipped and the rest converted."""
    images = annotated_images(2, ["cat", "dog"], sizes=[(32, 24)], negative_rate=0.0)
    path = write_coco(tmp_path / "coco", images, {"cat": 1, "dog": 2}).source
    doc = json.loads(path.read_text())
    doc["images"][0]["file_name"] = "x" * 300 + ".jpg"
    path.write_text(json.dumps(doc))
    out = tmp_path / "out"
    code, printed = run(capsys, "convert", "coco", path, "--out", out)
    assert code == 1
    assert "File name too long" in printed and "x" * 100 in printed
    assert json.loads((out / "conversion.json").read_text())["splits"]["train"]["images"] == 1


def test_yolo_entries_that_name_no_file(capsys, tmp_path):
    """A data.yaml ``path`` too long for the file system, and list-file lines ``/``, ``.`` and
    a name too long: the dataset's own folder is used, the lines name no image."""
    images = annotated_images(1, ["cat"], sizes=[(32, 24)], negative_rate=0.0)
    data_yaml = write_yolo(tmp_path / "yolo", {"train": images}, ["cat"]).source
    (data_yaml.parent / "list.txt").write_text(f"/\n.\n{'y' * 300}\nimages/train/"
                                               f"{images[0].name}\n")
    data_yaml.write_text(f"path: /{'x' * 300}\ntrain: list.txt\nnames: [cat]\n")
    out = tmp_path / "out"
    code, printed = run(capsys, "convert", "yolo", data_yaml, "--out", out)
    assert code == 1 and "y" * 100 in printed  # the long name: a missing image
    assert json.loads((out / "conversion.json").read_text())["splits"]["train"]["images"] == 1


# -- what is left for the net at the top ---------------------------------------------------------


def test_an_os_error_that_reaches_the_command_line_is_the_systems_answer(capsys, monkeypatch,
                                                                         dataset):
    """Disk full, or a path that stopped being a folder, where a command did not expect it:
    what the system said about which file (exit code 2), not a bug."""
    from tfod_doctor import api

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device", "/data/out/train.tfrecord")

    monkeypatch.setattr(api, "scan_plan_and_context", disk_full)
    code, printed = run(capsys, "scan", *dataset.scan_inputs)
    assert code == 2
    assert "cannot use /data/out/train.tfrecord: No space left on device" in printed


def test_a_true_bug_is_still_called_one(capsys, monkeypatch, dataset):
    from tfod_doctor import api

    def broken(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(api, "scan_plan_and_context", broken)
    with pytest.raises(SystemExit) as exited:
        main(["scan", *dataset.scan_inputs])
    assert exited.value.code == 3
    assert "This is a bug in tfod-doctor" in capsys.readouterr().err
