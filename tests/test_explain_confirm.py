"""``explain LOG --config``: TensorFlow's own error on a broken dataset, confirmed in the files.

The dataset factory plants one defect; real TensorFlow reads the records and fails with its own
message; ``explain`` gets that message in a training log and answers with the cause the files
show, the finding and where it is (file and record), and the causes they rule out.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tfod_doctor.cli import main
from tfod_doctor.testing import make_dataset

LOG = """I1103 10:12:01.123 model_lib_v2.py:705] Step 100 per-step time 0.412s
Traceback (most recent call last):
  File "model_main_tf2.py", line 114, in <module>
    tf.compat.v1.app.run()
  File "venv/lib/python3.10/site-packages/tensorflow/python/eager/execute.py", line 53, in \
quick_execute
    tensors = pywrap_tfe.TFE_Py_Execute(ctx._handle, device_name, op_name,
tensorflow.python.framework.errors_impl.InvalidArgumentError: {message}
"""


def _first_tf_error(dataset, tf_oracle, read) -> tuple[str, Path, int]:
    """TensorFlow's own message for the first record it refuses, and where that record is."""
    for path in dataset.record_files:
        records, error = tf_oracle.tf_read_records(path)
        assert error is None
        for index, payload in enumerate(records):
            try:
                read(payload)
            except tf_oracle.tf.errors.InvalidArgumentError as exc:
                return exc.message, path, index
    raise AssertionError("TensorFlow read every record")


def _explain(args, stdin: str, capsys, monkeypatch) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as done:
        main(["explain", "-", *args])
    return done.value.code, capsys.readouterr().out


def test_tensorflows_error_is_confirmed_at_the_planted_record(tmp_path, tf_oracle, capsys,
                                                             monkeypatch):
    dataset = make_dataset(tmp_path / "data", ["float_labels"])
    message, path, index = _first_tf_error(dataset, tf_oracle, tf_oracle.tf_parse)
    assert "Data types don't match" in message
    code, out = _explain(["--config", str(dataset.config_path), "--format", "json"],
                         LOG.format(message=message), capsys, monkeypatch)
    assert code == 0
    confirmation = json.loads(out)["confirmation"]
    (shown,) = confirmation["shown"]
    assert shown["rule"] == "F003"
    where = shown["findings"][0]["location"]
    assert Path(where["file"]).name == path.name and where["record"] == index
    assert where["key"] == "image/object/class/label"
    planted = {(Path(p.file).name, p.record) for p in dataset.planted}
    assert (path.name, index) in planted


def test_the_text_answer_names_the_finding_and_rules_out_the_rest(tmp_path, tf_oracle, capsys,
                                                                 monkeypatch):
    dataset = make_dataset(tmp_path / "data", ["box_lists_differ"])
    message, path, index = _first_tf_error(dataset, tf_oracle, tf_oracle.tf_od_boxes)
    assert "ConcatOp" in message
    code, out = _explain(["--config", str(dataset.config_path)], LOG.format(message=message),
                         capsys, monkeypatch)
    assert code == 0
    assert "FOUND B001" in out
    assert f"{path.name}" in out and f"record {index}" in out
    assert "ruled out F008" in out  # the boxes are not one flat list


def test_the_config_named_in_the_log_is_found_by_itself(tmp_path, tf_oracle, capsys,
                                                      monkeypatch):
    dataset = make_dataset(tmp_path / "data", ["float_labels"])
    message, _, _ = _first_tf_error(dataset, tf_oracle, tf_oracle.tf_parse)
    log = (f"python model_main_tf2.py --pipeline_config_path={dataset.config_path} "
           f"--model_dir=out\n" + LOG.format(message=message))
    code, out = _explain(["--format", "json"], log, capsys, monkeypatch)
    assert code == 0
    data = json.loads(out)
    assert data["confirmation"]["config"] == str(dataset.config_path)
    assert data["confirmation"]["shown"][0]["rule"] == "F003"


def test_files_that_show_none_of_the_causes_say_so(tmp_path, capsys, monkeypatch):
    dataset = make_dataset(tmp_path / "data", [])
    message = ("Key: image/object/class/label.  Data types don't match. Expected type: int64, "
               "Actual type: float")
    code, out = _explain(["--config", str(dataset.config_path)], LOG.format(message=message),
                         capsys, monkeypatch)
    assert code == 0
    assert "Your files show none of these causes" in out
    assert "ruled out F003" in out


def test_non_data_errors_run_no_check_and_name_no_rule(tmp_path, capsys, monkeypatch):
    dataset = make_dataset(tmp_path / "data", ["float_labels"])
    code, out = _explain(["--config", str(dataset.config_path), "--format", "json"],
                         "ResourceExhaustedError: OOM when allocating tensor with shape[32,960]",
                         capsys, monkeypatch)
    data = json.loads(out)
    assert code == 0 and data["about_files"] is False and data["rules"] == []
    assert data["confirmation"]["shown"] == [] and data["confirmation"]["ruled_out"] == []


def test_a_config_that_is_not_there_is_reported_not_a_traceback(tmp_path, capsys, monkeypatch):
    code, out = _explain(["--config", str(tmp_path / "nope.config")],
                         "DataLossError: corrupted record at 123456", capsys, monkeypatch)
    assert code == 0
    assert "could not check them" in out and "nope.config" in out


def test_tensorflows_data_loss_error_is_located_to_the_damaged_record(tmp_path, tf_oracle, capsys,
                                                                     monkeypatch):
    dataset = make_dataset(tmp_path / "data", ["bad_length_crc"])
    errors = [(path, tf_oracle.tf_read_records(path)) for path in dataset.record_files]
    path, (records, message) = next((p, r) for p, r in errors if r[1] is not None)
    assert "corrupted record at" in message
    log = LOG.format(message=message).replace("InvalidArgumentError", "DataLossError")
    code, out = _explain(["--config", str(dataset.config_path), "--format", "json"], log, capsys,
                         monkeypatch)
    assert code == 0
    confirmation = json.loads(out)["confirmation"]
    (shown,) = confirmation["shown"]
    where = shown["findings"][0]["location"]
    assert shown["rule"] == "R003" and Path(where["file"]).name == path.name
    assert where["record"] == len(records)  # TensorFlow stopped at the damaged record
    assert str(where["offset"]) in message
    assert confirmation["ruled_out"] == ["R004"]
