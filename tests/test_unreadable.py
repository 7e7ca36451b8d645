"""Files the user may not read: each gets a clear finding or message, and the rest is checked.

Permissions do not stop root, and tests often run as root. So every command here runs in a child
process that has dropped root's two capabilities to read past them (``CAP_DAC_OVERRIDE`` and
``CAP_DAC_READ_SEARCH``, from the bounding set before ``exec``): root then reads only what the
permissions allow, like any user.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tfod_doctor.testing import make_dataset

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _obey_permissions() -> None:
    """In the child, before ``exec``: make root obey file permissions (a no-op for others)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], preexec_fn=_obey_permissions,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module", autouse=True)
def _permissions_apply(tmp_path_factory):
    """Skip when this machine cannot make a child obey permissions."""
    secret = tmp_path_factory.mktemp("probe") / "secret"
    secret.write_text("x")
    secret.chmod(0)
    try:
        probe = _run("-c", f"open({str(secret)!r}).read()")
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot drop root's capabilities here: {exc}")
    if "PermissionError" not in probe.stderr:
        pytest.skip("a child process still reads a file without read permission")


def _cli(*args: str, report: Path | None = None) -> tuple[int, str, dict | None]:
    """Run ``tfod-doctor ARGS`` (with a JSON report into ``report``): exit code, stderr, report."""
    extra = ["--format", "json", "-o", str(report)] if report else []
    run = _run("-m", "tfod_doctor", *args, *extra)
    assert "Traceback" not in run.stderr
    loaded = json.loads(report.read_text()) if report and report.exists() else None
    return run.returncode, run.stderr, loaded


@pytest.fixture
def dataset(tmp_path):
    data = make_dataset(tmp_path / "data", [])
    yield data
    for path in (tmp_path / "data").rglob("*"):  # let pytest clean up
        path.chmod(0o755 if path.is_dir() else 0o644)


def _records(dataset) -> list[Path]:
    return sorted(dataset.config_path.parent.rglob("*.tfrecord"))


def _config_lines(dataset, text: str) -> list[int]:
    lines = dataset.config_path.read_text().splitlines()
    return [number for number, line in enumerate(lines, 1) if text in line]


def test_an_unreadable_record_file_is_reported_and_the_others_are_checked(dataset, tmp_path):
    clean_code, _, clean = _cli("scan", *map(str, _records(dataset)),
                                report=tmp_path / "clean.json")
    assert clean_code == 0
    locked = _records(dataset)[1]
    (locked_records,) = [entry["records"] for entry in clean["stats"]["files"]
                         if entry["file"] == str(locked)]
    locked.chmod(0)
    code, _, report = _cli("scan", *map(str, _records(dataset)), report=tmp_path / "r.json")
    assert code == 1
    (finding,) = report["findings"]
    assert finding["rule"] == "R023" and finding["location"]["file"] == str(locked)
    assert finding["message"] == f"{locked} cannot be read: Permission denied"
    assert report["stats"]["totals"]["records"] == (
        clean["stats"]["totals"]["records"] - locked_records) > 0


def test_a_folder_that_cannot_be_listed(dataset, tmp_path):
    folder = _records(dataset)[0].parent
    folder.chmod(0)
    code, _, report = _cli("scan", str(folder), report=tmp_path / "r.json")
    assert code == 2  # nothing could be read at all
    (finding,) = report["findings"]
    assert finding["rule"] == "R023" and "cannot be listed: Permission denied" in finding["message"]


def test_an_unreadable_label_map_is_a_config_finding_and_the_records_are_checked(dataset,
                                                                                 tmp_path):
    _, _, clean = _cli("check", str(dataset.config_path), report=tmp_path / "clean.json")
    dataset.label_map_path.chmod(0)
    code, _, report = _cli("check", str(dataset.config_path), report=tmp_path / "r.json")
    assert code == 1
    unreadable = [f for f in report["findings"] if f["rule"] == "C016"]
    assert [f["location"]["line"] for f in unreadable] == _config_lines(dataset, "label_map_path")
    assert all(f["message"].endswith("cannot be read: Permission denied") for f in unreadable)
    assert report["stats"]["totals"]["records"] == clean["stats"]["totals"]["records"] > 0


def test_an_unreadable_pipeline_config_is_a_usage_error(dataset):
    dataset.config_path.chmod(0)
    code, stderr, _ = _cli("check", str(dataset.config_path))
    assert code == 2
    assert "is not readable" in stderr


def test_fix_names_an_unreadable_record_file_in_its_output_manifest_and_exit_code(dataset,
                                                                                  tmp_path):
    locked = _records(dataset)[1]
    locked.chmod(0)
    out = tmp_path / "fixed"
    run = _run("-m", "tfod_doctor", "fix", str(dataset.config_path), "--out", str(out),
               "--apply")
    assert "Traceback" not in run.stderr
    assert run.returncode == 1  # records could not be read: not everything was repaired
    assert f"{locked} cannot be read: Permission denied" in run.stdout
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    (lost,) = [line for line in lines if "salvage" in line]
    assert lost["input"] == str(locked)
    assert lost["salvage"]["error"] == f"{locked} cannot be read: Permission denied"
    readable = [path for path in _records(dataset) if path != locked]
    assert {line["input"] for line in lines if "output" in line} == set(map(str, readable))


def test_fix_of_record_files_names_the_unreadable_one(dataset, tmp_path):
    first, locked = _records(dataset)[:2]
    locked.chmod(0)
    run = _run("-m", "tfod_doctor", "fix", str(first), str(locked), "--out",
               str(tmp_path / "fixed"))
    assert "Traceback" not in run.stderr
    assert run.returncode == 1
    assert f"{locked} cannot be read: Permission denied" in run.stdout


def test_fix_of_only_unreadable_files_is_an_error(dataset, tmp_path):
    locked = _records(dataset)[0]
    locked.chmod(0)
    run = _run("-m", "tfod_doctor", "fix", str(locked), "--out", str(tmp_path / "fixed"))
    assert "Traceback" not in run.stderr
    assert run.returncode == 2
    assert f"nothing to fix: {locked} cannot be read: Permission denied" in run.stderr


def test_an_unreadable_shard_is_not_also_a_missing_one(dataset, tmp_path):
    locked = next(path for path in _records(dataset) if "-00000-of-00002" in path.name)
    locked.chmod(0)
    pattern = str(locked.parent / locked.name.replace("00000-of", "*-of"))
    code, _, report = _cli("scan", pattern, report=tmp_path / "r.json")
    assert code == 1
    assert [(f["rule"], f["location"]["file"]) for f in report["findings"]] == [
        ("R023", str(locked))]  # no R024: the shard is there, it cannot be read


def test_an_unreadable_checkpoint_is_a_config_finding(dataset, tmp_path):
    index = next(dataset.config_path.parent.rglob("*.index"))
    index.chmod(0)
    code, _, report = _cli("check", str(dataset.config_path), report=tmp_path / "r.json")
    assert code == 1
    (finding,) = [f for f in report["findings"] if f["rule"] == "C009"]
    assert finding["message"].endswith(f"cannot be read: {index.name}: Permission denied")
    assert finding["location"]["line"] == _config_lines(dataset, "fine_tune_checkpoint:")[0]
    assert report["stats"]["totals"]["records"] > 0
