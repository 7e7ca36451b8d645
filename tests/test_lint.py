"""``tfod-doctor lint``: configs and label maps alone, and the pre-commit hook that runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from convert_helpers import run_cli

from tfod_doctor.testing import make_dataset

ROOT = Path(__file__).resolve().parent.parent


def test_lint_reads_no_record_and_finds_config_and_label_map_problems(tmp_path, monkeypatch,
                                                                      capsys):
    monkeypatch.chdir(tmp_path)
    dataset = make_dataset(Path("ds"), ["label_map_duplicate_id", "config_unknown_field",
                                        "inverted_box"])
    code, out, _ = run_cli(["lint", str(dataset.config_path), "ds/label_map.pbtxt",
                            "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 1
    assert {"M005", "C002"} <= set(report["rule_counts"])
    assert "B006" not in report["rule_counts"] and "totals" not in report["stats"]
    # The label map named and the one the config names are one file: reported once.
    assert report["rule_counts"]["M005"] == 1
    _, text, _ = run_cli(["lint", str(dataset.config_path)], capsys)
    assert text.startswith("tfod-doctor lint · 1 file(s) · no records read")


def test_lint_leaves_out_missing_paths_unless_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    dataset = make_dataset(Path("ds"), ["input_path_matches_nothing"])
    shutil.rmtree("ds/data")
    code, out, _ = run_cli(["lint", str(dataset.config_path), "--format", "json"], capsys)
    assert code == 0 and "C018" not in json.loads(out)["rule_counts"]
    code, out, _ = run_cli(["lint", str(dataset.config_path), "--paths", "--format", "json"],
                           capsys)
    assert code == 1 and "C018" in json.loads(out)["rule_counts"]


def test_lint_refuses_a_missing_file(tmp_path, capsys):
    code, out, err = run_cli(["lint", str(tmp_path / "nope.config")], capsys)
    assert code == 2 and "nope.config does not exist" in err and "Traceback" not in out + err


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


@pytest.mark.slow
def test_the_pre_commit_hook_runs_lint_on_changed_configs(tmp_path):
    """``pre-commit try-repo`` installs this repository's hook as a user's would (in its own
    virtualenv, from this checkout) and runs it on a temporary repository's changes."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout of tfod-doctor (pre-commit clones it)")
    pytest.importorskip("pre_commit", reason="pre-commit is a test dependency")
    user = tmp_path / "user"
    make_dataset(user / "ds", ["label_map_duplicate_id"])
    (user / "notes.txt").write_text("not checked\n")
    _git(user, "init", "-q")
    _git(user, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "tfod-doctor-lint",
         "--verbose", "--color", "never"],
        cwd=user, capture_output=True, text=True, env=env, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "M005" in output and "duplicate-id" in output
    assert "Failed" in output

    # Give every item its own id: a clean label map.
    label_map = user / "ds" / "label_map.pbtxt"
    ids = iter(range(1, 100))
    label_map.write_text("".join(
        f"{line.split('id:')[0]}id: {next(ids)}\n" if line.strip().startswith("id:") else line
        for line in label_map.read_text().splitlines(keepends=True)))
    _git(user, "add", "-A")
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "tfod-doctor-lint",
         "--files", "ds/label_map.pbtxt", "--color", "never"],
        cwd=user, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Passed" in done.stdout
