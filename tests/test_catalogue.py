"""The rule catalogue: well-formed, documented, and every rule fires on its own defect."""

from __future__ import annotations

import json

import pytest

from tfod_doctor import catalogue
from tfod_doctor.api import scan
from tfod_doctor.testing import defect_names, make_dataset

RULES = catalogue.all_rules()


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
def test_rule_fires_on_its_defect_and_where_it_was_planted(rule, tmp_path):
    dataset = make_dataset(tmp_path, [rule.defect], train_shards=3)
    report = scan(**dataset.scan_args())
    found = report.by_rule(rule.id)
    assert found, f"{rule.id} did not fire on defect {rule.defect}: {report.rule_counts}"
    for planted in dataset.planted_for(rule.defect):
        if planted.file is None:
            continue
        matches = [f for f in found if _mentions(f, planted.file)]
        assert matches, f"{rule.id} fired elsewhere than {planted.file}: {found}"
        if planted.record is not None:
            assert planted.record in {f.location.record for f in matches}


def test_clean_dataset_fires_nothing(tmp_path):
    dataset = make_dataset(tmp_path, varied=True, n_train=40, n_eval=10, negative_rate=0.2)
    report = scan(dataset.scan_inputs)
    assert report.rule_counts == {}
