"""The clean-record fast paths of the record checks say exactly what the detailed checks say."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tfod_doctor import api
from tfod_doctor.checks import boxes as box_checks
from tfod_doctor.checks import labels as label_checks
from tfod_doctor.checks._od import box_classes
from tfod_doctor.checks.base import RecordPlace
from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.labels import LabelTable
from tfod_doctor.records import Bytes, FeatureView, Floats, Ints, build_example

_NAMES = ["cat", "dog", "bird", "zebra", ""]
_WHERE = RecordPlace("data.tfrecord", 3, 120)


@st.composite
def records(draw) -> dict:
    """Features of one record: boxes, and class text and labels that agree or not."""
    boxes = draw(st.integers(0, 4))
    features: dict = {key: Floats([0.2] * boxes) for key in (K.YMIN, K.XMIN)}
    features |= {key: Floats([0.6] * boxes) for key in (K.YMAX, K.XMAX)}
    texts = draw(st.one_of(st.none(), st.lists(st.sampled_from(_NAMES), max_size=5),
                           st.just(Ints([1]))))
    same = len(texts) if isinstance(texts, list) else 1  # as many labels as names, often
    labels = draw(st.one_of(st.none(), st.lists(st.integers(-2, 6), max_size=5),
                            st.lists(st.integers(1, 3), min_size=same, max_size=same),
                            st.just(Floats([1.0]))))
    if isinstance(texts, list):
        texts = Bytes([name.encode() for name in texts])
    if isinstance(labels, list):
        labels = Ints(labels)
    features |= {key: value for key, value in ((K.TEXT, texts), (K.LABEL, labels))
                 if value is not None}
    if draw(st.booleans()):
        features[K.IMAGE_LABEL] = Ints(draw(st.lists(st.integers(-1, 6), max_size=3)))
    return features


@st.composite
def contexts(draw):
    """A scan context with or without a label map, num_classes and label_map_path."""
    table = None
    if draw(st.booleans()):
        ids = draw(st.permutations([1, 2, 3, 4]))[:draw(st.integers(1, 4))]
        names = dict(zip(_NAMES, ids, strict=False))
        table = LabelTable(names=names, ids={i: n for n, i in names.items()})
    return api.context(label_map=table, num_classes=draw(st.one_of(st.none(), st.integers(1, 5))),
                       label_map_in_reader=draw(st.sampled_from([None, True, False])))


def _findings(check, features: dict, ctx) -> list[dict]:
    found: list = []
    check(FeatureView(build_example(features)), _WHERE, ctx, found.append)
    return [finding.to_dict() for finding in found]


_MAP = LabelTable(names={"cat": 1, "dog": 2}, ids={1: "cat", 2: "dog"})
_BOX = {key: Floats([value]) for key, value in zip(K.BOX_KEYS, (0.2, 0.2, 0.6, 0.6),
                                                     strict=True)}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), contexts())
@example({**_BOX, K.TEXT: Bytes([b"cat"])}, api.context(label_map=_MAP, label_map_in_reader=False))
@example({K.TEXT: Bytes([b"cat"]), K.LABEL: Ints([2])},
         api.context(label_map=_MAP, label_map_in_reader=False))
@example({K.TEXT: Bytes([b"cat"]), K.LABEL: Ints([2])}, api.context(label_map=_MAP))
def test_label_fast_path_agrees_with_the_detailed_checks(features, ctx):
    fast = _findings(label_checks.check_labels, features, ctx)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(label_checks, "_clean", lambda *args: False)
        assert fast == _findings(label_checks.check_labels, features, ctx)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), contexts())
def test_box_class_count_agrees_with_the_resolved_classes(features, ctx):
    fast = _findings(box_checks.check_boxes, features, ctx)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(box_checks, "_class_count",
                      lambda record, ctx: box_classes(record, ctx).count)
        assert fast == _findings(box_checks.check_boxes, features, ctx)
