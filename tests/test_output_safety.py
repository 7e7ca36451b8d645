"""No input of any kind makes tfod-doctor delete or overwrite a file it did not write.

Every test runs the command line (in this process as the console script does, or in a child
process where the test needs one), and checks the exit code, the message, and that every file
that was there before is byte-identical afterwards.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tfod_doctor.cli import main
from tfod_doctor.guard import LEDGER, OutputFolder
from tfod_doctor.records import writer as record_writer
from tfod_doctor.testing import annotated_images, make_dataset, write_coco, write_voc

CLASSES = ["cat", "dog"]


def _hashes(*roots: Path) -> dict[str, str]:
    """Every file under ``roots`` (a symbolic link by where it points): path -> SHA-256."""
    found = {}
    for root in roots:
        paths = [root] if not root.is_dir() else [
            Path(folder) / name for folder, dirs, files in os.walk(root)
            for name in [*files, *(d for d in dirs if (Path(folder) / d).is_symlink())]]
        for path in paths:
            found[str(path)] = ("-> " + os.readlink(path) if path.is_symlink()
                                else hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def _cli(capsys, *args: str) -> tuple[int, str]:
    """Run ``tfod-doctor ARGS`` as the console script does: exit code, stdout + stderr."""
    with pytest.raises(SystemExit) as exited:
        main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return exited.value.code, out + err


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    """A small dataset with a problem to fix, and the working folder at ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    return make_dataset(tmp_path / "ds", ["pixel_boxes"], n_train=4, n_eval=2)


def _record(dataset) -> str:
    return str(dataset.train_files[0])


# -- fix --out -----------------------------------------------------------------------------------


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_fix_into_the_configs_own_folder_is_refused(dataset, capsys, overwrite):
    before = _hashes(dataset.root)
    code, text = _cli(capsys, "fix", dataset.config_path, "--out", dataset.root, "--apply",
                      *overwrite)
    assert code == 2
    assert "holds the input" in text and "inputs are never changed" in text
    assert _hashes(dataset.root) == before


def test_fix_into_the_current_folder_holding_the_inputs_is_refused(dataset, capsys,
                                                                    monkeypatch):
    monkeypatch.chdir(dataset.train_files[0].parent)
    before = _hashes(dataset.root)
    code, text = _cli(capsys, "fix", dataset.train_files[0].name, "--out", ".", "--apply",
                      "--overwrite")
    assert code == 2 and "holds the input" in text
    assert _hashes(dataset.root) == before


def test_an_empty_out_is_refused(dataset, capsys):
    before = _hashes(dataset.root)
    code, text = _cli(capsys, "fix", _record(dataset), "--out", "", "--apply", "--overwrite")
    assert code == 2 and "is empty" in text
    assert _hashes(dataset.root) == before


def test_out_that_is_a_file_is_refused(dataset, capsys, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    before = _hashes(dataset.root, notes)
    for target in (notes, _record(dataset)):
        code, text = _cli(capsys, "fix", _record(dataset), "--out", target, "--apply",
                          "--overwrite")
        assert code == 2 and "is a file" in text
    assert _hashes(dataset.root, notes) == before


def test_records_fix_never_replaces_the_users_files_in_out(dataset, capsys, tmp_path):
    """The user's pipeline.config, label map and manifest.jsonl in --out (copies, not inputs):
    never deleted, and the refusal does not call them outputs of an earlier run."""
    out = tmp_path / "mine"
    out.mkdir()
    for name in ("pipeline.config", "label_map.pbtxt"):
        shutil.copy(dataset.root / name, out / name)
    (out / "manifest.jsonl").write_text('{"my": "notes"}\n')
    before = _hashes(dataset.root, out)
    code, text = _cli(capsys, "fix", _record(dataset), "--out", out, "--apply", "--overwrite")
    assert code == 2
    assert "manifest.jsonl, which tfod-doctor did not write" in text
    assert "earlier" not in text.split("(no list")[0]
    assert _hashes(dataset.root, out) == before


def test_records_fix_leaves_files_it_does_not_write_alone(dataset, capsys, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    shutil.copy(dataset.root / "pipeline.config", out / "pipeline.config")
    before = _hashes(dataset.root, out)
    code, _ = _cli(capsys, "fix", _record(dataset), "--out", out, "--apply", "--overwrite")
    assert code == 0
    assert _hashes(dataset.root, out / "pipeline.config") == before
    assert sorted(json.loads((out / LEDGER).read_text())["outputs"]) == [
        "manifest.jsonl", f"{Path(_record(dataset)).name.split('-')[0]}-00000-of-00001.tfrecord"]


def test_overwrite_removes_only_what_the_earlier_run_listed(dataset, capsys, tmp_path):
    out = tmp_path / "fixed"
    assert _cli(capsys, "fix", dataset.config_path, "--out", out, "--apply",
                "--num-shards", "2")[0] == 0
    (out / "notes.txt").write_text("mine")
    code, text = _cli(capsys, "fix", dataset.config_path, "--out", out, "--apply")
    assert code == 2 and "outputs of an earlier tfod-doctor run" in text and "--overwrite" in text
    before = _hashes(dataset.root, out / "notes.txt")
    assert _cli(capsys, "fix", dataset.config_path, "--out", out, "--apply", "--overwrite",
                "--num-shards", "1")[0] == 0
    assert _hashes(dataset.root, out / "notes.txt") == before
    names = sorted(p.name for p in out.iterdir() if p.name != LEDGER)
    assert names == ["eval-00000-of-00001.tfrecord", "manifest.jsonl", "notes.txt",
                     "pipeline.config", "train-00000-of-00001.tfrecord"]
    assert "notes.txt" not in json.loads((out / LEDGER).read_text())["outputs"]


def test_out_inside_a_folder_read_for_records_is_refused(dataset, capsys):
    data = dataset.train_files[0].parent
    before = _hashes(dataset.root)
    code, text = _cli(capsys, "fix", data, "--out", data / "fixed", "--apply")
    assert code == 2 and "inside the input folder" in text
    assert _hashes(dataset.root) == before
    assert not (data / "fixed").exists()


def test_out_an_input_glob_would_match_is_refused(dataset, capsys):
    before = _hashes(dataset.root)
    code, text = _cli(capsys, "fix", "ds/*/*.tfrecord", "--out", "ds/fixed", "--apply")
    assert code == 2 and "'ds/*/*.tfrecord' would also match the output ds/fixed/" in text
    assert _hashes(dataset.root) == before
    # A pattern that cannot reach the folder is fine.
    assert _cli(capsys, "fix", "ds/data/*.tfrecord", "--out", "ds/fixed", "--apply")[0] == 0
    assert {k: v for k, v in _hashes(dataset.root).items() if "/fixed/" not in k} == before


def test_a_symlinked_out_folder_is_resolved(dataset, capsys, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(dataset.train_files[0].parent, target_is_directory=True)
    before = _hashes(dataset.root)
    code, text = _cli(capsys, "fix", dataset.config_path, "--out", link, "--apply",
                      "--overwrite")
    assert code == 2 and "holds the input" in text
    assert _hashes(dataset.root) == before


def test_an_output_name_linked_to_an_input_is_never_written_through(dataset, capsys, tmp_path):
    out = tmp_path / "fixed"
    out.mkdir()
    (out / "pipeline.config").symlink_to(dataset.config_path)
    before = _hashes(dataset.root)
    code, text = _cli(capsys, "fix", dataset.config_path, "--out", out, "--apply",
                      "--overwrite")
    assert code == 2 and "pipeline.config, which tfod-doctor did not write" in text
    assert _hashes(dataset.root) == before
    # Even when a list of earlier outputs names it, the link is replaced, not followed.
    (out / LEDGER).write_text(json.dumps({"tool": "tfod-doctor",
                                          "outputs": ["pipeline.config"]}))
    code, _ = _cli(capsys, "fix", dataset.config_path, "--out", out, "--apply", "--overwrite")
    assert code == 0
    assert _hashes(dataset.root) == before
    assert not (out / "pipeline.config").is_symlink()


# -- -o ------------------------------------------------------------------------------------------


def _photo(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (8, 8), "red").save(path)
    return path


@pytest.mark.parametrize("command, output, message", [
    (["scan", "{record}"], "{record}", "is an input of this run"),
    (["check", "{config}"], "{config}", "is an input of this run"),
    (["check", "{config}"], "{label_map}", "is an input of this run"),
    (["scan", "{record}", "--format", "json"], "{label_map}",
     "tfod-doctor did not write it (it looks like a protobuf text"),
    (["scan", "{record}"], "{photo}", "tfod-doctor did not write it (it looks like a PNG image)"),
    (["show", "{record}"], "{photo}", "tfod-doctor did not write it (it looks like a PNG image)"),
    (["show", "{record}"], "{record}", "is an input of this run"),
    (["scan", "{record}"], "{link}", "is an input of this run"),
])
def test_output_file_over_an_input_or_a_users_file_is_refused(dataset, capsys, tmp_path,
                                                              command, output, message):
    (tmp_path / "link.txt").symlink_to(dataset.train_files[0])
    names = {"record": _record(dataset), "config": dataset.config_path,
             "label_map": dataset.root / "label_map.pbtxt",
             "photo": _photo(tmp_path / "photo.png"), "link": tmp_path / "link.txt"}
    before = _hashes(dataset.root, tmp_path / "photo.png")
    code, text = _cli(capsys, *[a.format(**names) for a in command], "-o",
                      output.format(**names))
    assert code == 2 and message in text
    assert _hashes(dataset.root, tmp_path / "photo.png") == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "html"])
def test_a_report_replaces_its_own_earlier_report(dataset, capsys, tmp_path, fmt):
    report = tmp_path / f"report.{fmt}"
    written = []
    for _ in range(2):
        code, text = _cli(capsys, "scan", _record(dataset), "--format", fmt, "-o", report)
        assert code == 1 and f"report written to {report}" in text
        written.append(report.read_bytes())
    assert written[0] == written[1]


def test_a_picture_replaces_its_own_earlier_picture(dataset, capsys, tmp_path):
    for name in ("records.png", "records.jpg"):
        for _ in range(2):
            code, text = _cli(capsys, "show", _record(dataset), "-o", tmp_path / name)
            assert code == 0 and f"wrote {tmp_path / name}" in text


# -- two runs, one folder ------------------------------------------------------------------------


def test_a_run_into_a_folder_another_run_holds_stops(dataset, capsys, tmp_path):
    out = tmp_path / "fixed"
    before = _hashes(dataset.root)
    with OutputFolder(out, ["*.tfrecord"], command="tfod-doctor fix other"):
        code, text = _cli(capsys, "fix", dataset.config_path, "--out", out, "--apply")
        assert code == 2
        assert "is being written by another tfod-doctor run" in text
        assert f"process {os.getpid()}" in text and "tfod-doctor fix other" in text
        assert sorted(p.name for p in out.iterdir()) == [".tfod-doctor.lock"]
    assert list(out.iterdir()) == [out / LEDGER]
    assert _hashes(dataset.root) == before


def _child(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-m", "tfod_doctor", *map(str, args)], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_fix_runs_at_once_one_wins(tmp_path):
    dataset = make_dataset(tmp_path / "ds", ["pixel_boxes"], n_train=24, n_eval=4)
    before = _hashes(dataset.root)
    runs = [_child("fix", dataset.config_path, "--out", "fixed", "--apply", cwd=tmp_path)
            for _ in range(2)]
    results = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    assert sorted(code for code, _ in results) == [0, 2]
    (refusal,) = [err for code, err in results if code == 2]
    assert ("being written by another tfod-doctor run" in refusal
            or "outputs of an earlier tfod-doctor run" in refusal)
    assert "Traceback" not in refusal
    out = tmp_path / "fixed"
    listed = sorted(json.loads((out / LEDGER).read_text())["outputs"])
    assert listed == sorted(p.name for p in out.iterdir() if p.name != LEDGER)
    shards = {json.loads(line).get("output") for line in
              (out / "manifest.jsonl").read_text().splitlines()}
    assert shards == {name for name in listed if name.endswith(".tfrecord")}
    assert _hashes(dataset.root) == before


# -- inputs named twice ---------------------------------------------------------------------------


def test_a_file_named_twice_is_read_once(dataset, capsys, tmp_path):
    record = _record(dataset)
    again = "./" + os.path.relpath(record)
    code, text = _cli(capsys, "fix", record, "--out", tmp_path / "once", "--format", "json")
    once = json.loads(text)["records_in"]
    code, text = _cli(capsys, "fix", record, record, again, "--out", tmp_path / "fixed",
                      "--apply", "--format", "json")
    assert code == 0
    result = json.loads(text)
    assert result["records_in"] == result["records_out"] == once
    assert result["repeated_inputs"] == [record, again]
    code, text = _cli(capsys, "fix", record, record, "--out", tmp_path / "plan")
    assert text.count("named more than once, read once") == 1
    code, text = _cli(capsys, "scan", record, again, record, "--format", "json")
    assert text.count("named more than once, read once") == 1
    report, _ = json.JSONDecoder().raw_decode(text)  # the report, then the note on stderr
    assert report["stats"]["totals"]["files"] == 1
    assert report["stats"]["totals"]["records"] == once


# -- a full disk ---------------------------------------------------------------------------------


def _full_on_second_record(monkeypatch) -> None:
    """Every TFRecord write after the first fails as on a full disk."""
    real = record_writer.TFRecordWriter.write
    calls = []

    def write(self, payload):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, payload)

    monkeypatch.setattr(record_writer.TFRecordWriter, "write", write)


def test_a_full_disk_is_said_and_nothing_is_left(dataset, capsys, tmp_path, monkeypatch):
    before = _hashes(dataset.root)
    _full_on_second_record(monkeypatch)
    out = tmp_path / "new" / "fixed"
    code, text = _cli(capsys, "fix", dataset.config_path, "--out", out, "--apply")
    assert code == 2
    assert "the disk is full" in text and str(out) in text and "nothing was written" in text
    assert "internal error" not in text
    assert not (tmp_path / "new").exists()
    assert _hashes(dataset.root) == before


def test_a_full_disk_keeps_the_earlier_outputs(dataset, capsys, tmp_path, monkeypatch):
    out = tmp_path / "fixed"
    assert _cli(capsys, "fix", dataset.config_path, "--out", out, "--apply")[0] == 0
    before = _hashes(dataset.root, out)
    _full_on_second_record(monkeypatch)
    code, text = _cli(capsys, "fix", dataset.config_path, "--out", out, "--apply",
                      "--overwrite", "--num-shards", "2")
    assert code == 2 and "the disk is full" in text
    assert _hashes(dataset.root, out) == before
    assert sorted(str(p) for p in out.iterdir()) == sorted(p for p in before if str(out) in p)


def _tmpfs_works(folder: Path) -> str | None:
    """Why a small tmpfs cannot be mounted in a private mount namespace here, or ``None``."""
    if shutil.which("unshare") is None:
        return "no unshare command"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=16k tmpfs "
                            f"'{folder}'"], capture_output=True, text=True, timeout=30)
    return None if probe.returncode == 0 else f"cannot mount a tmpfs: {probe.stderr.strip()}"


def test_a_full_tmpfs_is_said_and_nothing_is_left(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    why = _tmpfs_works(disk)
    if why:
        pytest.skip(why)
    dataset = make_dataset(tmp_path / "ds", ["pixel_boxes"], n_train=24, n_eval=4)
    before = _hashes(dataset.root)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    script = (f"mount -t tmpfs -o size=16k tmpfs '{disk}' && "
              f"'{sys.executable}' -m tfod_doctor fix '{dataset.config_path}' "
              f"--out '{disk}/fixed' --apply; echo \"exit=$?\"; ls -A '{disk}'")
    run = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                         timeout=120, env=env)
    assert "exit=2" in run.stdout
    assert run.stdout.strip().endswith("exit=2")  # ls printed nothing: the disk is empty
    assert "the disk is full" in run.stderr and f"{disk}/fixed" in run.stderr
    assert "nothing was written" in run.stderr and "Traceback" not in run.stderr
    assert _hashes(dataset.root) == before


# -- convert, export, demo -----------------------------------------------------------------------


def test_convert_into_the_annotation_folder_is_refused(tmp_path, capsys):
    voc = write_voc(tmp_path / "voc", annotated_images(2, CLASSES, seed=3)).source
    before = _hashes(voc)
    for extra in ([], ["--overwrite"]):
        code, text = _cli(capsys, "convert", "voc", voc, "--out", voc, *extra)
        assert code == 2 and "is the input" in text
    assert _hashes(voc) == before


def test_convert_into_a_folder_holding_its_images_is_refused(tmp_path, capsys):
    written = write_coco(tmp_path / "coco", annotated_images(2, CLASSES, seed=4),
                         {"cat": 1, "dog": 2})
    before = _hashes(tmp_path / "coco")
    code, text = _cli(capsys, "convert", "coco", written.source, "--images",
                      written.images_dir, "--out", tmp_path / "coco", "--overwrite")
    assert code == 2 and "holds the input" in text
    assert _hashes(tmp_path / "coco") == before


def test_export_into_the_records_folder_is_refused(dataset, capsys):
    data = dataset.train_files[0].parent
    before = _hashes(dataset.root)
    code, text = _cli(capsys, "export", "coco", data, "--out", data, "--overwrite")
    assert code == 2 and "is the input" in text
    assert _hashes(dataset.root) == before


def test_demo_never_replaces_a_folder_it_did_not_write(tmp_path, capsys):
    (tmp_path / "demo" / "clean").mkdir(parents=True)
    (tmp_path / "demo" / "clean" / "mine.txt").write_text("mine")
    before = _hashes(tmp_path / "demo")
    code, text = _cli(capsys, "demo", tmp_path / "demo")
    assert code == 2 and "clean, which tfod-doctor did not write" in text
    assert _hashes(tmp_path / "demo") == before


def test_a_killed_run_is_undone_by_the_next(dataset, capsys, tmp_path):
    """A run killed on the way (no chance to clean up) leaves its journal in the lock file: the
    next run removes what it wrote and puts the earlier outputs back."""
    out = tmp_path / "fixed"
    assert _cli(capsys, "fix", dataset.config_path, "--out", out, "--apply")[0] == 0
    before = _hashes(dataset.root, out)
    killed = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from tfod_doctor.guard import OutputFolder\n"
        "out = Path(sys.argv[1])\n"
        "with OutputFolder(out, ['train-*-of-*.tfrecord', 'manifest.jsonl'], overwrite=True):\n"
        "    (out / 'train-00000-of-00003.tfrecord').write_bytes(b'half')\n"
        "    (out / 'manifest.jsonl').write_text('half')\n"
        "    os._exit(9)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run([sys.executable, "-c", killed, str(out)], env=env, timeout=60)
    assert run.returncode == 9
    assert _hashes(dataset.root, out) != before  # the earlier outputs are hidden, half written
    code, text = _cli(capsys, "fix", dataset.config_path, "--out", out, "--apply")
    assert code == 2 and "outputs of an earlier tfod-doctor run" in text
    assert _hashes(dataset.root, out) == before


def test_a_full_disk_during_convert_is_said_the_same_way(tmp_path, capsys, monkeypatch):
    voc = write_voc(tmp_path / "voc", annotated_images(3, CLASSES, seed=5)).source
    before = _hashes(voc)
    _full_on_second_record(monkeypatch)
    code, text = _cli(capsys, "convert", "voc", voc, "--out", tmp_path / "records",
                      "--num-shards", "1")
    assert code == 2 and "the disk is full" in text and "nothing was written" in text
    assert not (tmp_path / "records").exists()
    assert _hashes(voc) == before


def test_ctrl_c_leaves_nothing_behind(dataset, capsys, tmp_path, monkeypatch):
    def interrupted(self, payload):
        raise KeyboardInterrupt

    monkeypatch.setattr(record_writer.TFRecordWriter, "write", interrupted)
    before = _hashes(dataset.root)
    code, text = _cli(capsys, "fix", dataset.config_path, "--out", tmp_path / "fixed", "--apply")
    assert code == 130 and "interrupted" in text
    assert not (tmp_path / "fixed").exists()
    assert _hashes(dataset.root) == before


# -- -o to a device or a pipe --------------------------------------------------------------------


def test_a_report_into_a_named_pipe_is_written_through_it_and_the_pipe_stays(dataset, tmp_path,
                                                                              capsys):
    """``-o /dev/null`` or ``-o /dev/stdout`` are written to, never replaced: replacing them
    (as the atomic rename of a regular output does) turned a root user's /dev/null into a file.
    A named pipe stands for them here."""
    import stat
    import threading

    pipe = tmp_path / "report.pipe"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    code, said = _cli(capsys, "check", dataset.config_path, "--format", "json", "-o", pipe)
    reader.join(timeout=30)
    assert code == 1, said  # the planted pixel boxes
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    assert json.loads(received[0])["findings"]
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]
