"""The rule catalogue: well-formed, documented, and every rule fires on its own defect.

Each rule's defect is planted in a generated dataset and the dataset is checked as a user would:
``tfod_doctor.check(pipeline.config)`` (config, label map and every record file together), or
``scan`` for the defects that are about what a user names on the command line.
"""

from __future__ import annotations

import json

import pytest

from tfod_doctor import catalogue
from tfod_doctor.api import check, scan
from tfod_doctor.config import witness
from tfod_doctor.findings import Severity
from tfod_doctor.testing import defect_names, make_dataset
from tfod_doctor.testing.protos import fake_od_api

RULES = catalogue.all_rules()
#: Rules that need something besides the dataset: an installed OD API older than the config.
OLD_API = {"C007": {"TrainConfig": {"fine_tune_checkpoint_version"}}}


def _mentions(finding, path: str) -> bool:
    """Whether a finding points at ``path``: its location, or a file named in its evidence."""
    return finding.location.file == path or path in json.dumps(finding.evidence)


def test_ids_are_unique_and_well_formed():
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.id[0] in catalogue.FAMILIES
        assert rule.name == rule.name.lower() and " " not in rule.name


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_is_documented(rule):
    for text in (rule.summary, rule.why, rule.fix, rule.example):
        assert text.strip(), f"{rule.id} lacks documentation"
    assert rule.defect in defect_names(), f"{rule.id} names no known defect: {rule.defect}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_fires_on_its_defect_and_where_it_was_planted(rule, tmp_path, monkeypatch):
    if rule.id in OLD_API:
        api = fake_od_api(OLD_API[rule.id])
        monkeypatch.setattr(witness, "installed_api", lambda: api)
    dataset = make_dataset(tmp_path, [rule.defect], train_shards=3)
    # Defects of the inputs named on the command line are scan's; everything else is check's.
    report = (scan(**dataset.scan_args()) if dataset.extra_inputs
              else check(dataset.config_path, **dataset.check_options))
    found = report.by_rule(rule.id)
    assert found, f"{rule.id} did not fire on defect {rule.defect}: {report.rule_counts}"
    for planted in dataset.planted_for(rule.defect):
        if planted.file is None:
            continue
        matches = [f for f in found if _mentions(f, planted.file)]
        assert matches, f"{rule.id} fired elsewhere than {planted.file}: {found}"
        if planted.record is not None:
            assert planted.record in {f.location.record for f in matches}
        if planted.line is not None:
            assert planted.line in {f.location.line for f in matches}, (
                f"{rule.id} fired at lines {[f.location.line for f in matches]}, "
                f"planted at {planted.line}")


@pytest.mark.parametrize("arch", ["ssd", "faster_rcnn", "center_net"])
def test_clean_dataset_reports_nothing_at_warning_or_above(arch, tmp_path):
    dataset = make_dataset(tmp_path, varied=True, n_train=40, n_eval=10, negative_rate=0.2,
                           arch=arch)
    report = check(dataset.config_path)
    loud = [f for f in report if f.severity >= Severity.WARNING]
    assert loud == []
    assert report.stats["config"]["arch"] == arch
    assert report.stats["totals"]["records"] == 50


def test_clean_record_files_scan_clean(tmp_path):
    dataset = make_dataset(tmp_path, varied=True, n_train=40, n_eval=10, negative_rate=0.2)
    assert scan(dataset.scan_inputs).rule_counts == {}


def test_every_rule_id_is_one_the_json_report_schema_allows():
    import re
    from pathlib import Path

    import tfod_doctor.report

    schema = json.loads((Path(tfod_doctor.report.__file__).parent / "report.schema.json")
                        .read_text())
    pattern = re.compile(schema["$defs"]["rule_id"]["pattern"])
    assert [rule.id for rule in RULES if not pattern.match(rule.id)] == []
