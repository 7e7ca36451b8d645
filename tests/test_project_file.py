"""The project file ([tool.tfod-doctor] / tfod-doctor.toml) and the baseline, through the CLI."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from convert_helpers import run_cli

from tfod_doctor import catalogue
from tfod_doctor.engine import execute
from tfod_doctor.findings import Severity
from tfod_doctor.testing import make_dataset


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A team's repository: the dataset under data/ds, run from the repository's root."""
    monkeypatch.chdir(tmp_path)
    dataset = make_dataset(Path("data/ds"), ["inverted_box", "label_zero"], n_train=16,
                           n_eval=4)
    return dataset


def _json(args: list[str], capsys) -> tuple[int, dict, str]:
    code, out, err = run_cli([*args, "--format", "json"], capsys)
    return code, json.loads(out), err


def test_found_by_walking_up_from_the_config_and_overridden_by_flags(project, capsys):
    config = str(project.config_path)
    code, report, _ = _json(["check", config], capsys)
    assert {"B006", "L001"} <= set(report["rule_counts"]) and code == 1

    # Two folders above the config, as a repository root holds it.
    Path("tfod-doctor.toml").write_text('ignore = ["B006"]\nfail-on = "error"\n')
    code, report, _ = _json(["check", config], capsys)
    assert "B006" not in report["rule_counts"] and "L001" in report["rule_counts"]
    assert code == 0  # L001 is data loss, below the file's fail-on

    code, report, _ = _json(["check", config, "--fail-on", "data-loss"], capsys)
    assert code == 1  # the flag wins
    code, report, _ = _json(["check", config, "--ignore", "L001"], capsys)
    assert not {"B006", "L001"} & set(report["rule_counts"])  # --ignore adds to the file's
    code, report, _ = _json(["check", config, "--select", "B"], capsys)
    assert "B006" not in report["rule_counts"]  # the file's ignore still holds
    code, report, _ = _json(["check", config, "--isolated"], capsys)
    assert "B006" in report["rule_counts"] and code == 1


def test_tfod_doctor_toml_wins_over_pyproject_and_a_pyproject_without_the_table_is_skipped(
        project, capsys):
    config = str(project.config_path)
    Path("pyproject.toml").write_text('[tool.tfod-doctor]\nignore = ["L001"]\n')
    Path("data/pyproject.toml").write_text('[project]\nname = "x"\n')
    _, report, _ = _json(["check", config], capsys)
    assert "L001" not in report["rule_counts"] and "B006" in report["rule_counts"]
    Path("data/tfod-doctor.toml").write_text('ignore = ["B006"]\n')
    _, report, _ = _json(["check", config], capsys)
    assert "B006" not in report["rule_counts"] and "L001" in report["rule_counts"]


def test_config_file_names_one(project, tmp_path, capsys):
    elsewhere = tmp_path / "team.toml"
    elsewhere.write_text('[severity]\nL001 = "info"\nB006 = "info"\n')
    code, report, _ = _json(["check", str(project.config_path), "--config-file",
                             str(elsewhere)], capsys)
    levels = {f["rule"]: f["severity"] for f in report["findings"]}
    assert levels["L001"] == "info" and levels["B006"] == "info"
    assert report["summary"]["data-loss"] == 0
    code, _, err = run_cli(["check", str(project.config_path), "--config-file", "nope.toml"],
                           capsys)
    assert code == 2 and "nope.toml" in err


def test_severity_override_sets_the_exit_code(project, capsys):
    config = str(project.config_path)
    Path("tfod-doctor.toml").write_text(
        '[severity]\ninverted-box = "info"\nL001 = "info"\nC013 = "warning"\n')
    code, report, _ = _json(["check", config, "--select", "B006,L001"], capsys)
    assert code == 0 and set(report["rule_counts"]) == {"B006", "L001"}
    assert {f["severity"] for f in report["findings"]} == {"info"}


def test_per_file_ignores_by_glob(project, capsys):
    config = str(project.config_path)
    planted = {p.file for p in project.planted_for("inverted_box")}
    assert len(planted) == 1
    shard = Path(next(iter(planted))).name
    Path("tfod-doctor.toml").write_text(
        f'[per-file-ignores]\n"data/ds/data/{shard}" = ["boxes"]\n"*.pbtxt" = ["M"]\n')
    _, report, _ = _json(["check", config], capsys)
    assert "B006" not in report["rule_counts"] and "L001" in report["rule_counts"]
    assert report["stats"]["left_out"]["per-file-ignores"] >= 1


@pytest.mark.parametrize(("text", "line", "says"), [
    ('select = ["B"]\n\nselct = ["C"]\n', 3, "unknown key 'selct' (did you mean 'select'?)"),
    ('[tool.tfod-doctor]\nfail-on = "fatal"\n', 2, "fail-on"),
    ('[severity]\nB999 = "error"\n', 2, "no rule 'B999'"),
    ('ignore = ["Q"]\n', 1, "no rule matches 'Q'"),
    ('[per-file-ignores]\n"*.tfrecord" = "B00X"\n', 2, "no rule matches 'B00X'"),
    ('select = [\n', None, "not valid TOML"),
])
def test_errors_name_the_file_and_line(project, capsys, text, line, says):
    Path("tfod-doctor.toml").write_text(text)
    code, out, err = run_cli(["check", str(project.config_path)], capsys)
    assert code == 2 and "Traceback" not in out + err
    where = "tfod-doctor.toml" + (f":{line}:" if line else ":")
    assert where in err and says in err


def test_pyproject_errors_point_into_the_table(project, capsys):
    Path("pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.tfod-doctor]\n'
                                      'selekt = ["B"]\n')
    code, _, err = run_cli(["check", str(project.config_path)], capsys)
    assert code == 2 and "pyproject.toml:5: unknown key 'selekt'" in err


def test_baseline_survives_resharding_and_reports_exactly_the_new_defect(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    make_dataset(Path("ds"), ["inverted_box"], n_train=20, n_eval=5, train_shards=2)
    code, first, err = _json(["check", "ds/pipeline.config", "--baseline", "base.json"], capsys)
    assert code == 1 and "B006" in first["rule_counts"]
    assert "baseline written to base.json" in err
    accepted = json.loads(Path("base.json").read_text())["findings"]
    assert len(accepted) == sum(first["rule_counts"].values())
    assert any(entry["where"].startswith("source_id:") for entry in accepted.values())

    # The same data written again into three shards, with one new defect planted.
    for path in Path("ds").rglob("*"):
        if path.is_file():
            path.unlink()
    make_dataset(Path("ds"), ["inverted_box", "zero_area_box"], n_train=20, n_eval=5,
                 train_shards=3)
    code, again, err = _json(["check", "ds/pipeline.config", "--baseline", "base.json"],
                             capsys)
    assert again["rule_counts"] == {"B007": 1}
    assert again["stats"]["left_out"]["baseline"] == len(accepted)
    assert "accepted finding(s) left out" in err
    assert json.loads(Path("base.json").read_text())["findings"] == accepted  # not rewritten


def test_baseline_is_the_same_whatever_the_workers(tmp_path, monkeypatch):
    from tfod_doctor import api

    monkeypatch.chdir(tmp_path)
    make_dataset(Path("ds"), ["inverted_box", "nan_box", "label_zero"], n_train=30)
    marks = []
    for workers, split_bytes in ((1, None), (2, 600)):
        plan, ctx = api.check_plan("ds/pipeline.config", baseline=f"b{workers}.json")
        report = execute(plan, ctx, workers=workers, split_bytes=split_bytes)
        api.save_baseline(report, ctx, f"b{workers}.json")
        marks.append(json.loads(Path(f"b{workers}.json").read_text()))
    assert marks[0] == marks[1] and marks[0]["findings"]


@pytest.mark.parametrize("content", ["not json", '{"format": "other"}', "[]"])
def test_a_file_that_is_no_baseline_is_refused(project, capsys, content):
    Path("base.json").write_text(content)
    code, out, err = run_cli(["check", str(project.config_path), "--baseline", "base.json"],
                             capsys)
    assert code == 2 and "not a tfod-doctor baseline" in err and "Traceback" not in out + err
    assert Path("base.json").read_text() == content


def test_scan_takes_the_project_file_from_the_working_folder(project, capsys):
    Path("tfod-doctor.toml").write_text('ignore = ["L001", "F007"]\n')
    files = sorted(str(p) for p in Path("data/ds/data").glob("*.tfrecord"))
    _, report, _ = _json(["scan", *files], capsys)
    assert "L001" not in report["rule_counts"] and "B006" in report["rule_counts"]
    _, report, _ = _json(["scan", *files, "--isolated"], capsys)
    assert "L001" in report["rule_counts"]
    assert os.path.exists("tfod-doctor.toml")


def _documented_actions_step() -> list[list[str]]:
    """The ``tfod-doctor`` commands of the README's GitHub Actions step."""
    import shlex

    import yaml

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("**GitHub Actions**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    steps = yaml.safe_load(block)
    assert any("upload-sarif" in step.get("uses", "") for step in steps)
    return [shlex.split(step["run"]) for step in steps
            if step.get("run", "").startswith("tfod-doctor ")]


def test_the_documented_github_actions_step_adopts_a_dataset_then_reports_what_is_new(
        tmp_path, monkeypatch, capsys):
    """The README's step, run twice in a repository: the first run writes the baseline and a
    SARIF file of every finding; after a new defect, the SARIF holds only the new one."""
    import jsonschema

    commands = _documented_actions_step()
    assert len(commands) == 1 and commands[0][:2] == ["tfod-doctor", "check"]
    monkeypatch.chdir(tmp_path)
    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())

    def run_step() -> tuple[int, dict]:
        code, _, _ = run_cli(commands[0][1:], capsys)
        sarif = json.loads(Path("tfod-doctor.sarif").read_text())
        jsonschema.validate(sarif, schema)
        return code, sarif

    make_dataset(Path("."), ["inverted_box"], n_train=20, n_eval=5)
    code, sarif = run_step()
    first = {result["ruleId"] for result in sarif["runs"][0]["results"]}
    assert code == 1 and "B006" in first and Path("tfod-baseline.json").is_file()

    shutil.rmtree("data")  # the same data written anew into three shards, one new defect
    make_dataset(Path("."), ["inverted_box", "zero_area_box"], n_train=20, n_eval=5,
                 train_shards=3)
    code, sarif = run_step()
    assert [result["ruleId"] for result in sarif["runs"][0]["results"]] == ["B007"]
    # Only the new finding counts for the exit code (a zero-area box is a warning).
    assert code == (1 if catalogue.get("B007").severity >= Severity.DATA_LOSS else 0)


def test_the_tiny_box_size_comes_from_the_project_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    make_dataset(Path("ds"), n_train=8, n_eval=2)  # 64x48 images, sides of 0.1 and more
    _, report, _ = _json(["check", "ds/pipeline.config"], capsys)
    assert "B008" not in report["rule_counts"]
    Path("tfod-doctor.toml").write_text("[thresholds]\ntiny-box-pixels = 40\n")
    _, report, _ = _json(["check", "ds/pipeline.config"], capsys)
    tiny = [f for f in report["findings"] if f["rule"] == "B008"]
    assert tiny and "smaller than 40 pixels" in tiny[0]["message"]
    shares = [row["tiny"] for row in report["stats"]["class_stats"]["splits"]["train"]]
    assert sum(shares) > 0
