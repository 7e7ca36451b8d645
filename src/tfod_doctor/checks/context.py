"""What the checks need to know beyond the records: label map, num_classes, reader flags."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tfod_doctor.catalogue import RuleFilter
from tfod_doctor.findings import Location
from tfod_doctor.odapi.labels import LabelTable
from tfod_doctor.policy import FindingPolicy

__all__ = ["Batching", "CheckContext", "Expectations", "InputFlags", "LabelTable",
           "QualityThresholds"]


@dataclass(frozen=True)
class InputFlags:
    """The InputReader switches that add keys to the decoder (spec §1)."""

    load_instance_masks: bool = False
    mask_type: str = "NUMERICAL_MASKS"
    num_keypoints: int = 0
    load_keypoint_depth_features: bool = False
    num_additional_channels: int = 0
    load_multiclass_scores: bool = False
    load_context_features: bool = False
    load_dense_pose: bool = False
    load_track_id: bool = False


@dataclass(frozen=True)
class Batching:
    """How a pipeline.config reader batches its records (for rules that count records)."""

    batch_size: int
    #: 0 reads the records forever (no batch is ever cut short).
    num_epochs: int = 0
    drop_remainder: bool = True
    sample_1_of_n: int = 1
    #: Where the batch size is set, to point findings at.
    location: Location = field(default_factory=Location)
    source_line: str = ""


@dataclass(frozen=True)
class QualityThresholds:
    """The limits of the quality rules (D008-D013, D017-D019): ``[thresholds]``."""

    #: D009: a class with fewer train boxes than this is rare...
    min_boxes_per_class: int = 50
    #: ... when the median class has this many times its boxes.
    rare_factor: float = 5.0
    #: D010: one class holds more than this share of the boxes.
    dominant_share: float = 0.8
    #: D012, D013, D018: this many times larger (or smaller) than the usual value is an outlier.
    outlier_factor: float = 10.0
    #: D019: a box this many times wider (or taller) than its class's median shape (width /
    #: height) is an outlier.
    shape_factor: float = 5.0
    #: D013: an image is crowded only above this many boxes, whatever the median.
    crowded_min_boxes: int = 20
    #: D008: the L-infinity distance (class frequencies, image sizes) above which splits skew.
    skew_linf: float = 0.25
    #: D008: the Jensen-Shannon divergence (box sizes and shapes, boxes per image) above which
    #: splits skew.
    skew_js: float = 0.1
    #: B008 and the per-class statistics: a box side under this many pixels is tiny.
    tiny_box_pixels: float = 2.0
    #: D017: images whose perceptual hashes differ in at most this many of 256 bits are
    #: near-duplicates (copies measure 0-34 bits apart, other photos of a scene 100 or more:
    #: see ``checks.near_duplicates``).
    near_duplicate_bits: int = 32


@dataclass(frozen=True)
class Expectations:
    """What a team expects of its dataset: a project file's ``[expect]`` (D014-D016)."""

    #: Class names (or ids) that must have boxes in every split.
    classes: tuple[str, ...] = ()
    #: Image sizes as ``(width, height)``: the smallest and the largest allowed.
    min_image_size: tuple[int, int] | None = None
    max_image_size: tuple[int, int] | None = None
    max_boxes_per_image: int | None = None

    def size_fits(self, width: int, height: int) -> bool:
        """Whether an image of this size is in the expected range."""
        low, high = self.min_image_size, self.max_image_size
        return ((low is None or (width >= low[0] and height >= low[1]))
                and (high is None or (width <= high[0] and height <= high[1])))

    def describe_sizes(self) -> str:
        """The range as a user wrote it: ``320x240 to 4096x4096``."""
        low = "x".join(map(str, self.min_image_size)) if self.min_image_size else "any"
        high = "x".join(map(str, self.max_image_size)) if self.max_image_size else "any"
        return f"{low} to {high}"


@dataclass(frozen=True)
class CheckContext:
    """Everything the record and dataset checks read, besides the records themselves.

    Fields that are ``None`` are unknown (no config given), and rules that need them stay quiet.
    """

    label_map: LabelTable | None = None
    #: Whether the input reader sets ``label_map_path`` (class/text is only read when it does).
    label_map_in_reader: bool | None = None
    num_classes: int | None = None
    max_boxes: int | None = None
    flags: InputFlags = field(default_factory=InputFlags)
    #: ``--deep``: decode every image fully instead of reading headers only.
    deep: bool = False
    rule_filter: RuleFilter = field(default_factory=RuleFilter)
    #: Keep at most this many findings per rule in the report (counts stay exact).
    max_findings_per_rule: int = 1000
    #: Split (``train``, ``eval``) -> how its reader batches records, from a pipeline.config.
    batching: dict[str, Batching] = field(default_factory=dict)
    #: Split -> the reader settings of that split (label map, flags, max boxes), when a
    #: pipeline.config gives each split its own reader.
    by_role: dict[str, CheckContext] = field(default_factory=dict)
    #: Severity overrides, per-file ignores and the baseline (a project file, ``--baseline``).
    policy: FindingPolicy | None = None
    #: The limits of the quality rules, and the team's expectations (a project file).
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    expect: Expectations | None = None
    #: Gather a sample of the boxes for the anchor analysis (``check`` with a config sets it).
    sample_boxes: bool = False
    #: D017: compare perceptual hashes of the images across splits (``--near-duplicates``).
    near_duplicates: bool = False

    def for_role(self, role: str | None) -> CheckContext:
        """The context the records of one split are checked with (its own reader's settings)."""
        own = self.by_role.get(role or "")
        return own if own is not None else self

    def with_reader(self, role: str, **settings: object) -> CheckContext:
        """A copy whose ``role`` split uses other reader settings (``label_map``, ``flags``...)."""
        return replace(self, by_role={**self.by_role,
                                      role: replace(self, by_role={}, **settings)})
