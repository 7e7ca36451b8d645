"""Statistics per class and split (boxes, images, median box side and shape, tiny and border
shares), their table, JSON and plot, D018 (boxes far from their class's usual size) and D019
(far from its usual shape)."""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from tfod_doctor import api
from tfod_doctor.cli import main
from tfod_doctor.engine import execute
from tfod_doctor.records import encode_example, frame
from tfod_doctor.testing import make_dataset
from tfod_doctor.testing.images import make_image
from tfod_doctor.testing.samples import Box, Sample

#: The histogram's median is the middle of a bin an eighth of an octave wide.
BIN_TOLERANCE = 1 / 16


def _write(path: Path, records: list[tuple[int, int, list[Box]]]) -> Path:
    """A record file: per record an image of ``width x height`` with its boxes."""
    payloads = []
    for index, (width, height, boxes) in enumerate(records):
        sample = Sample(make_image(width, height, "jpeg", seed=index), width, height, "jpeg",
                        f"{path.stem}-{index}.jpg", f"{path.stem}-{index}", boxes)
        payloads.append(encode_example(sample.features()))
    path.write_bytes(b"".join(frame(payload) for payload in payloads))
    return path


def _cat(ymin: float, xmin: float, ymax: float, xmax: float) -> Box:
    return Box(ymin, xmin, ymax, xmax, 1, "cat")


def _dog(ymin: float, xmin: float, ymax: float, xmax: float) -> Box:
    return Box(ymin, xmin, ymax, xmax, 2, "dog")


@pytest.fixture
def small(tmp_path):
    """Train: two 100x50 images; eval: one 200x100 image (sides in pixels in the comments)."""
    train = _write(tmp_path / "train.tfrecord", [
        (100, 50, [_cat(0.0, 0.0, 0.2, 0.2),        # 20x10 px, at the border
                   _cat(0.4, 0.4, 0.5, 0.5),        # 10x5 px
                   _dog(0.5, 0.5, 0.52, 0.6)]),     # 10x1 px: tiny
        (100, 50, [_cat(0.2, 0.2, 0.6, 0.6),        # 40x20 px
                   _dog(0.1, 0.1, 0.5, 0.999)]),    # at the border (xmax)
    ])
    evals = _write(tmp_path / "eval.tfrecord", [(200, 100, [_cat(0.25, 0.25, 0.75, 0.75)])])
    return train, evals


def _rows(stats: dict) -> dict[tuple[str, str], dict]:
    return {(split, row["id"]): row
            for split, rows in stats["class_stats"]["splits"].items() for row in rows}


def _near(median: float, exact: float) -> bool:
    """Within half a bin (and the rounding to two decimals of the report)."""
    return abs(math.log2(median / exact)) <= BIN_TOLERANCE + 0.005


def test_per_class_statistics_per_split_match_the_boxes(small):
    train, evals = small
    rows = _rows(api.scan([train], eval_inputs=[evals]).stats)
    assert set(rows) == {("train", 1), ("train", 2), ("eval", 1)}
    cat, dog, eval_cat = rows["train", 1], rows["train", 2], rows["eval", 1]
    assert (cat["boxes"], cat["images"], cat["tiny"], cat["border"]) == (3, 2, 0, 1)
    assert _near(cat["median_side_px"], math.sqrt(20 * 10))  # of 200, 50 and 800 px²
    assert (dog["boxes"], dog["images"], dog["tiny"], dog["border"]) == (2, 2, 1, 1)
    assert (eval_cat["boxes"], eval_cat["images"], eval_cat["tiny"]) == (1, 1, 0)
    assert _near(eval_cat["median_side_px"], math.sqrt(100 * 50))
    assert sum(cat["sides"]) == 3 and cat["unsized"] == 0
    # Every cat box of train is twice as wide as tall in pixels; the eval cat too. The dogs:
    # 10x1 and 89.9x20 px.
    assert _near(cat["median_aspect"], 2.0) and _near(eval_cat["median_aspect"], 2.0)
    assert all(_near(aspect, 2.0) for aspect in cat["aspect_quantiles"])
    low, *_, high = dog["aspect_quantiles"]
    assert _near(low, 89.9 / 20) and _near(high, 10.0)


def test_workers_and_splits_of_files_give_the_same_statistics(tmp_path):
    dataset = make_dataset(tmp_path, varied=True, n_train=60, n_eval=20,
                           defects=["box_size_outlier", "box_shape_outlier"])
    plan, ctx = api.check_plan(dataset.config_path)
    one = execute(plan, ctx, workers=1)
    plan, ctx = api.check_plan(dataset.config_path)
    two = execute(plan, ctx, workers=2, split_bytes=600)
    assert one.stats["class_stats"] == two.stats["class_stats"]
    for rule in ("D018", "D019"):
        assert one.by_rule(rule) and ([f.to_dict() for f in one.by_rule(rule)]
                                      == [f.to_dict() for f in two.by_rule(rule)])


def _many_cats(tmp_path: Path, odd: Box | None) -> Path:
    """30 records of a 100x100 image with a 10x10-pixel cat; record 17's is ``odd``."""
    records = [(100, 100, [odd if i == 17 and odd else _cat(0.3, 0.3, 0.4, 0.4)])
               for i in range(30)]
    return _write(tmp_path / "train.tfrecord", records)


@pytest.mark.parametrize("odd", [_cat(0.0, 0.0, 0.9, 0.9),      # 81x the area
                                 _cat(0.3, 0.3, 0.3095, 0.3095)])  # under 1/100 of it
def test_d018_points_at_the_box_far_from_its_class_size(tmp_path, odd):
    train = _many_cats(tmp_path, odd)
    found = api.scan([train]).by_rule("D018")
    assert [(f.location.file, f.location.record) for f in found] == [(str(train), 17)]
    assert "class 1 " in found[0].message and found[0].evidence["box_index"] == 0


def test_d018_is_quiet_within_the_limits_and_on_small_classes(tmp_path):
    assert api.scan([_many_cats(tmp_path, _cat(0.2, 0.2, 0.5, 0.5))]).by_rule("D018") == []
    few = _write(tmp_path / "few.tfrecord", [(100, 100, [_cat(0.3, 0.3, 0.4, 0.4)])] * 5
                 + [(100, 100, [_cat(0.0, 0.0, 1.0, 1.0)])])
    assert api.scan([few]).by_rule("D018") == []


def test_d018_is_quiet_on_a_clean_varied_dataset(tmp_path):
    dataset = make_dataset(tmp_path, varied=True, n_train=400, n_eval=40)
    plan, ctx = api.check_plan(dataset.config_path)
    assert execute(plan, ctx, workers=1).by_rule("D018") == []


def _check(config: Path, *args: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(["check", str(config), "--workers", "1", *args])
    return exited.value.code


def test_check_prints_the_class_table_and_writes_it_to_json_and_html(tmp_path, capsys):
    dataset = make_dataset(tmp_path, n_train=12, n_eval=4)
    _check(dataset.config_path)
    out = capsys.readouterr().out
    table = out[out.index("Classes (train | eval)"):]
    assert "median px" in table and "border" in table
    assert all(f"{i} {name}" in table for i, name in enumerate(dataset.classes, 1))
    _check(dataset.config_path, "--format", "json", "--output", str(tmp_path / "r.json"))
    stats = json.loads((tmp_path / "r.json").read_text())["stats"]
    assert set(stats["class_stats"]["splits"]) == {"train", "eval"}
    _check(dataset.config_path, "--format", "html", "--output", str(tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text()
    assert "Box sizes per class" in page and "Box shapes per class" in page


def test_many_classes_are_tabled_only_with_verbose(tmp_path):
    """Past 20 classes the default output says how many there are; --verbose lists them."""
    from tfod_doctor import report as reports
    from tfod_doctor.report import RenderOptions

    cats = [(100, 100, [Box(0.1, 0.1, 0.3, 0.3, label, f"c{label}")]) for label in range(1, 26)]
    report = api.scan([_write(tmp_path / "many.tfrecord", cats)])
    short = reports.render(report, "text", RenderOptions(command="scan"))
    assert "25 classes: --verbose shows" in short and "median px" not in short
    full = reports.render(report, "text", RenderOptions(command="scan", verbose=True))
    assert "median px" in full and all(f"\n{label} " in full for label in range(1, 26))


def test_the_d018_limit_comes_from_the_project_file(tmp_path):
    # 9x the class's area: quiet at the default 10, an outlier at 5.
    train = _many_cats(tmp_path, _cat(0.2, 0.2, 0.5, 0.5))
    assert api.scan([train]).by_rule("D018") == []
    (tmp_path / "tfod-doctor.toml").write_text("[thresholds]\noutlier-factor = 5\n")
    found = api.scan([train], project=api.project_settings(tmp_path)).by_rule("D018")
    assert [f.location.record for f in found] == [17]


# -- D019: box shapes ------------------------------------------------------------------------


def _many_people(tmp_path: Path, odd: Box | None, n: int = 30) -> Path:
    """``n`` records of a 100x100 image with a person 10 px wide and 25 px tall (1:2.5), but
    for the box of record 17, ``odd``."""
    person = Box(0.3, 0.3, 0.55, 0.4, 1, "person")
    records = [(100, 100, [odd if i == 17 and odd else person]) for i in range(n)]
    return _write(tmp_path / "train.tfrecord", records)


@pytest.mark.parametrize(("odd", "what"), [
    (Box(0.3, 0.3, 0.4, 0.55, 1, "person"), "2.5:1 (width:height in pixels), 6x wider"),
    (Box(0.1, 0.3, 0.9, 0.32, 1, "person"), "1:40 (width:height in pixels), 16x taller"),
], ids=["x and y swapped", "a thin sliver"])
def test_d019_points_at_the_box_far_from_its_class_shape(tmp_path, odd, what):
    train = _many_people(tmp_path, odd)
    report = api.scan([train])
    (found,) = report.by_rule("D019")
    assert (found.location.file, found.location.record) == (str(train), 17)
    assert what in found.message and "median shape (1:2.5)" in found.message
    assert found.evidence["box_index"] == 0 and found.evidence["median_aspect"] == pytest.approx(
        0.4, rel=0.05)
    # Its area is near the class's usual one (250 and 160 px² against 250): no D018.
    assert report.by_rule("D018") == []


def test_d019_leaves_boxes_cut_by_the_image_edge(tmp_path):
    """A person cut by the left edge of the photo is a sliver of any shape: not judged (the
    same sliver inside the image is, in the test above)."""
    at_the_edge = Box(0.1, 0.0, 0.9, 0.02, 1, "person")
    assert api.scan([_many_people(tmp_path, at_the_edge)]).by_rule("D019") == []


def test_d019_is_quiet_within_the_limits_on_small_classes_and_on_varied_shapes(tmp_path):
    # 1:1 against 1:2.5: 2.5x wider, under the default 5.
    square = Box(0.3, 0.3, 0.45, 0.45, 1, "person")
    assert api.scan([_many_people(tmp_path, square)]).by_rule("D019") == []
    swapped = Box(0.3, 0.3, 0.4, 0.55, 1, "person")
    assert api.scan([_many_people(tmp_path, swapped, n=19)]).by_rule("D019") == []
    # Boxes of every shape from 1:6 to 6:1: a 7:1 box is within the class's spread.
    varied = [(100, 100, [Box(0.1, 0.1, 0.1 + h / 100, 0.1 + w / 100, 1, "sign")])
              for w, h in [(10 + 2 * i, 60 - 2 * i) for i in range(26)]
              + [(60 - 2 * i, 10 + 2 * i) for i in range(26)]]
    odd = [(100, 100, [Box(0.1, 0.1, 0.18, 0.66, 1, "sign")])]  # 56x8 px: 7:1
    assert api.scan([_write(tmp_path / "signs.tfrecord", varied + odd)]).by_rule("D019") == []


def test_the_d019_limit_comes_from_the_project_file(tmp_path):
    square = Box(0.3, 0.3, 0.45, 0.45, 1, "person")  # 2.5x wider than the class
    train = _many_people(tmp_path, square)
    (tmp_path / "tfod-doctor.toml").write_text("[thresholds]\nshape-factor = 2\n")
    found = api.scan([train], project=api.project_settings(tmp_path)).by_rule("D019")
    assert [f.location.record for f in found] == [17]
    (tmp_path / "tfod-doctor.toml").write_text("[thresholds]\n\nshape-factor = 0.5\n")
    with pytest.raises(api.UserError, match=r"tfod-doctor.toml:3: shape-factor must be a number "
                                            r"of at least 1, not 0.5"):
        api.project_settings(tmp_path)


def test_d019_is_quiet_on_a_clean_varied_dataset(tmp_path):
    dataset = make_dataset(tmp_path, varied=True, n_train=400, n_eval=40)
    plan, ctx = api.check_plan(dataset.config_path)
    assert execute(plan, ctx, workers=1).by_rule("D019") == []


def test_absurd_boxes_give_short_messages_and_no_numpy_warning(tmp_path):
    """Boxes of a float32's smallest and largest extents: the outlier messages say their sizes
    and ratios in a few digits, and numpy warns of nothing (no overflow, no log of zero). (The
    first two touch the image's edge, which D019 leaves.)"""
    person = Box(0.3, 0.3, 0.55, 0.4, 1, "person")
    above = float(np.nextafter(np.float32(0.1), np.float32(1)))  # the next float32 up
    absurd = [Box(0.0, 0.0, 1.4e-45, 1.0, 1, "person"), Box(0.0, -3.0e38, 1.0, 3.0e38, 1,
                                                              "person"),
              Box(0.1, 0.1, above, 0.9, 1, "person")]  # 80 px wide, 7e-7 px high
    train = _write(tmp_path / "train.tfrecord", [(100, 100, [person])] * 25
                   + [(100, 100, [box]) for box in absurd])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = api.scan([train])
    found = report.by_rule("D018") + report.by_rule("D019")
    assert {f.rule for f in found} == {"D018", "D019"}
    for finding in found:
        assert re.search(r"\d\.?\d?e[+-]\d+", finding.message), finding.message
        assert not re.search(r"\d{8}", finding.message), finding.message
