"""The box size and aspect histograms: binned in bulk, they equal the per-box formulas exactly."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tfod_doctor.checks.base import RecordPlace
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.checks.statistics import ASPECT_RANGE, BINS, Statistics
from tfod_doctor.records import FeatureView, Floats, Ints, encode_example

_COORDINATE = st.one_of(
    st.floats(width=32, allow_nan=True, allow_infinity=True),
    st.floats(min_value=0.0, max_value=1.0, width=32),
    st.sampled_from([0.0, 1.0, 0.5, 1e-7, 0.999999]),
)
_BOX = st.tuples(_COORDINATE, _COORDINATE, _COORDINATE, _COORDINATE)
_SIZE = st.one_of(st.none(), st.tuples(st.integers(1, 8000), st.integers(1, 8000)),
                  st.tuples(st.integers(-3, 8000), st.integers(-3, 8000)))
_RECORD = st.tuples(st.lists(_BOX, min_size=1, max_size=12), _SIZE)


def _view(boxes: list[tuple[float, ...]], size: tuple[int, int] | None) -> FeatureView:
    features = {key: Floats([box[i] for box in boxes]) for i, key in enumerate(
        ("image/object/bbox/ymin", "image/object/bbox/xmin", "image/object/bbox/ymax",
         "image/object/bbox/xmax"))}
    features["image/object/class/label"] = Ints([1] * len(boxes))
    if size is not None:
        features["image/width"], features["image/height"] = Ints([size[0]]), Ints([size[1]])
    return FeatureView.from_payload(encode_example(features))


def _expected(views: list[FeatureView]) -> tuple[list[int], list[int]]:
    """The histograms box by box, as the formulas in the statistics module docstring say."""
    sizes, aspects = [0] * BINS, [0] * BINS
    for view in views:
        width, height = view.first_int("image/width"), view.first_int("image/height")
        if width is None or height is None or width <= 0 or height <= 0:
            width, height = 1, 1  # no pixel aspect without a real image size
        sides = [view.floats(key) for key in ("image/object/bbox/ymin", "image/object/bbox/xmin",
                                               "image/object/bbox/ymax", "image/object/bbox/xmax")]
        for ymin, xmin, ymax, xmax in zip(*sides, strict=True):
            dy, dx = ymax - ymin, xmax - xmin
            if not (math.isfinite(dy) and math.isfinite(dx)):
                continue
            if dy > 0 and dx > 0:
                sizes[min(int(min(math.sqrt(dy * dx), 1.0) * BINS), BINS - 1)] += 1
                ratio = min(max(math.log2((dx * width) / (dy * height)), -ASPECT_RANGE),
                            ASPECT_RANGE)
                aspects[min(int((ratio + ASPECT_RANGE) / (2 * ASPECT_RANGE) * BINS),
                            BINS - 1)] += 1
            else:
                sizes[0] += 1
    return sizes, aspects


@settings(max_examples=60, deadline=None)
@given(st.lists(_RECORD, min_size=1, max_size=20), st.integers(0, 20))
def test_bulk_bins_equal_per_box_formulas_whatever_the_split(records, cut):
    views = [_view(boxes, size) for boxes, size in records]
    stats, ctx = Statistics(), CheckContext()
    left, right = stats.new(), stats.new()
    for i, view in enumerate(views):
        stats.add(left if i < cut else right, view, RecordPlace("f", i, 0), ctx)
    _, result = stats.finish(stats.merge(left, right), ctx)
    sizes, aspects = _expected(views)
    assert result["box_sizes"]["counts"] == sizes
    assert result["box_aspect"]["counts"] == aspects
