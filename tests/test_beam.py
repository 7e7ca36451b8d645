"""``--runner beam``: the same tasks, checks and merges as an Apache Beam pipeline, and the same
report as the local engine (Beam's in-process runners; Dataflow, Flink and Spark run the same
pipeline)."""

from __future__ import annotations

import json
import os
import sys

import pytest

from tfod_doctor import api
from tfod_doctor.cli import main
from tfod_doctor.engine import execute, scan_plan
from tfod_doctor.engine import split as split_engine
from tfod_doctor.engine.work import WorkItem
from tfod_doctor.errors import UserError
from tfod_doctor.testing import make_dataset


@pytest.fixture(scope="module")
def beam():
    """Apache Beam; in CI a missing Beam fails instead of skipping."""
    try:
        import apache_beam
    except ImportError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Apache Beam is not installed ({exc}); pip install -e '.[test]'")
    return apache_beam


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Records written by TensorFlow, with a damaged payload and a truncated last record."""
    return make_dataset(tmp_path_factory.mktemp("beam"), ["bad_payload_crc", "truncated_payload"],
                        n_train=30, n_eval=6, train_shards=2, max_boxes_per_image=8, writer="tf")


def _json(report) -> str:
    return json.dumps(report.to_dict(), sort_keys=True)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``tfod-doctor ARGS`` as the console script does: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return exited.value.code, out, err


@pytest.mark.parametrize("runner", ["FnApiRunner", "BundleBasedDirectRunner"])
def test_beam_gives_the_local_report(beam, dataset, runner):
    plan = scan_plan(dataset.scan_inputs)
    local = _json(execute(plan, api.context(), workers=1))
    # Tiny pieces: every file is cut, so pieces are joined per file inside the pipeline.
    on_beam = execute(plan, api.context(), runner="beam", beam_options=f"--runner={runner}",
                      split_bytes=700)
    assert _json(on_beam) == local
    assert {"R004", "R005"} <= set(on_beam.rule_counts)


def test_beam_from_the_command_line(beam, dataset, tmp_path, capsys):
    code, local, _ = run_cli(capsys, "scan", *dataset.scan_inputs, "--workers", "1",
                             "--format", "json")
    temp = tmp_path / "beam-temp"
    temp.mkdir()
    beam_code, on_beam, _ = run_cli(capsys, "scan", *dataset.scan_inputs, "--runner", "beam",
                                    "--beam-options", f"--temp_location={temp}",
                                    "--format", "json")
    assert (code, beam_code) == (1, 1)
    assert json.loads(on_beam) == json.loads(local)
    assert list(temp.iterdir()) == []  # the pipeline's result was read back and removed


def test_beam_reads_again_a_file_whose_pieces_do_not_join(beam, dataset, monkeypatch):
    plan = scan_plan(dataset.scan_inputs)
    local = _json(execute(plan, api.context(), workers=1))
    real_cut = split_engine.cut

    def wrong_start(item, split_bytes):
        for piece in real_cut(item, split_bytes):
            start = piece.start + 1 if piece.start else 0
            yield WorkItem(piece.source, piece.role, start, piece.end, piece.first_index)

    monkeypatch.setattr(split_engine, "cut", wrong_start)
    on_beam = execute(plan, api.context(), runner="beam", split_bytes=900)
    assert _json(on_beam) == local


def test_a_failing_pipeline_is_a_clear_error(beam, dataset):
    with pytest.raises(UserError, match="Apache Beam pipeline failed"):
        execute(scan_plan(dataset.scan_inputs), api.context(), runner="beam",
                beam_options="--runner=NoSuchRunner")


def test_without_beam_installed_the_message_says_what_to_install(dataset, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "apache_beam", None)
    monkeypatch.delitem(sys.modules, "tfod_doctor.engine.beam", raising=False)
    code, _, err = run_cli(capsys, "scan", *dataset.scan_inputs, "--runner", "beam")
    assert code == 2
    assert "pip install 'tfod-doctor[beam]'" in err


def test_check_of_a_pipeline_config_on_beam(beam, dataset):
    """The config's own findings, its label map and both splits: the same report on Beam."""
    local = api.check(dataset.config_path, workers=1)
    on_beam = api.check(dataset.config_path, runner="beam")
    assert _json(on_beam) == _json(local)
    assert {f["role"] for f in on_beam.stats["files"]} == {"train", "eval"}
