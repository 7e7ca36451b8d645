"""Canonical samples ⇄ OD API ``tf.Example`` features (the keys of ``tfod_spec.md`` §1).

One writer for every converter and for ``fix``: :func:`sample_features` gives the feature dict,
:func:`encode_sample` the serialized record. :func:`decode_sample` reads a record back into a
canonical sample (for exporters, and for ``fix`` to edit and re-write a record).

What is written, for every record of a conversion (one schema for all of them):

- ``image/encoded`` (the bytes), ``image/format`` (sniffed from the bytes, not from the file
  name), ``image/height`` / ``image/width`` (of the encoded image, as TensorFlow decodes it),
  ``image/filename``, ``image/source_id`` (unique), ``image/key/sha256``;
- ``image/object/bbox/{ymin,xmin,ymax,xmax}`` (normalized), ``image/object/class/text`` and
  ``image/object/class/label`` (both, so records work with and without ``label_map_path``),
  ``image/object/area`` (pixels), ``image/object/is_crowd``, ``image/object/difficult``;
- ``image/object/{truncated,occluded,group_of,view,weight}`` when some box of the conversion sets
  them (:class:`OptionalKeys`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tfod_doctor.converters.model import BoxFlags, CanonicalBox, CanonicalSample
from tfod_doctor.records import Bytes, FeatureView, Floats, Ints, Kind, encode_example

BBOX_KEYS = (
    "image/object/bbox/ymin",
    "image/object/bbox/xmin",
    "image/object/bbox/ymax",
    "image/object/bbox/xmax",
)
CLASS_TEXT = "image/object/class/text"
CLASS_LABEL = "image/object/class/label"
AREA = "image/object/area"
IS_CROWD = "image/object/is_crowd"
DIFFICULT = "image/object/difficult"
TRUNCATED = "image/object/truncated"
OCCLUDED = "image/object/occluded"
GROUP_OF = "image/object/group_of"
VIEW = "image/object/view"
WEIGHT = "image/object/weight"
IMAGE_KEYS = (
    "image/encoded", "image/format", "image/height", "image/width", "image/filename",
    "image/source_id", "image/key/sha256",
)
#: Per-box int flags: key -> attribute of :class:`BoxFlags`.
_INT_FLAGS = {IS_CROWD: "is_crowd", DIFFICULT: "difficult", TRUNCATED: "truncated",
              OCCLUDED: "occluded", GROUP_OF: "group_of"}
#: Every key this module reads into a canonical sample (the rest goes to ``extra_features``).
MODELLED_KEYS = frozenset(
    (*IMAGE_KEYS, *BBOX_KEYS, CLASS_TEXT, CLASS_LABEL, AREA, VIEW, WEIGHT, *_INT_FLAGS)
)


@dataclass(frozen=True)
class OptionalKeys:
    """Which optional per-box keys a conversion writes (for every record alike)."""

    truncated: bool = False
    occluded: bool = False
    group_of: bool = False
    view: bool = False
    weight: bool = False

    @classmethod
    def needed_for(cls, flags: Iterable[BoxFlags]) -> OptionalKeys:
        """The keys some of these boxes need: a key is written when some box sets it."""
        needed = dict.fromkeys(("truncated", "occluded", "group_of", "view", "weight"), False)
        for flag in flags:
            needed["truncated"] |= flag.truncated
            needed["occluded"] |= flag.occluded
            needed["group_of"] |= flag.group_of
            needed["view"] |= flag.view not in ("", "Unspecified")
            needed["weight"] |= flag.weight is not None and flag.weight != 1.0
        return cls(**needed)

    def feature_keys(self) -> list[str]:
        """The feature keys these switches add."""
        chosen = [(self.truncated, TRUNCATED), (self.occluded, OCCLUDED),
                  (self.group_of, GROUP_OF), (self.view, VIEW), (self.weight, WEIGHT)]
        return [key for wanted, key in chosen if wanted]


def box_area(box: CanonicalBox, width: int, height: int) -> float:
    """The area a box has in pixels: the source's own (COCO) or width × height of the box."""
    if box.flags.area is not None:
        return box.flags.area
    return (box.xmax - box.xmin) * width * (box.ymax - box.ymin) * height


def sample_features(sample: CanonicalSample, optional: OptionalKeys = OptionalKeys()
                    ) -> dict[str, Any]:
    """The OD API feature dict of a sample (typed lists, ready for ``encode_example``)."""
    boxes = sample.boxes
    features: dict[str, Any] = {
        "image/height": Ints([sample.height]),
        "image/width": Ints([sample.width]),
        "image/filename": Bytes([sample.filename]),
        "image/source_id": Bytes([sample.source_id]),
        "image/key/sha256": Bytes([sample.sha256]),
        "image/encoded": Bytes([sample.image]),
        "image/format": Bytes([sample.format]),
        "image/object/bbox/ymin": Floats([b.ymin for b in boxes]),
        "image/object/bbox/xmin": Floats([b.xmin for b in boxes]),
        "image/object/bbox/ymax": Floats([b.ymax for b in boxes]),
        "image/object/bbox/xmax": Floats([b.xmax for b in boxes]),
        CLASS_TEXT: Bytes([b.text for b in boxes]),
        CLASS_LABEL: Ints([b.label for b in boxes]),
        AREA: Floats([box_area(b, sample.width, sample.height) for b in boxes]),
        IS_CROWD: Ints([int(b.flags.is_crowd) for b in boxes]),
        DIFFICULT: Ints([int(b.flags.difficult) for b in boxes]),
    }
    for key in optional.feature_keys():
        if key == VIEW:
            features[key] = Bytes([b.flags.view for b in boxes])
        elif key == WEIGHT:
            features[key] = Floats([1.0 if b.flags.weight is None else b.flags.weight
                                    for b in boxes])
        else:
            features[key] = Ints([int(getattr(b.flags, _INT_FLAGS[key])) for b in boxes])
    for key, values in sample.extra_features.items():
        features.setdefault(key, values)
    return features


def encode_sample(sample: CanonicalSample, optional: OptionalKeys = OptionalKeys()) -> bytes:
    """The serialized tf.Example of a sample (deterministic bytes)."""
    return encode_example(sample_features(sample, optional))


# -- reading records back ----------------------------------------------------------------------


class SampleError(ValueError):
    """A record cannot be read as an OD API sample; ``key`` names the feature at fault."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def _typed(view: FeatureView, key: str) -> Any:
    kind = view.kind(key)
    values = list(view[key])
    if kind is Kind.FLOAT:
        return Floats(values)
    if kind is Kind.INT64:
        return Ints(values)
    return Bytes(values)


def _per_box(view: FeatureView, key: str, count: int, kind: Kind) -> list[Any] | None:
    """The values of a per-box key: ``None`` when absent or empty, an error when miscounted."""
    if key not in view or view.length(key) == 0:
        return None
    if view.kind(key) is not kind:
        raise SampleError(f"{key} is a {view.kind(key).value}, the OD API reads a "
                          f"{kind.value}", key)
    values = list(view[key])
    if len(values) != count:
        raise SampleError(f"{key} has {len(values)} values for {count} boxes", key)
    return values


def _texts(view: FeatureView, count: int) -> list[str] | None:
    raw = _per_box(view, CLASS_TEXT, count, Kind.BYTES)
    if raw is None:
        return None
    try:
        return [value.decode("utf-8") for value in raw]
    except UnicodeDecodeError as exc:
        raise SampleError(f"{CLASS_TEXT} is not UTF-8 text: {exc}", CLASS_TEXT) from None


def decode_boxes(view: FeatureView, names: Mapping[int, str] | None = None
                 ) -> list[CanonicalBox]:
    """The boxes of a record, with labels from ``class/label`` or, failing that, ``class/text``.

    ``names`` maps label ids to class names (a label map) for records without ``class/text``,
    and ids to names the other way round for records without ``class/label``.
    """
    coords = []
    for key in BBOX_KEYS:
        if view.kind(key) not in (None, Kind.FLOAT, Kind.NONE):
            raise SampleError(f"{key} is a {view.kind(key).value}, not a float_list", key)
        coords.append(list(view.floats(key)))
    count = len(coords[0])
    if any(len(c) != count for c in coords):
        lengths = ", ".join(f"{key.rsplit('/', 1)[1]}={len(values)}"
                            for key, values in zip(BBOX_KEYS, coords, strict=True))
        raise SampleError(f"the four box lists differ in length ({lengths})", BBOX_KEYS[0])
    labels = _per_box(view, CLASS_LABEL, count, Kind.INT64)
    texts = _texts(view, count)
    ids = {name: label for label, name in (names or {}).items()}
    if labels is None and texts is None and count:
        raise SampleError(f"{count} boxes but neither class/label nor class/text", CLASS_LABEL)
    if labels is None:
        missing = sorted({t for t in texts or () if t not in ids})
        if missing:
            raise SampleError(f"class/text {missing} not in the label map and no class/label",
                              CLASS_TEXT)
        labels = [ids[t] for t in texts or ()]
    if texts is None:
        texts = [(names or {}).get(label, str(label)) for label in labels]
    flags = _decode_flags(view, count)
    return [CanonicalBox(ymin, xmin, ymax, xmax, int(label), text, flag)
            for ymin, xmin, ymax, xmax, label, text, flag
            in zip(*coords, labels, texts, flags, strict=True)]


def _decode_flags(view: FeatureView, count: int) -> list[BoxFlags]:
    flags = [BoxFlags() for _ in range(count)]

    def fill(key: str, kind: Kind, attribute: str, convert: Any) -> None:
        values = _per_box(view, key, count, kind)
        for flag, value in zip(flags, values or [None] * count, strict=True):
            if value is not None:
                setattr(flag, attribute, convert(value))

    for key, attribute in _INT_FLAGS.items():
        fill(key, Kind.INT64, attribute, bool)
    fill(AREA, Kind.FLOAT, "area", float)
    fill(WEIGHT, Kind.FLOAT, "weight", float)
    fill(VIEW, Kind.BYTES, "view", lambda raw: raw.decode("utf-8", "replace"))
    return flags


def decode_sample(view: FeatureView, names: Mapping[int, str] | None = None) -> CanonicalSample:
    """A record as a canonical sample; :class:`SampleError` when the OD API could not read it.

    Width and height are those of the encoded image (read from its header), as TensorFlow
    decodes it; features this model does not know are kept in ``extra_features``.
    """
    from tfod_doctor.converters.images import ImageError, probe

    image = view.first_bytes("image/encoded")
    if not image:
        raise SampleError("image/encoded is missing or empty (TensorFlow: Input is empty.)",
                          "image/encoded")
    try:
        info = probe(image)
    except ImageError as exc:
        raise SampleError(f"image/encoded is not a readable image: {exc}",
                          "image/encoded") from None
    extra = {key: _typed(view, key) for key in view if key not in MODELLED_KEYS}
    return CanonicalSample(
        image=bytes(image),
        format=info.format,
        width=info.width,
        height=info.height,
        filename=view.first_bytes("image/filename").decode("utf-8", "replace"),
        source_id=view.first_bytes("image/source_id").decode("utf-8", "replace"),
        boxes=decode_boxes(view, names),
        extra_features=extra,
    )
