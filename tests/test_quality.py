"""The quality rules (D008-D016): the skew distances against hand-computed values, and quiet on
clean data."""

from __future__ import annotations

import json
import math

import pytest
from convert_helpers import run_cli

from tfod_doctor.checks.quality import jensen_shannon, linf, split_distances

QUALITY_RULES = {f"D{n:03d}" for n in range(8, 20)}


def test_l_infinity_is_the_largest_gap_between_shares():
    # train: 3/4 cat, 1/4 dog; eval: 1/4 cat, 1/2 dog, 1/4 fox.
    assert linf({"cat": 30, "dog": 10}, {"cat": 5, "dog": 10, "fox": 5}) == pytest.approx(0.5)
    assert linf({"a": 1}, {"a": 7}) == 0.0
    assert linf({"a": 1}, {"b": 1}) == 1.0


def test_jensen_shannon_by_hand():
    # p = (1/2, 1/2, 0), q = (0, 1/2, 1/2): m = (1/4, 1/2, 1/4);
    # KL(p||m) = 1/2 log2(2) + 1/2 log2(1) = 1/2, KL(q||m) = 1/2: JS = 1/2.
    assert jensen_shannon([5, 5, 0], [0, 3, 3]) == pytest.approx(0.5)
    assert jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)
    assert jensen_shannon([2, 4, 6], [1, 2, 3]) == pytest.approx(0.0)
    # p = (3/4, 1/4), q = (1/4, 3/4): m = (1/2, 1/2); JS = 3/4 log2(3/2) + 1/4 log2(1/2).
    expected = 0.75 * math.log2(1.5) + 0.25 * math.log2(0.5)
    assert jensen_shannon([3, 1], [1, 3]) == pytest.approx(expected)


def test_split_distances_measure_each_feature_and_its_chance_level():
    train = {"records": 400, "boxes": 800,
             "classes": [{"id": 1, "name": "cat", "boxes": 600}, {"id": 2, "name": "dog",
                                                                  "boxes": 200}],
             "image_sizes": {"640x480": 400},
             "boxes_per_image": {"1": 100, "2": 200, "3": 100},
             "box_sizes": {"counts": [0, 400, 400, 0]},
             "box_aspect": {"counts": [0, 800, 0, 0]}}
    other = {"records": 100, "boxes": 200,
             "classes": [{"id": 1, "name": "cat", "boxes": 50}, {"id": 2, "name": "dog",
                                                                 "boxes": 150}],
             "image_sizes": {"640x480": 100},
             "boxes_per_image": {"2": 100},
             "box_sizes": {"counts": [0, 0, 0, 200]},
             "box_aspect": {"counts": [0, 200, 0, 0]}}
    found = split_distances(train, other)
    assert found["classes"]["distance"] == pytest.approx(0.5)  # 3/4 vs 1/4
    assert found["image_sizes"]["distance"] == 0.0
    assert found["box_sizes"]["distance"] == pytest.approx(1.0)  # disjoint bins
    assert found["box_aspect"]["distance"] == 0.0
    # Boxes per image in power-of-two bins: train (0, 1/4, 3/4), eval (0, 0, 1).
    p, q = [0.25, 0.75], [0.0, 1.0]
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    kl = sum(a * math.log2(a / b) for a, b in zip(p, m, strict=True) if a)
    kl += sum(a * math.log2(a / b) for a, b in zip(q, m, strict=True) if a)
    assert found["boxes_per_image"]["distance"] == pytest.approx(kl / 2, abs=1e-4)
    # The chance level shrinks as the splits grow.
    bigger = split_distances({**train, "boxes": 8000}, {**other, "boxes": 2000})
    assert bigger["classes"]["noise"] < found["classes"]["noise"]


def test_the_demo_datasets_raise_no_quality_finding(tmp_path, capsys):
    _, out, _ = run_cli(["demo", str(tmp_path / "demo"), "--format", "json"], capsys)

    broken = json.loads(out)
    assert broken["stats"]["totals"]["records"] > 20
    # Only D018, and only at the record whose boxes were written in pixels (B005): "pixels
    # in one record" is one of the causes it names.
    assert QUALITY_RULES & set(broken["rule_counts"]) <= {"D018"}, broken["rule_counts"]

    def places(rule: str) -> set[tuple]:
        return {(f["location"]["file"], f["location"]["record"])
                for f in broken["findings"] if f["rule"] == rule}

    assert places("D018") <= places("B005")
    from tfod_doctor import api

    clean = api.check(tmp_path / "demo" / "clean" / "pipeline.config")
    assert clean.stats["totals"]["records"] == 32 and "by_split" in clean.stats
    assert not QUALITY_RULES & set(clean.rule_counts), clean.rule_counts
