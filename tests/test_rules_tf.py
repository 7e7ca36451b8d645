"""TensorFlow doing what the F, B, L and I rules say it does, on records TensorFlow wrote.

Each test writes a dataset with ``writer="tf"``, lets tfod-doctor find the planted defect, then
runs TensorFlow's own ops on the same record: the OD API's feature spec, ``one_hot``, ``gather``,
``reshape``, ``decode_image``, the OD API's assertions. Messages are compared with the evidence
tfod-doctor reports.
"""

from __future__ import annotations

import pytest

from tfod_doctor import catalogue
from tfod_doctor.api import scan
from tfod_doctor.odapi import features as K
from tfod_doctor.testing import make_dataset

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def tf():
    import tensorflow

    return tensorflow


def _run(tmp_path, defect, **scan_options):
    """The finding of the defect's rule at the planted record, and that record's bytes."""
    finding, payload, _ = _run_dataset(tmp_path, defect, **scan_options)
    return finding, payload


def _run_dataset(tmp_path, defect, **scan_options):
    """Like :func:`_run`, with the dataset as well."""
    from tfod_doctor.testing import tf_oracle

    dataset = make_dataset(tmp_path, [defect], writer="tf")
    rule = next(r for r in catalogue.all_rules() if r.defect == defect)
    report = scan(**{**dataset.scan_args(), **scan_options})
    planted = dataset.planted_for(defect)[0]
    found = [f for f in report.by_rule(rule.id)
             if f.location.file == planted.file and f.location.record == planted.record]
    assert found, f"{rule.id} did not fire at the planted record: {report.rule_counts}"
    records, error = tf_oracle.tf_read_records(planted.file)
    assert error is None
    return found[0], records[planted.record], dataset


def _parse(payload, spec=None):
    from tfod_doctor.testing import tf_oracle

    return tf_oracle.tf_parse(payload, spec)


def _parse_error(tf, payload, spec=None) -> str:
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        _parse(payload, spec)
    return caught.value.message


def _boxes(parsed):
    import numpy as np

    return np.stack([parsed[k] for k in K.BOX_KEYS], axis=1)


# -- F: features -----------------------------------------------------------------------------------


def test_f001_missing_image_is_empty_input(tmp_path, tf):
    finding, payload = _run(tmp_path, "missing_image")
    image = _parse(payload)[K.IMAGE]
    assert image == b""  # the default of the FixedLen spec
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Input is empty\."):
        tf.io.decode_image(image, channels=3)
    assert "Input is empty." in finding.evidence["tensorflow"]


def test_f002_misspelled_box_keys_leave_the_decoder_no_boxes(tmp_path, tf):
    finding, payload = _run(tmp_path, "misspelled_box_keys")
    assert finding.severity.label == "data-loss"
    parsed = _parse(payload)
    assert len(parsed[K.XMIN]) == 0  # the boxes under .../xmins are silently ignored


@pytest.mark.parametrize("defect", ["float_labels", "two_heights"])
def test_f003_f004_parse_errors_are_tensorflows(tmp_path, tf, defect):
    finding, payload = _run(tmp_path, defect)
    assert finding.evidence["tensorflow"] in _parse_error(tf, payload)


def test_f003_every_wrong_kind_message_is_tensorflows(tf):
    from tfod_doctor.records import Bytes, Floats, Ints
    from tfod_doctor.testing import tf_oracle

    values = (Bytes([b"x"]), Floats([1.0]), Ints([1]))
    for key, key_spec in K.decoder_keys().items():
        for value in values:
            if value.kind is not key_spec.kind:
                message = _parse_error(tf, tf_oracle.tf_encode({key: value}))
                assert K.tf_kind_message(key, key_spec, value.kind) in message


def test_f004_count_messages_are_tensorflows(tf):
    from tfod_doctor.records import Bytes, Ints
    from tfod_doctor.testing import tf_oracle

    spec = K.decoder_keys()
    cases = [(K.IMAGE, Bytes([b"a", b"b"])), (K.IMAGE, Bytes([])), (K.HEIGHT, Ints([])),
             (K.WIDTH, Ints([1, 2])), (K.SOURCE_ID, Bytes([b"a", b"b"]))]
    for key, value in cases:
        message = _parse_error(tf, tf_oracle.tf_encode({key: value}))
        assert K.tf_count_message(key, spec[key], len(value.values)) in message


def test_f006_required_key_message_is_tensorflows(tmp_path, tf):
    finding, payload = _run(tmp_path, "flag_without_keys")
    spec = dict(_od_spec())
    spec[K.ADDITIONAL_CHANNELS] = tf.io.FixedLenFeature((1,), tf.string)
    assert finding.evidence["tensorflow"] in _parse_error(tf, payload, spec)


def _od_spec():
    from tfod_doctor.testing import tf_oracle

    return tf_oracle.od_feature_spec()


# -- B: boxes --------------------------------------------------------------------------------------


def test_b001_box_lists_that_differ_stop_the_concat(tmp_path, tf):
    finding, payload = _run(tmp_path, "box_lists_differ")
    parsed = _parse(payload)
    sides = [tf.expand_dims(parsed[key], 0) for key in K.BOX_KEYS]  # tf_slim's BoundingBox
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        tf.concat(sides, 0)
    assert finding.evidence["tensorflow"] in caught.value.message


def test_b002_fewer_labels_fail_the_gather(tmp_path, tf):
    finding, payload = _run(tmp_path, "fewer_labels_than_boxes")
    parsed = _parse(payload)
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        tf.gather(parsed[K.LABEL], tf.range(len(parsed[K.YMIN])))
    assert finding.evidence["tensorflow"].split(": ", 1)[1] in caught.value.message


def test_b003_nan_boxes_are_filtered_out(tmp_path, tf):
    finding, payload = _run(tmp_path, "nan_box")
    boxes = tf.constant(_boxes(_parse(payload)))
    # filter_groundtruth_with_nan_box_coordinates
    keep = tf.where(tf.logical_not(tf.reduce_any(tf.math.is_nan(boxes), axis=1)))[:, 0]
    kept = keep.numpy().tolist()
    lost = [b["index"] for b in finding.evidence["boxes"]]
    assert lost == [0] and 0 not in kept and len(kept) == boxes.shape[0] - 1


def _to_absolute_check(tf, boxes):
    """The range assertion of the OD API's to_absolute_coordinates(check_range=True)."""

    @tf.function
    def check(values):
        box_maximum = tf.reduce_max(values)
        assertion = tf.Assert(tf.greater_equal(1.1, box_maximum),
                              [f"maximum box coordinate value is larger than {1.1:f}: ",
                               box_maximum])
        with tf.control_dependencies([assertion]):
            return tf.identity(values)

    return check(tf.constant(boxes))


@pytest.mark.parametrize("defect", ["pixel_boxes", "inf_box"])
def test_b005_b012_trip_the_1_1_assertion(tmp_path, tf, defect):
    finding, payload = _run(tmp_path, defect)
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        _to_absolute_check(tf, _boxes(_parse(payload)))
    expected = finding.evidence["tensorflow"].rsplit(" [", 1)[0]
    assert expected in caught.value.message


def test_b004_slightly_outside_passes_the_assertion(tmp_path, tf):
    _, payload = _run(tmp_path, "box_slightly_outside")
    _to_absolute_check(tf, _boxes(_parse(payload)))  # no error: trained as written


def test_b006_inverted_boxes_fail_the_box_assertion(tmp_path, tf):
    finding, payload = _run(tmp_path, "inverted_box")
    boxes = _boxes(_parse(payload))

    @tf.function
    def assert_valid(values):  # inputs.assert_or_prune_invalid_boxes
        ymin, xmin, ymax, xmax = tf.split(values, num_or_size_splits=4, axis=1)
        height = tf.Assert(tf.reduce_all(ymax >= ymin), [ymin, ymax])
        width = tf.Assert(tf.reduce_all(xmax >= xmin), [xmin, xmax])
        with tf.control_dependencies([height, width]):
            return tf.identity(values)

    with pytest.raises(tf.errors.InvalidArgumentError, match="assertion failed"):
        assert_valid(tf.constant(boxes))
    inverted = [i for i, (_, xmin, _, xmax) in enumerate(boxes) if xmin > xmax]
    assert [b["index"] for b in finding.evidence["boxes"]] == inverted == [0]


def test_b009_boxes_past_the_maximum_are_clipped(tmp_path, tf):
    finding, payload = _run(tmp_path, "too_many_boxes")
    boxes = _boxes(_parse(payload))
    clipped = tf.slice(boxes, [0, 0], [finding.evidence["max_number_of_boxes"], 4])
    assert boxes.shape[0] - clipped.shape[0] == finding.evidence["dropped"] == 5


def test_b010_per_box_list_fails_the_reshape(tmp_path, tf):
    finding, payload = _run(tmp_path, "is_crowd_length")
    parsed = _parse(payload)
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        tf.reshape(parsed[K.IS_CROWD], [len(parsed[K.YMIN]), -1])  # ops.retain_groundtruth
    assert finding.evidence["tensorflow"] in caught.value.message


def test_b011_too_few_masks_fail_the_gather(tmp_path, tf):
    finding, payload = _run(tmp_path, "mask_count")
    spec = dict(_od_spec())
    spec[K.MASK] = tf.io.VarLenFeature(tf.string)  # load_instance_masks with PNG_MASKS
    parsed = _parse(payload, spec)
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        tf.gather(parsed[K.MASK], tf.range(len(parsed[K.YMIN])))
    assert finding.evidence["tensorflow"] in caught.value.message


# -- L: labels -------------------------------------------------------------------------------------


@pytest.mark.parametrize("defect", ["label_zero", "label_above_num_classes"])
def test_l001_l002_one_hot_is_a_zero_row_and_eval_says_class_1(tmp_path, tf, defect):
    finding, payload = _run(tmp_path, defect, num_classes=3)
    labels = _parse(payload)[K.LABEL]
    one_hot = tf.one_hot(labels - 1, 3).numpy()
    bad = next(i for i, label in enumerate(labels) if label < 1 or label > 3)
    assert one_hot[bad].tolist() == [0.0, 0.0, 0.0]
    assert int(tf.argmax(one_hot[bad])) + 1 == 1  # model_lib_v2's eval classes
    assert finding.evidence["boxes"] == [bad]


def _label_lookup(tf, table):
    """The decoder's name -> id table (default -1), as _ClassTensorHandler builds it."""
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(list(table.names)),
                                            tf.constant(list(table.names.values()), tf.int64)),
        default_value=-1)


def test_l004_unknown_names_become_minus_one_and_are_dropped(tmp_path, tf):
    finding, payload, dataset = _run_dataset(tmp_path, "text_not_in_label_map")
    table = _label_lookup(tf, dataset.label_table())
    classes = table.lookup(tf.constant(_parse(payload)[K.TEXT]))
    assert classes.numpy()[0] == -1
    kept = tf.where(classes > -1)[:, 0].numpy().tolist()  # ops.filter_unrecognized_classes
    assert 0 not in kept
    assert finding.evidence["suggestions"]


def test_l006_text_only_without_label_map_fails_the_gather(tmp_path, tf):
    finding, payload = _run(tmp_path, "text_only_records", label_map_in_reader=False)
    assert finding.severity.label == "error"
    parsed = _parse(payload)
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        tf.gather(parsed[K.LABEL], tf.range(len(parsed[K.YMIN])))
    assert finding.evidence["tensorflow"].split(": ", 1)[1] in caught.value.message


def test_l007_image_level_ids_out_of_range_fail_k_hot(tmp_path, tf):
    finding, payload = _run(tmp_path, "image_label_out_of_range", num_classes=3)
    labels = _parse(payload)[K.IMAGE_LABEL]
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:  # inputs.py's k-hot
        tf.compat.v1.sparse_to_dense(labels - 1, [3], 1.0, validate_indices=False)
    assert finding.evidence["tensorflow"].split(": ", 1)[1] in caught.value.message


# -- I: images -------------------------------------------------------------------------------------


def _decode(tf, data):
    if tf.io.is_jpeg(data):
        return tf.io.decode_jpeg(data, channels=3)
    return tf.io.decode_image(data, channels=3)


@pytest.mark.parametrize("defect", ["tiff_image", "truncated_jpeg"])
def test_i001_i003_undecodable_images_fail_as_reported(tmp_path, tf, defect):
    finding, payload = _run(tmp_path, defect)
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        _decode(tf, _parse(payload)[K.IMAGE])
    assert finding.evidence["tensorflow"] in caught.value.message


def test_i002_gif_decodes_as_4d(tmp_path, tf):
    _, payload = _run(tmp_path, "gif_image")
    assert _decode(tf, _parse(payload)[K.IMAGE]).shape.rank == 4


def test_i004_stored_height_is_not_the_decoded_height(tmp_path, tf):
    finding, payload = _run(tmp_path, "wrong_stored_size")
    parsed = _parse(payload)
    height, width = _decode(tf, parsed[K.IMAGE]).shape[:2]
    assert finding.evidence["image_size"] == [width, height]
    assert parsed[K.HEIGHT] != height


def test_i005_tensorflow_ignores_exif_orientation(tmp_path, tf):
    finding, payload = _run(tmp_path, "exif_rotated")
    height, width = _decode(tf, _parse(payload)[K.IMAGE]).shape[:2]
    assert finding.evidence["stored_size"] == [width, height]  # not turned


def test_i006_declared_format_does_not_matter(tmp_path, tf):
    finding, payload = _run(tmp_path, "png_declared_jpeg")
    assert finding.severity.label == "info"
    assert _decode(tf, _parse(payload)[K.IMAGE]).shape.rank == 3


def test_i007_raw_bytes_are_flat(tmp_path, tf):
    _, payload = _run(tmp_path, "raw_format")
    assert tf.io.decode_raw(_parse(payload)[K.IMAGE], tf.uint8).shape.rank == 1


# -- every record rule, on records TensorFlow wrote ------------------------------------------------

RECORD_RULES = [r for r in catalogue.all_rules() if r.family in
                ("features", "boxes", "labels", "images", "dataset")]


@pytest.mark.parametrize("rule", RECORD_RULES, ids=lambda r: r.id)
def test_rule_fires_on_tf_written_records_at_the_planted_place(rule, tmp_path):
    dataset = make_dataset(tmp_path, [rule.defect], writer="tf", train_shards=2)
    report = scan(**dataset.scan_args())
    found = report.by_rule(rule.id)
    assert found, f"{rule.id} did not fire: {report.rule_counts}"
    for planted in dataset.planted_for(rule.defect):
        if planted.file is not None:
            places = {(f.location.file, f.location.record) for f in found}
            assert (planted.file, planted.record) in places
