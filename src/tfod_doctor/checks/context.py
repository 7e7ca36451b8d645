"""What the checks need to know beyond the records: label map, num_classes, reader flags."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tfod_doctor.catalogue import RuleFilter
from tfod_doctor.findings import Location
from tfod_doctor.odapi.labels import LabelTable
from tfod_doctor.policy import FindingPolicy

__all__ = ["Batching", "CheckContext", "InputFlags", "LabelTable"]


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

    def for_role(self, role: str | None) -> CheckContext:
        """The context the records of one split are checked with (its own reader's settings)."""
        own = self.by_role.get(role or "")
        return own if own is not None else self

    def with_reader(self, role: str, **settings: object) -> CheckContext:
        """A copy whose ``role`` split uses other reader settings (``label_map``, ``flags``...)."""
        return replace(self, by_role={**self.by_role,
                                      role: replace(self, by_role={}, **settings)})
