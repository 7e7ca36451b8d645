"""TensorFlow as the oracle, for tests: its own Example encoding, writer, reader and parser.

Importing this module imports TensorFlow; the package itself never does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf

from tfod_doctor.records.example import Kind, as_typed


def tf_feature(values: Any) -> tf.train.Feature:
    """A ``tf.train.Feature`` for values typed as :func:`tfod_doctor.records.encode_example`."""
    typed = as_typed(values)
    if typed.kind is Kind.BYTES:
        data = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in typed.values]
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=data))
    if typed.kind is Kind.FLOAT:
        return tf.train.Feature(float_list=tf.train.FloatList(value=typed.values))
    if typed.kind is Kind.INT64:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=typed.values))
    return tf.train.Feature()


def tf_encode(features: dict[str, Any]) -> bytes:
    """Serialize with TensorFlow's own ``tf.train.Example``."""
    example = tf.train.Example(
        features=tf.train.Features(feature={k: tf_feature(v) for k, v in features.items()})
    )
    return example.SerializeToString()


def tf_write_records(path: str | Path, payloads: Iterable[bytes], options: str | None = None
                     ) -> None:
    """Write with ``tf.io.TFRecordWriter`` (``options``: None, ``"GZIP"`` or ``"ZLIB"``)."""
    with tf.io.TFRecordWriter(str(path), options=options) as writer:
        for payload in payloads:
            writer.write(payload)


def tf_read_records(path: str | Path, compression: str | None = None) -> tuple[list[bytes],
                                                                                str | None]:
    """Read with ``tf.data.TFRecordDataset``: the records it yields, and its error if it stops."""
    records: list[bytes] = []
    try:
        for record in tf.data.TFRecordDataset(str(path), compression_type=compression or ""):
            records.append(record.numpy())
    except tf.errors.OpError as exc:
        return records, exc.message
    return records, None


def od_feature_spec(keys: Sequence[str] | None = None) -> dict[str, Any]:
    """The feature spec of the OD API's ``TfExampleDecoder`` (defaults, no config flags)."""
    fixed_string = tf.io.FixedLenFeature((), tf.string, default_value="")
    spec = {
        "image/encoded": fixed_string,
        "image/format": tf.io.FixedLenFeature((), tf.string, default_value="jpeg"),
        "image/filename": fixed_string,
        "image/key/sha256": fixed_string,
        "image/source_id": fixed_string,
        "image/height": tf.io.FixedLenFeature((), tf.int64, default_value=1),
        "image/width": tf.io.FixedLenFeature((), tf.int64, default_value=1),
        "image/class/text": tf.io.VarLenFeature(tf.string),
        "image/class/label": tf.io.VarLenFeature(tf.int64),
        "image/neg_category_ids": tf.io.VarLenFeature(tf.int64),
        "image/not_exhaustive_category_ids": tf.io.VarLenFeature(tf.int64),
        "image/class/confidence": tf.io.VarLenFeature(tf.float32),
        "image/object/bbox/xmin": tf.io.VarLenFeature(tf.float32),
        "image/object/bbox/xmax": tf.io.VarLenFeature(tf.float32),
        "image/object/bbox/ymin": tf.io.VarLenFeature(tf.float32),
        "image/object/bbox/ymax": tf.io.VarLenFeature(tf.float32),
        "image/object/class/label": tf.io.VarLenFeature(tf.int64),
        "image/object/class/text": tf.io.VarLenFeature(tf.string),
        "image/object/area": tf.io.VarLenFeature(tf.float32),
        "image/object/is_crowd": tf.io.VarLenFeature(tf.int64),
        "image/object/difficult": tf.io.VarLenFeature(tf.int64),
        "image/object/group_of": tf.io.VarLenFeature(tf.int64),
        "image/object/weight": tf.io.VarLenFeature(tf.float32),
    }
    return spec if keys is None else {k: spec[k] for k in keys}


def tf_parse(payload: bytes, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """``tf.io.parse_single_example`` with the OD API spec; dense numpy values per key.

    Raises ``tf.errors.InvalidArgumentError`` with TensorFlow's own message on a bad record.
    """
    parsed = tf.io.parse_single_example(payload, spec or od_feature_spec())
    out = {}
    for key, value in parsed.items():
        if isinstance(value, tf.sparse.SparseTensor):
            value = tf.sparse.to_dense(value)
        out[key] = value.numpy()
    return out


def tf_od_boxes(payload: bytes) -> Any:
    """The ``[N, 4]`` boxes the OD API decoder assembles from a record (numpy).

    As tf_slim's ``BoundingBox`` handler does it: parse the four coordinate lists with the OD
    API's spec, make each a ``[1, n]`` row, concatenate them and transpose. Raises
    ``tf.errors.InvalidArgumentError`` (``ConcatOp : Dimensions of inputs should match``) when
    the lists differ in length.
    """
    parsed = tf.io.parse_single_example(payload, od_feature_spec())
    sides = [tf.expand_dims(parsed[f"image/object/bbox/{side}"].values, 0)
             for side in ("ymin", "xmin", "ymax", "xmax")]
    return tf.transpose(tf.concat(sides, 0)).numpy()
