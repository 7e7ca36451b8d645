"""``tfod-doctor scan`` as a user runs it: exit codes, the JSON report, bad inputs, progress."""

from __future__ import annotations

import json
import os
import pty
import select
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tfod_doctor.cli import main
from tfod_doctor.records import encode_example, write_records
from tfod_doctor.testing import Box, Sample, make_dataset, make_image
from tfod_doctor.testing.defects.records import huge_length_header

#: The JSON report of DESIGN.md (plus ``schema_version`` and ``rule_counts``, see README).
REPORT_SCHEMA = {
    "type": "object",
    "required": ["tool", "version", "schema_version", "inputs", "summary", "rule_counts",
                 "findings", "stats"],
    "properties": {
        "tool": {"const": "tfod-doctor"},
        "version": {"type": "string"},
        "inputs": {"type": "array", "items": {"type": "string"}},
        "summary": {
            "type": "object",
            "required": ["data-loss", "error", "warning", "info", "omitted"],
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
        "rule_counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "findings": {"type": "array", "items": {
            "type": "object",
            "required": ["rule", "severity", "message", "hint", "location", "evidence"],
            "properties": {
                "rule": {"type": "string", "pattern": "^[RFBLIDCMA][0-9]{3}$"},
                "severity": {"enum": ["info", "warning", "data-loss", "error"]},
                "message": {"type": "string", "minLength": 1},
                "location": {
                    "type": "object",
                    "required": ["file", "record", "offset", "key", "line", "column"],
                    "additionalProperties": False,
                    "properties": {
                        "file": {"type": ["string", "null"]},
                        "key": {"type": ["string", "null"]},
                        "record": {"type": ["integer", "null"], "minimum": 0},
                        "offset": {"type": ["integer", "null"], "minimum": 0},
                        "line": {"type": ["integer", "null"], "minimum": 1},
                        "column": {"type": ["integer", "null"], "minimum": 1},
                    },
                },
                "evidence": {"type": "object"},
            },
        }},
        "stats": {
            "type": "object",
            "required": ["totals", "files", "schema"],
            "properties": {
                "totals": {"type": "object",
                           "required": ["files", "records", "bytes", "damaged_files",
                                        "lost_bytes"]},
                "files": {"type": "array", "items": {
                    "type": "object",
                    "required": ["file", "kind", "bytes", "records", "tensorflow_reads",
                                 "damaged_ranges", "lost_bytes"],
                }},
            },
        },
    },
}


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Run the console entry point in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in err
    return exited.value.code, out, err


def scan_json(capsys, *args: str, select: str = "R") -> tuple[int, dict]:
    code, out, _ = run(capsys, "scan", "--format", "json", "--select", select, *args)
    report = json.loads(out)
    jsonschema.validate(report, REPORT_SCHEMA)
    return code, report


@pytest.fixture
def records(tmp_path) -> Path:
    """Five clean OD API records (real images, one box each)."""
    path = tmp_path / "good.tfrecord"
    samples = [Sample(make_image(32, 24, seed=i), 32, 24, "jpeg", f"{i}.jpg", f"{i}.jpg",
                      [Box(0.1, 0.1, 0.9, 0.8, 1, "cat")]) for i in range(5)]
    write_records(path, [encode_example(sample.features()) for sample in samples])
    return path


def test_clean_dataset_exits_0(capsys, tmp_path):
    dataset = make_dataset(tmp_path, n_train=6, n_eval=2)
    code, out, _ = run(capsys, "scan", *dataset.scan_inputs)
    assert code == 0 and "No findings." in out and "8 records" in out


def test_damaged_tf_written_file_exits_1_with_the_json_report(tf_oracle, capsys, tmp_path):
    dataset = make_dataset(tmp_path, ["bad_payload_crc"], writer="tf", n_train=6, n_eval=2)
    (planted,) = dataset.planted_for("bad_payload_crc")
    code, report = scan_json(capsys, *dataset.scan_inputs)
    assert code == 1
    (finding,) = report["findings"]
    assert finding["rule"] == "R004" and finding["severity"] == "error"
    assert finding["location"]["file"] == str(dataset.file(planted.file))
    assert finding["location"]["record"] == planted.record
    tf_records, tf_error = tf_oracle.tf_read_records(dataset.file(planted.file))
    assert f"corrupted record at {finding['location']['offset']}" in tf_error
    assert len(tf_records) == planted.record
    assert report["summary"]["error"] == 1 and report["rule_counts"] == {"R004": 1}
    assert report["stats"]["totals"]["records"] == 7 and report["stats"]["totals"]["files"] == 3
    assert report["stats"]["totals"]["damaged_files"] == 1


def test_schema_inventory(capsys, records):
    code, report = scan_json(capsys, str(records))
    assert code == 0
    assert report["stats"]["schema"]["image/height"] == {
        "kinds": {"int64_list": 5}, "records": 5, "length": {"min": 1, "median": 1.0, "max": 1},
    }


def test_fail_on(capsys, tmp_path, records):
    data = records.read_bytes()
    records.write_bytes(data + data[:5])  # a record cut inside its header: data loss
    assert run(capsys, "scan", str(records))[0] == 1
    assert run(capsys, "scan", str(records), "--fail-on", "error")[0] == 0


# -- bad input: a clear message, exit 2 when nothing could be read, the rest still read --------


def test_nothing_but_a_missing_path_exits_2(capsys, tmp_path):
    code, report = scan_json(capsys, str(tmp_path / "nope.tfrecord"))
    assert code == 2
    (finding,) = report["findings"]
    assert finding["rule"] == "R020" and "does not exist" in finding["message"]


def test_a_missing_path_next_to_a_good_file(capsys, tmp_path, records):
    code, report = scan_json(capsys, str(tmp_path / "nope.tfrecord"), str(records))
    assert code == 1
    assert report["stats"]["totals"]["records"] == 5
    assert [f["rule"] for f in report["findings"]] == ["R020"]


@pytest.mark.parametrize("what", ["glob", "empty-dir", "socket"])
def test_inputs_that_yield_nothing_readable_exit_2(capsys, tmp_path, what):
    if what == "glob":
        target, rule = str(tmp_path / "train-*.tfrecord"), "R021"
    elif what == "empty-dir":
        (tmp_path / "images").mkdir()
        (tmp_path / "images" / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0")
        target, rule = str(tmp_path / "images"), "R022"
    else:
        target, rule = str(tmp_path / "train.tfrecord"), "R023"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.bind(target)
    code, report = scan_json(capsys, target)
    assert code == 2
    assert [f["rule"] for f in report["findings"]] == [rule]
    assert "\n" not in report["findings"][0]["message"]


def test_a_directory_input(capsys, tmp_path, records):
    code, report = scan_json(capsys, str(tmp_path))
    assert code == 0 and report["stats"]["totals"]["records"] == 5


def test_garbage_bytes(capsys, tmp_path, records):
    garbage = tmp_path / "garbage.tfrecord"
    garbage.write_bytes(os.urandom(5000))
    code, report = scan_json(capsys, str(garbage), str(records))
    assert code == 1
    assert [f["rule"] for f in report["findings"]] == ["R001"]
    assert report["stats"]["totals"]["records"] == 5


@pytest.mark.parametrize("width", [0, -5])
def test_a_stored_width_that_is_not_positive(capsys, tmp_path, records, width):
    """An undecodable image whose stored width is 0 or negative: reported, and the other
    records still checked (the box aspect statistics once stopped the whole run here)."""
    bad = tmp_path / "bad.tfrecord"
    sample = Sample(b"garbage", width, 10, "jpeg", "x.jpg", "x.jpg",
                    [Box(0.1, 0.1, 0.5, 0.5, 1, "cat")])
    write_records(bad, [encode_example(sample.features())])
    code, report = scan_json(capsys, str(bad), str(records), select="I")
    assert code == 1
    assert "I001" in {f["rule"] for f in report["findings"]}
    assert report["stats"]["totals"]["records"] == 6
    assert sum(report["stats"]["box_aspect"]["counts"]) == 6


def test_a_length_field_of_2_to_the_63(tf_oracle, capsys, tmp_path, records):
    huge = tmp_path / "huge.tfrecord"
    huge.write_bytes(huge_length_header())
    code, report = scan_json(capsys, str(huge), str(records))
    assert code == 1
    (finding,) = report["findings"]
    assert finding["rule"] == "R005"
    assert (finding["location"]["record"], finding["location"]["offset"]) == (0, 0)
    _, tf_error = tf_oracle.tf_read_records(huge)
    assert finding["evidence"]["tensorflow"].split(": ", 1)[1] in tf_error
    assert report["stats"]["totals"]["records"] == 5


def test_usage_errors_exit_2(capsys, records):
    assert run(capsys, "scan")[0] == 2
    code, _, err = run(capsys, "scan", str(records), "--select", "Z999")
    assert code == 2 and "no rule matches" in err


def test_report_to_a_file(capsys, tmp_path, records):
    target = tmp_path / "out" / "scan.json"
    target.parent.mkdir()
    code, out, err = run(capsys, "scan", str(records), "--format", "json", "-o", str(target))
    assert code == 0 and out == "" and f"report written to {target}" in err
    jsonschema.validate(json.loads(target.read_text()), REPORT_SCHEMA)


# -- the console script itself: piped, and on a terminal --------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.update(extra)
    return env


def test_piped_output_has_no_progress_bar(tmp_path, records):
    result = subprocess.run(
        [sys.executable, "-m", "tfod_doctor", "scan", str(records), str(tmp_path / "nope")],
        capture_output=True, text=True, env=_env(), timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr == ""  # no bar, no traceback, nothing
    assert "R020" in result.stdout and "\x1b[" not in result.stdout


def _stderr_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    master, slave = pty.openpty()
    with subprocess.Popen([sys.executable, "-m", "tfod_doctor", *args], stdout=subprocess.PIPE,
                          stderr=slave, env=env) as process:
        os.close(slave)
        process.stdout.read()
        process.wait(timeout=120)
    seen = b""
    while select.select([master], [], [], 0.2)[0]:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return seen.decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_but_not_in_ci(records):
    terminal = _env(TERM="xterm-256color")
    assert "scanning" in _stderr_on_a_terminal(["scan", str(records)], terminal)
    assert "scanning" not in _stderr_on_a_terminal(["scan", str(records)], {**terminal,
                                                                             "CI": "true"})


def test_a_file_that_changes_while_it_is_read(capsys, monkeypatch, records):
    """The file turns out shorter than its size said: the records read so far still count."""
    from tfod_doctor.records import files

    monkeypatch.setattr(files, "_file_size", lambda raw, fallback: fallback + 1000)
    code, report = scan_json(capsys, str(records))
    assert code == 1
    (finding,) = report["findings"]
    assert finding["rule"] == "R023" and "changed during the run" in finding["message"]
    assert report["stats"]["totals"]["records"] == 5


def test_label_map_option_checks_class_names_and_reports_the_map_itself(capsys, tmp_path):
    dataset = make_dataset(tmp_path, ["text_not_in_label_map"], n_train=6, n_eval=2)
    (planted,) = dataset.planted_for("text_not_in_label_map")
    code, report = scan_json(capsys, *dataset.scan_inputs, "--label-map",
                             str(dataset.label_map_path), select="L,M")
    assert code == 1
    found = [f for f in report["findings"] if f["rule"] == "L004"]
    assert [(f["location"]["file"], f["location"]["record"]) for f in found] == [
        (planted.file, planted.record)]
    # Without the label map the class names cannot be checked.
    assert "L004" not in scan_json(capsys, *dataset.scan_inputs, select="L")[1]["rule_counts"]
    broken = tmp_path / "broken.pbtxt"
    broken.write_text("item {\n  id: 1\n  name: 'cat'\n")
    _, report = scan_json(capsys, *dataset.scan_inputs, "--label-map", str(broken), select="M")
    (syntax,) = [f for f in report["findings"] if f["rule"] == "M001"]
    assert syntax["location"]["file"] == str(broken) and syntax["location"]["line"] is not None


def test_missing_label_map_is_a_usage_error(capsys, tmp_path, records):
    code, _, err = run(capsys, "scan", str(records), "--label-map", str(tmp_path / "nope.pbtxt"))
    assert code == 2 and "does not exist" in err and "Traceback" not in err
