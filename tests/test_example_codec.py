"""The tf.train.Example codec against TensorFlow's own: same wire format, both directions."""

from __future__ import annotations

import math

import pytest

from tfod_doctor.records import (
    Bytes,
    ExampleDecodeError,
    FeatureView,
    Floats,
    Ints,
    Kind,
    NoKind,
    encode_example,
    parse_example,
)
from tfod_doctor.records import example as codec

pytestmark = pytest.mark.tf

FEATURES = {
    "image/encoded": b"\xff\xd8\xff\x00binary\x00",
    "image/format": "jpeg",
    "image/height": 480,
    "image/object/bbox/xmin": [0.1, 0.25, 1.0],
    "image/object/class/label": [1, 2, -3, 2**62],
    "image/object/class/text": ["cat", "dög", b"\xff\xfe"],
    "empty/bytes": Bytes([]),
    "empty/float": Floats([]),
    "empty/int64": Ints([]),
    "no/kind": NoKind(),
    "": Ints([7]),  # an empty key is a key too
}


def _tf_features(example) -> dict:
    """Key -> (kind, values) from TensorFlow's own Example message."""
    out = {}
    for key, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        values = list(getattr(feature, kind).value) if kind else []
        out[key] = (Kind(kind or "none"), values)
    return out


def _float32(value: float) -> float:
    import struct

    return struct.unpack("<f", struct.pack("<f", value))[0]


def test_our_bytes_parse_with_tensorflow(tf_oracle):
    payload = encode_example(FEATURES)
    theirs = _tf_features(tf_oracle.tf.train.Example.FromString(payload))
    ours = FeatureView.from_payload(payload).to_python()
    assert theirs == ours
    assert theirs["no/kind"] == (Kind.NONE, [])
    assert theirs["empty/float"] == (Kind.FLOAT, [])
    assert theirs["image/object/class/text"][1] == [b"cat", "dög".encode(), b"\xff\xfe"]
    assert theirs["image/object/bbox/xmin"][1] == [_float32(v) for v in (0.1, 0.25, 1.0)]


def test_tensorflow_bytes_parse_with_ours(tf_oracle):
    payload = tf_oracle.tf_encode(FEATURES)
    view = FeatureView.from_payload(payload)
    assert view.to_python() == _tf_features(tf_oracle.tf.train.Example.FromString(payload))
    assert view.kind("no/kind") is Kind.NONE and view["no/kind"] == ()
    assert view.kind("empty/int64") is Kind.INT64 and view.length("empty/int64") == 0
    assert view.kind("absent") is None and view["absent"] == ()
    assert view.first_int("image/height") == 480
    assert view.first_bytes("image/format") == b"jpeg"
    assert view.floats("image/height") == ()  # another kind: no values
    assert list(view.ints("image/object/class/label")) == [1, 2, -3, 2**62]


def test_the_od_api_parser_reads_what_we_write(tf_oracle):
    payload = encode_example({"image/height": 48, "image/width": 64, "image/format": "png",
                              "image/object/bbox/xmin": [0.5], "image/object/class/label": [3]})
    parsed = tf_oracle.tf_parse(payload)
    assert (parsed["image/height"], parsed["image/width"]) == (48, 64)
    assert parsed["image/format"] == b"png"
    assert list(parsed["image/object/class/label"]) == [3]


def test_same_bytes_as_tensorflow_for_one_feature(tf_oracle):
    for value in (Floats([0.5, -1.0]), Ints([0, 1, -1]), Bytes([b"", b"x"]), NoKind(), Ints([])):
        assert encode_example({"k": value}) == tf_oracle.tf_encode({"k": value})


def test_descriptor_matches_tensorflows(tf_oracle):
    tf = tf_oracle.tf
    for ours, theirs in [
        (codec.Example, tf.train.Example), (codec.Features, tf.train.Features),
        (codec.Feature, tf.train.Feature), (codec.BytesList, tf.train.BytesList),
        (codec.FloatList, tf.train.FloatList), (codec.Int64List, tf.train.Int64List),
    ]:
        assert _shape(ours.DESCRIPTOR) == _shape(theirs.DESCRIPTOR), ours.DESCRIPTOR.name


def _shape(descriptor) -> dict:
    """A message's fields as the wire sees them: numbers, types, labels, packing, oneofs, maps."""
    return {
        "name": descriptor.name,
        "fields": sorted(
            (f.name, f.number, f.type, _repeated(f), f.is_packed,
             f.message_type.name if f.message_type else None,
             f.containing_oneof.name if f.containing_oneof else None,
             _shape(f.message_type) if f.message_type and
             f.message_type.GetOptions().map_entry else None)
            for f in descriptor.fields
        ),
        "oneofs": sorted(o.name for o in descriptor.oneofs),
    }


def _repeated(field) -> bool:
    if hasattr(field, "is_repeated"):  # protobuf >= 6
        return field.is_repeated
    return field.label == field.LABEL_REPEATED


def test_a_key_that_is_not_utf8(tf_oracle):
    """TensorFlow's parser accepts it (the record trains); ours must not call it broken."""

    def field(tag: int, data: bytes) -> bytes:
        return bytes([tag, len(data)]) + data

    feature = field(0x1A, field(0x0A, b"\x07"))  # Feature{int64_list{value: [7]}}
    entry = field(0x0A, b"\xffkey") + field(0x12, feature)
    payload = field(0x0A, field(0x0A, entry))
    parsed = tf_oracle.tf_parse(payload)  # no error from TensorFlow
    assert parsed["image/height"] == 1
    view = FeatureView.from_payload(payload)
    assert list(view) == ["\\xffkey"]
    assert list(view["\\xffkey"]) == [7]


@pytest.mark.parametrize("payload", [b"\xff\xd8\xff\xe0\x00\x10JFIF", b"\x0a\x05\x0a\x03abc",
                                     b"\x08"])
def test_not_an_example(tf_oracle, payload):
    # TensorFlow says "Could not parse example input, value: '...'"; eager mode then fails to
    # decode that message as UTF-8 when it quotes binary bytes. Either way: it stops.
    with pytest.raises((tf_oracle.tf.errors.InvalidArgumentError, UnicodeDecodeError)):
        tf_oracle.tf_parse(payload)
    with pytest.raises(ExampleDecodeError):
        parse_example(payload)


def test_empty_payload_is_an_empty_example(tf_oracle):
    assert tf_oracle.tf_parse(b"")["image/height"] == 1
    assert len(FeatureView.from_payload(b"")) == 0


def test_plain_values_get_the_kind_tensorflow_would_need():
    view = FeatureView.from_payload(encode_example({
        "f": [1, 2.5], "i": [True, 3], "b": "text", "n": math.inf,
    }))
    assert [view.kind(k) for k in "fibn"] == [Kind.FLOAT, Kind.INT64, Kind.BYTES, Kind.FLOAT]
    with pytest.raises(ValueError, match="empty list has no kind"):
        encode_example({"x": []})
    with pytest.raises(TypeError):
        encode_example({"x": [object()]})


def test_records_with_the_same_keys_and_kinds_share_one_schema(monkeypatch):
    def view(**features):
        return FeatureView.from_payload(encode_example(features))

    first, second = view(a=Ints([1]), b=Bytes(["x"])), view(a=Ints([7, 8]), b=Bytes([]))
    other_kind = view(a=Floats([1.0]), b=Bytes(["x"]))
    assert first.shared is second.shared and first.shared.memo is second.shared.memo
    assert other_kind.shared is not first.shared
    assert other_kind.kinds == {"a": Kind.FLOAT, "b": Kind.BYTES}
    keys = [key for key, _ in second.schema]
    assert dict(second.schema) == {"a": Kind.INT64, "b": Kind.BYTES}
    assert dict(zip(keys, second.lengths(), strict=True)) == {"a": 2, "b": 0}
    # Past the cap, schemas are no longer kept: views are still right, with a memo of their own.
    monkeypatch.setattr(codec, "_MAX_SCHEMAS", len(codec._SCHEMAS))
    new, again = view(c=NoKind()), view(c=NoKind())
    assert new.kinds == again.kinds == {"c": Kind.NONE} and new["c"] == ()
    assert new.shared is not again.shared


_LISTS = {
    "ints": Ints([3, 4]), "no ints": Ints([]), "floats": Floats([0.5]), "no floats": Floats([]),
    "bytes": Bytes([b"x"]), "no bytes": Bytes([]), "no list": NoKind(),
}


@pytest.mark.parametrize("before", list(_LISTS))
@pytest.mark.parametrize("after", list(_LISTS))
def test_a_record_after_one_with_the_same_keys_reads_its_own_kinds(before, after):
    # A view reads a record as the last one with the same keys was read, and must notice
    # every way in which the kinds differ from that one's.
    keys = {"image/height": Ints([480]), "image/width": Ints([640])}
    FeatureView.from_payload(encode_example({**keys, "x": _LISTS[before]}))
    payload = encode_example({**keys, "x": _LISTS[after]})
    view = FeatureView.from_payload(payload)
    expected = _LISTS[after]
    assert view.kinds == {"image/height": Kind.INT64, "image/width": Kind.INT64,
                          "x": expected.kind}
    assert list(view["x"]) == pytest.approx(expected.values)
    assert view.first_int("image/width") == 640
    # The same as asking every feature which list it holds.
    values, fields = codec._read_features(parse_example(payload).features.feature)
    assert view.shared.fields == fields and dict(view.lists) == values
