"""The OD API layer: the key table, image reading as TensorFlow decodes, and near misses."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from tfod_doctor.checks.context import InputFlags
from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.images import ImageProblem, decode, read_header
from tfod_doctor.odapi.suggest import BOX_GROUP, edit_distance, suggest_class, suggest_key
from tfod_doctor.records import Kind
from tfod_doctor.testing.images import draw_image, make_image

# -- the key table ---------------------------------------------------------------------------------


def test_always_parsed_keys_match_the_od_feature_spec(tf_oracle):
    import tensorflow as tf

    kinds = {tf.string: Kind.BYTES, tf.int64: Kind.INT64, tf.float32: Kind.FLOAT}
    spec = tf_oracle.od_feature_spec()
    ours = K.decoder_keys(InputFlags())
    assert set(ours) == set(spec)
    for key, feature in spec.items():
        assert ours[key].kind is kinds[feature.dtype], key
        assert ours[key].fixed == isinstance(feature, tf.io.FixedLenFeature), key


def test_flags_add_their_keys():
    flags = InputFlags(load_instance_masks=True, mask_type="PNG_MASKS", num_keypoints=17,
                       num_additional_channels=2, load_context_features=True)
    keys = K.decoder_keys(flags)
    assert keys[K.MASK].kind is Kind.BYTES
    assert keys[K.KEYPOINT_X].kind is Kind.FLOAT
    assert keys[K.ADDITIONAL_CHANNELS].count == 2 and keys[K.ADDITIONAL_CHANNELS].required
    assert keys[K.CONTEXT_FEATURE_LENGTH].required
    assert K.KEYPOINT_Z not in keys  # needs load_keypoint_depth_features too
    assert K.decoder_keys(InputFlags(load_instance_masks=True))[K.MASK].kind is Kind.FLOAT
    assert K.MASK not in K.decoder_keys(InputFlags())


# -- near misses -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "expected"), [
    ("image/object/bbox/xmins", K.XMIN),
    ("image/object/bbox/XMIN", K.XMIN),
    ("Image/Encoded", K.IMAGE),
    ("image/object/class/lable", K.LABEL),
    ("image/object/class/labels", K.LABEL),
    ("image/object/category_id", K.LABEL),
    ("class_id", K.LABEL),
    ("image/object/class/name", K.TEXT),
    ("boxes", BOX_GROUP),
    ("objects/bbox", BOX_GROUP),
    ("objects/label", K.LABEL),
    ("image/object/bbox/x1", K.XMIN),
    ("image", K.IMAGE),
    ("image/encoded_jpeg", K.IMAGE),
])
def test_suggest_key(key, expected):
    assert suggest_key(key).key == expected


def test_suggest_key_leaves_unrelated_keys_alone():
    assert suggest_key("image/provenance/camera_serial") is None


def test_box_group_stands_for_the_four_keys():
    assert suggest_key("bboxes").keys == K.BOX_KEYS


@pytest.mark.parametrize(("text", "expected"), [
    ("Cat", ["cat"]), ("cat ", ["cat"]), ("cats", ["cat"]), ("traffic-light", ["traffic_light"]),
    ("pedestrain", ["pedestrian"]), ("zebra", []),
])
def test_suggest_class(text, expected):
    names = ["cat", "dog", "traffic_light", "pedestrian"]
    assert suggest_class(text, names) == expected


def test_edit_distance():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("ab", "ba") == 1  # a transposition is one edit
    assert edit_distance("abc", "abc") == 0


# -- images, as TensorFlow decodes them -----------------------------------------------------------


def _bmp_1bit() -> bytes:
    buffer = io.BytesIO()
    draw_image(20, 10).convert("1").save(buffer, "BMP")
    return buffer.getvalue()


def _png_flipped() -> bytes:
    data = bytearray(make_image(64, 48, "png"))
    data[60] ^= 0xFF
    return bytes(data)


JPEG = make_image(64, 48)
PNG = make_image(64, 48, "png")
#: name -> (bytes, whether the OD API can use it)
IMAGES = {
    "jpeg-rgb": (JPEG, True),
    "jpeg-gray": (make_image(64, 48, mode="L"), True),
    "jpeg-cmyk": (make_image(64, 48, mode="CMYK"), True),
    "jpeg-exif": (make_image(64, 48, exif_orientation=6), True),
    "jpeg-trailing-bytes": (JPEG + b"garbage" * 4, True),
    "jpeg-zero-padding": (JPEG + b"\0" * 16, True),
    "jpeg-cut-1": (JPEG[:-1], False),
    "jpeg-cut-half": (JPEG[: len(JPEG) // 2], False),
    "jpeg-cut-header": (JPEG[:200], False),
    "png-rgb": (PNG, True),
    "png-rgba": (make_image(20, 10, "png", "RGBA"), True),
    "png-la": (make_image(20, 10, "png", "LA"), True),
    "png-palette": (make_image(20, 10, "png", "P"), True),
    "png-16bit": (make_image(20, 10, "png", "I;16"), True),
    "png-trailing-bytes": (PNG + b"garbage", True),
    "png-cut-before-iend": (PNG[:-12], False),
    "png-cut-half": (PNG[: len(PNG) // 2], False),
    "bmp-24": (make_image(20, 10, "bmp"), True),
    "bmp-8": (make_image(20, 10, "bmp", "L"), True),
    "bmp-32": (make_image(20, 10, "bmp", "RGBA"), True),
    "bmp-1bit": (_bmp_1bit(), False),
    "bmp-cut": (make_image(20, 10, "bmp")[:-1], False),
    "gif": (make_image(20, 10, "gif", "P"), False),
    "webp": (make_image(20, 10, "webp"), False),
    "tiff": (make_image(20, 10, "tiff"), False),
    "text": (b"not an image at all", False),
}


def _tf_verdict(data: bytes) -> tuple[bool, str]:
    """Whether the OD API's decoding gives a 3-D image, and TensorFlow's message if not."""
    import tensorflow as tf

    try:
        if tf.io.is_jpeg(data):
            image = tf.io.decode_jpeg(data, channels=3)
        else:
            image = tf.io.decode_image(data, channels=3)
    except tf.errors.InvalidArgumentError as exc:
        return False, exc.message
    return image.shape.rank == 3, f"rank {image.shape.rank}"


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_image_verdict_agrees_with_tensorflow(name, tf_oracle):
    data, usable = IMAGES[name]
    tf_ok, tf_message = _tf_verdict(data)
    assert tf_ok is usable, f"the table is wrong about {name}: TF says {tf_message}"
    for info in (read_header(data), decode(data)):
        assert info.ok is usable, f"{name}: {info}"
        if not usable and info.problem is not ImageProblem.FOUR_D:
            assert info.tf_message in tf_message  # TensorFlow's own words


@pytest.mark.parametrize("name", [n for n, (_, ok) in IMAGES.items() if ok])
def test_sizes_are_the_decoded_sizes(name, tf_oracle):
    import tensorflow as tf

    data, _ = IMAGES[name]
    height, width = tf.io.decode_image(data, channels=3).shape[:2]
    assert read_header(data).size == (width, height)


def test_header_reading_decodes_only_what_looks_cut():
    assert not read_header(JPEG).decoded
    assert read_header(JPEG + b"junk").decoded  # no end marker at the end: confirm by decoding
    assert decode(JPEG).decoded


def test_exif_orientation_is_read_from_the_jpeg_header(tf_oracle):
    import tensorflow as tf

    data = make_image(64, 48, exif_orientation=6)
    assert read_header(data).orientation == 6
    assert read_header(JPEG).orientation is None
    # TensorFlow ignores it: the decoded image keeps the stored 64×48; viewers turn it 48×64.
    assert tuple(tf.io.decode_jpeg(data).shape[:2]) == (48, 64)
    assert ImageOps.exif_transpose(Image.open(io.BytesIO(data))).size == (48, 64)


def test_empty_bytes_are_what_tensorflow_calls_empty(tf_oracle):
    import tensorflow as tf

    info = read_header(b"")
    assert info.problem is ImageProblem.EMPTY
    with pytest.raises(tf.errors.InvalidArgumentError, match=info.tf_message):
        tf.io.decode_image(b"", channels=3)


_COORDINATE = st.one_of(st.floats(-0.25, 1.25, width=32), st.sampled_from(
    [0.0, 1.0, float("nan"), float("inf"), -float("inf"), 0.5, 640.0]))


@settings(max_examples=300, deadline=None)
@given(boxes=st.lists(st.tuples(_COORDINATE, _COORDINATE, _COORDINATE, _COORDINATE),
                      max_size=12),
       size=st.one_of(st.none(), st.tuples(st.integers(1, 2000), st.integers(1, 2000))))
def test_the_fast_clean_box_answer_agrees_with_the_box_by_box_survey(boxes, size):
    from tfod_doctor.odapi.boxes import BoxSurvey, all_boxes_fine, survey_each

    sides = tuple(list(side) for side in zip(*boxes, strict=True)) if boxes else ([],) * 4
    assert all_boxes_fine(sides, size) == (survey_each(sides, size) == BoxSurvey())
