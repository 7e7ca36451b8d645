"""One gathering of every box feeds the class counts, the per-class statistics and the anchor
sample; workers fold what they gathered before they send it; a run stays lean on start-up."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from tfod_doctor import api
from tfod_doctor.checks.base import RecordPlace
from tfod_doctor.checks.box_sample import MAX_BOXES, sample_of
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.checks.statistics import Statistics
from tfod_doctor.engine.local import run_task, worker_state
from tfod_doctor.model.coverage import _median
from tfod_doctor.records import FeatureView, Floats, Ints, encode_example
from tfod_doctor.testing import make_dataset

_SIDES = ("image/object/bbox/ymin", "image/object/bbox/xmin", "image/object/bbox/ymax",
          "image/object/bbox/xmax")


def _view(boxes: list[tuple[float, float, float, float]], labels: list[int]) -> FeatureView:
    features = {key: Floats([box[i] for box in boxes]) for i, key in enumerate(_SIDES)}
    features["image/object/class/label"] = Ints(labels)
    features["image/width"], features["image/height"] = Ints([200]), Ints([100])
    return FeatureView.from_payload(encode_example(features))


def test_a_record_with_fewer_labels_than_boxes_counts_its_labels_but_not_its_boxes():
    """The class counts take every label the decoder reads (as before); the per-class box
    statistics take only records with one class per box; the anchor sample keeps such boxes
    under ``?``."""
    aggregator, ctx = Statistics(), CheckContext(sample_boxes=True)
    state = aggregator.new()
    records = [_view([(0.1, 0.1, 0.5, 0.5), (0.2, 0.2, 0.4, 0.9)], [1, 2]),
               _view([(0.0, 0.0, 0.3, 0.3), (0.5, 0.5, 0.9, 0.9), (0.1, 0.6, 0.2, 0.7)], [1, 1]),
               _view([(0.3, 0.3, 0.6, 0.6)], [2])]
    for index, view in enumerate(records):
        aggregator.add(state, view, RecordPlace("f.tfrecord", index, 0, "train"), ctx)
    _, stats = aggregator.finish(state, ctx)
    assert {row["id"]: (row["boxes"], row["images"]) for row in stats["classes"]} == {
        1: (3, 2), 2: (2, 2)}
    per_class = {row["id"]: row["boxes"] for row in stats["class_stats"]["splits"]["train"]}
    assert per_class == {1: 1, 2: 2}
    sample = sample_of({"statistics": state})
    assert sorted(sample.classes.tolist()) == ["1", "2", "2", "?", "?", "?"]
    assert sample.class_totals == {(1, "1"): 1, (1, "2"): 2, (1, "?"): 3}


def test_a_worker_sends_its_boxes_folded(tmp_path):
    """What a worker sends holds counts, not lists of boxes: the parent only adds them up."""
    config = make_dataset(tmp_path, n_train=40, n_eval=8).config_path
    plan, ctx = api.check_plan(config)
    result = run_task(plan.items, worker_state(ctx))
    splits = result.whole.states["statistics"]["splits"]
    assert set(splits) == {"train", "eval"}
    for split in splits.values():
        assert split["queue"].boxes == 0 and not split["queue"].files
        assert not split["gathered"] and split["records"]
        parts = split["sample"]["parts"]
        assert len(parts) == 1 and 0 < len(parts[0]) <= MAX_BOXES


def test_a_check_imports_neither_numpy_ma_nor_numpy_random(tmp_path):
    """Each costs 20-40 ms at its first use, in every run of the command."""
    config = make_dataset(tmp_path, n_train=30, n_eval=6).config_path
    code = ("import sys, json; from tfod_doctor import api; "
            f"r = api.check({str(config)!r}, workers=1); "
            "print(json.dumps(['numpy.ma' in sys.modules, 'numpy.random' in sys.modules, "
            "bool(r.stats['model']['anchors'].get('boxes'))]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout
    assert json.loads(out.splitlines()[-1]) == [False, False, True]


def test_the_median_is_numpys():
    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 4, 11, 1000):
        values = rng.normal(size=n)
        assert _median(values) == float(np.median(values))
