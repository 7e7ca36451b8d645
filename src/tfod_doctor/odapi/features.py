"""The OD API's feature table: every key ``TfExampleDecoder`` parses, its kind and count (spec §1).

The table is data. :func:`decoder_keys` gives the keys parsed under a set of InputReader flags
(anything with the attributes of :class:`tfod_doctor.checks.context.InputFlags`); keys outside it
are ignored by the decoder without a word.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tfod_doctor.records import Kind

IMAGE = "image/encoded"
FORMAT = "image/format"
SOURCE_ID = "image/source_id"
HEIGHT = "image/height"
WIDTH = "image/width"
YMIN = "image/object/bbox/ymin"
XMIN = "image/object/bbox/xmin"
YMAX = "image/object/bbox/ymax"
XMAX = "image/object/bbox/xmax"
#: The four box lists in the order the decoder assembles a box.
BOX_KEYS = (YMIN, XMIN, YMAX, XMAX)
LABEL = "image/object/class/label"
TEXT = "image/object/class/text"
AREA = "image/object/area"
IS_CROWD = "image/object/is_crowd"
DIFFICULT = "image/object/difficult"
GROUP_OF = "image/object/group_of"
WEIGHT = "image/object/weight"
IMAGE_LABEL = "image/class/label"
IMAGE_TEXT = "image/class/text"
NEG_CATEGORY_IDS = "image/neg_category_ids"
NOT_EXHAUSTIVE_IDS = "image/not_exhaustive_category_ids"
MASK = "image/object/mask"
MASK_WEIGHT = "image/object/mask/weight"
KEYPOINT_X = "image/object/keypoint/x"
KEYPOINT_Y = "image/object/keypoint/y"
KEYPOINT_VISIBILITY = "image/object/keypoint/visibility"
KEYPOINT_Z = "image/object/keypoint/z"
KEYPOINT_Z_WEIGHTS = "image/object/keypoint/z/weights"
ADDITIONAL_CHANNELS = "image/additional_channels/encoded"
MULTICLASS_SCORES = "image/object/class/multiclass_scores"
CONTEXT_FEATURES = "image/context_features"
CONTEXT_FEATURE_LENGTH = "image/context_feature_length"
DENSEPOSE_NUM = "image/object/densepose/num"
DENSEPOSE_PART = "image/object/densepose/part_index"
DENSEPOSE_X = "image/object/densepose/x"
DENSEPOSE_Y = "image/object/densepose/y"
DENSEPOSE_U = "image/object/densepose/u"
DENSEPOSE_V = "image/object/densepose/v"
TRACK_ID = "image/object/track/label"

#: The keys a detection record is written with (the fixed names the decoder reads; there is no
#: setting to rename them).
DETECTION_KEYS = (IMAGE, FORMAT, SOURCE_ID, HEIGHT, WIDTH, *BOX_KEYS, LABEL, TEXT)

#: Per-box lists the OD API reshapes to ``[num_boxes, -1]`` (a length that is not a multiple of the
#: box count stops training with "Input to reshape ...").
RESHAPED_PER_BOX = (AREA, IS_CROWD, DIFFICULT)
#: Per-box lists padded or clipped on their own (a wrong length silently misaligns them).
PADDED_PER_BOX = (GROUP_OF, WEIGHT)


@dataclass(frozen=True)
class KeySpec:
    """One key the decoder parses: its kind, its count, and what turns it on."""

    key: str
    kind: Kind
    #: ``None`` for VarLen (any count); otherwise the exact number of values FixedLen wants.
    count: int | None = None
    #: FixedLen without a default: a record without the key fails to parse.
    required: bool = False
    #: The InputReader setting that makes the decoder parse the key (``None``: always parsed).
    flag: str | None = None
    #: What the key holds, in a few words.
    doc: str = ""

    @property
    def fixed(self) -> bool:
        """Whether TensorFlow parses it as FixedLen (exact count) rather than VarLen."""
        return self.count is not None


def _var(key: str, kind: Kind, doc: str, flag: str | None = None) -> KeySpec:
    return KeySpec(key, kind, None, False, flag, doc)


def _scalar(key: str, kind: Kind, doc: str) -> KeySpec:
    return KeySpec(key, kind, 1, False, None, doc)


_B, _F, _I = Kind.BYTES, Kind.FLOAT, Kind.INT64

#: Keys the decoder always parses (``data_decoders/tf_example_decoder.py``).
ALWAYS: tuple[KeySpec, ...] = (
    _scalar(IMAGE, _B, "the encoded image (JPEG, PNG or BMP)"),
    _scalar(FORMAT, _B, "informational; only 'raw' changes decoding"),
    _scalar("image/filename", _B, "informational"),
    _scalar("image/key/sha256", _B, "informational"),
    _scalar(SOURCE_ID, _B, "hashed into the image id eval uses"),
    _scalar(HEIGHT, _I, "stored height; used only to reshape numerical masks"),
    _scalar(WIDTH, _I, "stored width; used only to reshape numerical masks"),
    _var(IMAGE_TEXT, _B, "image-level class names"),
    _var(IMAGE_LABEL, _I, "image-level class ids"),
    _var(NEG_CATEGORY_IDS, _I, "verified negative class ids"),
    _var(NOT_EXHAUSTIVE_IDS, _I, "not exhaustively labelled class ids"),
    _var("image/class/confidence", _F, "image-level label confidences"),
    _var(XMIN, _F, "normalized left edges"),
    _var(XMAX, _F, "normalized right edges"),
    _var(YMIN, _F, "normalized top edges"),
    _var(YMAX, _F, "normalized bottom edges"),
    _var(LABEL, _I, "1-based class ids"),
    _var(TEXT, _B, "class names, read through the label map"),
    _var(AREA, _F, "box areas for COCO eval"),
    _var(IS_CROWD, _I, "crowd flags"),
    _var(DIFFICULT, _I, "difficult flags (PASCAL eval)"),
    _var(GROUP_OF, _I, "group-of flags (OID eval)"),
    _var(WEIGHT, _F, "per-box loss weights"),
)


@dataclass(frozen=True)
class FlagGroup:
    """Keys that only an InputReader setting makes the decoder read."""

    flag: str
    #: How to turn it on in pipeline.config.
    setting: str
    keys: tuple[str, ...]
    #: Whether a record with boxes but without these keys fails (the keys are gathered per box).
    needed_per_box: bool = False


FLAG_GROUPS: tuple[FlagGroup, ...] = (
    FlagGroup("load_instance_masks", "load_instance_masks: true", (MASK, MASK_WEIGHT), True),
    FlagGroup("num_keypoints", "num_keypoints: K",
              (KEYPOINT_X, KEYPOINT_Y, KEYPOINT_VISIBILITY), True),
    FlagGroup("load_keypoint_depth_features", "load_keypoint_depth_features: true",
              (KEYPOINT_Z, KEYPOINT_Z_WEIGHTS)),
    FlagGroup("num_additional_channels", "num_additional_channels: C", (ADDITIONAL_CHANNELS,)),
    FlagGroup("load_multiclass_scores", "load_multiclass_scores: true", (MULTICLASS_SCORES,)),
    FlagGroup("load_context_features", "load_context_features: true",
              (CONTEXT_FEATURES, CONTEXT_FEATURE_LENGTH)),
    FlagGroup("load_dense_pose", "load_dense_pose: true",
              (DENSEPOSE_NUM, DENSEPOSE_PART, DENSEPOSE_X, DENSEPOSE_Y, DENSEPOSE_U,
               DENSEPOSE_V)),
    FlagGroup("load_track_id", "load_track_id: true", (TRACK_ID,)),
)
FLAG_OF_KEY: dict[str, FlagGroup] = {key: g for g in FLAG_GROUPS for key in g.keys}

#: Keys ``core/standard_fields.py`` names (and the OD API's own creation scripts write) that the
#: decoder never reads. They are ignored, by design; no finding.
KNOWN_UNUSED: frozenset[str] = frozenset({
    "image/channels", "image/colorspace", "image/object/view", "image/object/truncated",
    "image/object/occluded", "image/object/depiction", "image/object/segment/area",
    "image/segmentation/object", "image/segmentation/object/class", "image/object/id",
    "image/object/class/confidence", "image/object/keypoint/text", "image/object/keypoint/num",
    "image/context_features_image_id_list",
})


def flag_value(flags: Any, name: str) -> Any:
    """A flag's value, with the keypoint depth flag only counting when keypoints are on."""
    value = getattr(flags, name, None)
    if name == "load_keypoint_depth_features":
        return bool(value) and getattr(flags, "num_keypoints", 0) > 0
    return value


def _flag_specs(flags: Any) -> list[KeySpec]:
    specs: list[KeySpec] = []
    if flag_value(flags, "load_instance_masks"):
        png = str(getattr(flags, "mask_type", "NUMERICAL_MASKS")).upper() == "PNG_MASKS"
        specs.append(_var(MASK, _B if png else _F, "instance masks", "load_instance_masks"))
        specs.append(_var(MASK_WEIGHT, _F, "mask weights", "load_instance_masks"))
    if flag_value(flags, "num_keypoints"):
        for key, kind in ((KEYPOINT_X, _F), (KEYPOINT_Y, _F), (KEYPOINT_VISIBILITY, _I)):
            specs.append(_var(key, kind, "keypoints", "num_keypoints"))
    if flag_value(flags, "load_keypoint_depth_features"):
        for key in (KEYPOINT_Z, KEYPOINT_Z_WEIGHTS):
            specs.append(_var(key, _F, "keypoint depths", "load_keypoint_depth_features"))
    channels = flag_value(flags, "num_additional_channels") or 0
    if channels > 0:
        specs.append(KeySpec(ADDITIONAL_CHANNELS, _B, channels, True, "num_additional_channels",
                             "extra single-channel images"))
    if flag_value(flags, "load_multiclass_scores"):
        specs.append(_var(MULTICLASS_SCORES, _F, "per-box class scores", "load_multiclass_scores"))
    if flag_value(flags, "load_context_features"):
        specs.append(_var(CONTEXT_FEATURES, _F, "context features", "load_context_features"))
        specs.append(KeySpec(CONTEXT_FEATURE_LENGTH, _I, 1, True, "load_context_features",
                             "length of one context feature"))
    if flag_value(flags, "load_dense_pose"):
        for key, kind in ((DENSEPOSE_NUM, _I), (DENSEPOSE_PART, _I), (DENSEPOSE_X, _F),
                          (DENSEPOSE_Y, _F), (DENSEPOSE_U, _F), (DENSEPOSE_V, _F)):
            specs.append(_var(key, kind, "DensePose points", "load_dense_pose"))
    if flag_value(flags, "load_track_id"):
        specs.append(_var(TRACK_ID, _I, "track ids", "load_track_id"))
    return specs


@lru_cache(maxsize=64)
def _cached(flags: Any) -> dict[str, KeySpec]:
    return {spec.key: spec for spec in (*ALWAYS, *_flag_specs(flags))}


def decoder_keys(flags: Any = None) -> dict[str, KeySpec]:
    """The keys the decoder parses under ``flags`` (``None``: no flags set), by key."""
    try:
        return _cached(flags)
    except TypeError:  # unhashable flags object
        return {spec.key: spec for spec in (*ALWAYS, *_flag_specs(flags))}


@dataclass(frozen=True)
class _AllFlags:
    load_instance_masks: bool = True
    mask_type: str = "NUMERICAL_MASKS"
    num_keypoints: int = 1
    load_keypoint_depth_features: bool = True
    num_additional_channels: int = 1
    load_multiclass_scores: bool = True
    load_context_features: bool = True
    load_dense_pose: bool = True
    load_track_id: bool = True


def _kinds_of_keys() -> dict[str, frozenset[Kind]]:
    kinds: dict[str, set[Kind]] = {}
    for flags in (_AllFlags(), _AllFlags(mask_type="PNG_MASKS")):
        for spec in (*ALWAYS, *_flag_specs(flags)):
            kinds.setdefault(spec.key, set()).add(spec.kind)
    return {key: frozenset(value) for key, value in kinds.items()}


#: Every key the decoder can parse under some setting, with the kinds it may parse it as.
KINDS_OF_KEY: dict[str, frozenset[Kind]] = _kinds_of_keys()


@lru_cache(maxsize=64)
def flag_requirements(flags: Any) -> tuple[tuple[KeySpec, ...], tuple[FlagGroup, ...]]:
    """Under ``flags``: the required keys, and the active groups needed for every box."""
    required = tuple(spec for spec in decoder_keys(flags).values() if spec.required)
    per_box = tuple(g for g in FLAG_GROUPS if g.needed_per_box and flag_value(flags, g.flag))
    return required, per_box


def every_od_key() -> frozenset[str]:
    """Every key the decoder can parse under some setting."""
    return frozenset(KINDS_OF_KEY)


def tf_kind_message(key: str, spec: KeySpec, actual: Kind) -> str:
    """TensorFlow's parse error for a feature of the wrong kind (TF 2.x wording)."""
    if spec.fixed:
        return (f"Key: {key}.  Data types don't match. Data type: {actual.tf_name} but expected "
                f"type: {spec.kind.tf_name}")
    return (f"Key: {key}.  Data types don't match. Expected type: {spec.kind.tf_name}, "
            f"Actual type: {actual.tf_name}")


def tf_count_message(key: str, spec: KeySpec, count: int) -> str:
    """TensorFlow's parse error for a FixedLen feature with the wrong number of values."""
    if spec.kind is Kind.BYTES and spec.count is not None and count > spec.count:
        detail = "Parsing bytes_list failed."
    else:
        detail = f"Some {spec.kind.value} slice was not parsed."
    return f"Key: {key}.  Can't parse serialized Example: {detail}"


def tf_required_message(key: str, spec: KeySpec) -> str:
    """TensorFlow's parse error for a required (FixedLen, no default) key that is absent."""
    return (f"Feature: {key} (data type: {spec.kind.tf_name}) is required but could not be "
            "found.")
