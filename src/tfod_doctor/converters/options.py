"""The options of a conversion, shared by the pipeline and every importer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tfod_doctor.converters.images import ImageOptions
from tfod_doctor.converters.model import SourceCategory
from tfod_doctor.converters.shards import Sharding, check_shard_name

#: A box may stick out of the image by this fraction of its size and be taken as touching the
#: edge: float noise from tools that store x + w or centre ± half-width.
EDGE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ConvertOptions:
    """Everything a conversion can be told besides its source and output folder."""

    #: Where image files are (default: guessed from the layout of each format).
    images: Path | None = None
    #: A second annotation source whose images become the eval split.
    eval_source: Path | None = None
    #: Hold out this fraction of the images for evaluation (by a seeded shuffle).
    eval_ratio: float | None = None
    seed: int = 0
    #: Write records in a seeded random order (the OD API's shuffle buffer is finite).
    shuffle: bool = True
    #: The shard name when the data is not split.
    name: str = "train"
    sharding: Sharding = field(default_factory=Sharding)
    image: ImageOptions = field(default_factory=ImageOptions)
    allow_lossy: bool = False
    strict: bool = False
    #: Clip boxes that stick out of the image to its edges instead of skipping them.
    clip_boxes: bool = False
    #: Threads that read images (default: a few per core).
    workers: int | None = None
    #: The classes, in label-map order (VOC, CSV); names not listed are unknown categories.
    classes: tuple[str, ...] | None = None
    #: ``(id, name)`` of an existing label map to keep (VOC, CSV); other names are unknown.
    label_map: tuple[tuple[int, str], ...] | None = None
    #: Keep COCO's own category ids as label-map ids instead of numbering them 1..N.
    keep_category_ids: bool = False
    #: Replace the outputs of an earlier conversion in the output folder.
    overwrite: bool = False
    #: Other files the conversion reads (a label map): no output may be or hold them.
    inputs: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        check_shard_name(self.name)


def declared_classes(options: ConvertOptions) -> list[SourceCategory] | None:
    """The categories ``--label-map`` or ``--classes`` name (keyed by name), or ``None`` to take
    the names the annotations use."""
    if options.label_map is not None:
        return [SourceCategory(name, name, label=label) for label, name in options.label_map]
    if options.classes is None:
        return None
    return [SourceCategory(name, name) for name in options.classes]
