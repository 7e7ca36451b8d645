"""The conversion pipeline: annotations → categories → splits → images (in parallel) → records.

Every format's importer produces a :class:`~tfod_doctor.converters.model.SourceData`; from there
on the work is the same for all of them: build the categories, check what would be lost, split
the images, read them on a pool of threads, turn boxes into normalized OD API boxes (skipping and
reporting the bad ones), and write shards, label map, input-reader snippet and manifest.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tfod_doctor._version import __version__
from tfod_doctor.converters import images as imgs
from tfod_doctor.converters.labelmap import input_reader_text, label_map_text
from tfod_doctor.converters.model import (
    CanonicalBox,
    CanonicalSample,
    Categories,
    Category,
    Losses,
    Problem,
    ProblemKind,
    Skipped,
    SourceData,
    SourceItem,
)
from tfod_doctor.converters.options import EDGE_TOLERANCE, ConvertOptions
from tfod_doctor.converters.outputs import (
    MANIFEST,
    ConversionStopped,
    Progress,
    ordered_map,
    write_json,
)
from tfod_doctor.converters.shards import ShardedWriter, shard_pattern
from tfod_doctor.converters.tfexample import OptionalKeys, encode_sample
from tfod_doctor.errors import UserError
from tfod_doctor.guard import OutputFolder, Protected
from tfod_doctor.records.inputs import IMAGE, read_input_bytes

LABEL_MAP = "label_map.pbtxt"
INPUT_READER = "input_reader.config"
_OUR_OUTPUTS = ("*-?????-of-?????.tfrecord", LABEL_MAP, INPUT_READER, MANIFEST)
#: A declared size whose aspect ratio is within this of the image's is a resized copy.
_SAME_ASPECT = 0.01

Importer = Callable[[Path, ConvertOptions], SourceData]


@dataclass
class SplitSummary:
    """What was written for one split."""

    name: str
    files: list[Path] = field(default_factory=list)
    images: int = 0
    boxes: int = 0
    negatives: int = 0
    max_boxes: int = 0
    bytes: int = 0
    per_class: Counter[str] = field(default_factory=Counter)

    def add(self, sample: CanonicalSample, size: int) -> None:
        """Count one written sample."""
        self.images += 1
        self.boxes += len(sample.boxes)
        self.negatives += not sample.boxes
        self.max_boxes = max(self.max_boxes, len(sample.boxes))
        self.bytes += size
        self.per_class.update(box.text for box in sample.boxes)

    def to_dict(self, out: Path) -> dict[str, Any]:
        """The manifest form (file names relative to the output folder)."""
        return {
            "files": [str(p.relative_to(out)) for p in self.files],
            "images": self.images,
            "boxes": self.boxes,
            "negatives": self.negatives,
            "max_boxes_per_image": self.max_boxes,
            "bytes": self.bytes,
            "per_class": dict(sorted(self.per_class.items())),
        }


@dataclass
class ConversionResult:
    """What a conversion did: outputs, counts per split and class, problems, losses."""

    format: str
    sources: list[str]
    out: Path
    categories: Categories
    splits: dict[str, SplitSummary]
    problems: list[Problem]
    losses: Losses
    notes: list[str]
    label_map: Path
    input_reader: Path
    manifest: Path
    images_read: int = 0
    images_rotated: int = 0
    images_reencoded: int = 0
    #: The largest change float32 storage made to a box corner, in pixels.
    max_rounding_px: float = 0.0

    @property
    def files(self) -> list[Path]:
        """Every record file written, split by split."""
        return [path for split in self.splits.values() for path in split.files]

    @property
    def skipped_annotations(self) -> int:
        """Boxes left out, counting those of skipped images."""
        return sum(p.boxes for p in self.problems if not p.is_note)

    @property
    def skipped_images(self) -> int:
        """Images left out entirely."""
        return sum(1 for p in self.problems if p.skipped is Skipped.IMAGE)

    @property
    def exit_code(self) -> int:
        """0 when everything was converted, 1 when annotations or images were skipped."""
        return 1 if any(not p.is_note for p in self.problems) else 0


# -- categories ---------------------------------------------------------------------------------


def _similar_names(categories: Categories) -> list[Problem]:
    groups: dict[str, list[str]] = {}
    for category in categories:
        groups.setdefault(" ".join(category.name.lower().split()), []).append(category.name)
    return [
        Problem(ProblemKind.SIMILAR_NAMES,
                f"classes {' and '.join(map(repr, names))} differ only in case or spaces; they "
                "are different classes now. If they are one class, fix the annotations",
                skipped=Skipped.NOTHING)
        for names in groups.values() if len(names) > 1
    ]


def build_categories(data: SourceData, options: ConvertOptions
                     ) -> tuple[Categories, dict[Any, Category]]:
    """The label-map categories, and the category of each key the boxes use."""
    if data.categories is None:
        names = sorted({box.category for item in data.items for box in item.boxes}, key=str)
        items = [Category(i, str(name)) for i, name in enumerate(names, start=1)]
        keys = dict(zip(names, items, strict=True))
    else:
        items, keys = [], {}
        for number, declared in enumerate(data.categories, start=1):
            label = number if declared.label is None else declared.label
            if options.keep_category_ids:
                if not isinstance(declared.key, int) or declared.key < 1:
                    raise UserError(f"--keep-category-ids: category {declared.name!r} has id "
                                    f"{declared.key!r}; label-map ids must be 1 or more")
                label = declared.key
            source_id = declared.key if isinstance(declared.key, int) else None
            category = Category(label, declared.name, source_id, declared.supercategory)
            items.append(category)
            keys[declared.key] = category
    try:
        categories = Categories(items)
    except ValueError as exc:
        names = Counter(c.name for c in items)
        twice = sorted(name for name, n in names.items() if n > 1)
        detail = f": {twice}" if twice else ""
        raise UserError(f"the categories are ambiguous ({exc}{detail}); the OD API looks "
                        "classes up by name, so each name must be unique") from None
    return categories, keys


def _unknown_categories(data: SourceData, keys: dict[Any, Category]) -> list[Problem]:
    known = ", ".join(repr(key) if key == category.name else f"{key} {category.name!r}"
                      for key, category in list(keys.items())[:6])
    known += " ..." if len(keys) > 6 else ""
    problems = []
    for item in data.items:
        kept = []
        for box in item.boxes:
            if box.category in keys:
                kept.append(box)
                continue
            problems.append(Problem(
                ProblemKind.UNKNOWN_CATEGORY,
                f"{box.text}: class {box.category!r} is not a known category ({known})",
                box.where, item.image_ref,
            ))
        item.boxes = kept
    return problems


# -- splits -------------------------------------------------------------------------------------


def assign_splits(items: Sequence[SourceItem], options: ConvertOptions
                  ) -> dict[str, list[SourceItem]]:
    """The items of each split, in the order they are written (deterministic for a seed)."""
    order = list(range(len(items)))
    random.Random(options.seed).shuffle(order)
    rank = {index: position for position, index in enumerate(order)}
    if options.eval_ratio is not None:
        held = round(len(items) * options.eval_ratio)
        if len(items) >= 2:
            held = min(max(held, 1), len(items) - 1)
        eval_indices = set(order[:held])
        names = ["eval" if i in eval_indices else "train" for i in range(len(items))]
    elif any(item.split for item in items):
        names = [item.split or "train" for item in items]
    else:
        names = [options.name] * len(items)
    splits: dict[str, list[int]] = {}
    for split in ("train", "eval"):
        if split in names:
            splits[split] = []
    for index, name in enumerate(names):
        splits.setdefault(name, []).append(index)
    if options.shuffle:
        for indices in splits.values():
            indices.sort(key=rank.__getitem__)
    return {name: [items[i] for i in indices] for name, indices in splits.items()}


# -- boxes --------------------------------------------------------------------------------------


@dataclass
class _Frame:
    """The pixel frame boxes are measured in, and the image's real size."""

    width: float
    height: float
    image_width: int
    image_height: int

    @property
    def scale(self) -> tuple[float, float]:
        return self.image_width / self.width, self.image_height / self.height


def _frame(item: SourceItem, image: imgs.PreparedImage) -> tuple[_Frame | None, Problem | None]:
    """The frame of the item's pixel boxes; a problem when the declared size cannot be it."""
    actual = (image.width, image.height)
    declared = item.declared_size
    pixel_boxes = any(not box.normalized for box in item.boxes)
    if declared is None or declared == actual or not pixel_boxes:
        return _Frame(*actual, *actual), None
    dw, dh = declared
    if dw > 0 and dh > 0 and abs((dw / dh) / (actual[0] / actual[1]) - 1) < _SAME_ASPECT:
        note = Problem(
            ProblemKind.RESCALED_BOXES,
            f"the annotations say the image is {dw}×{dh}, the file is {actual[0]}×{actual[1]} "
            "(same shape, resized): boxes are scaled to the file",
            item.where, item.image_ref, Skipped.NOTHING,
        )
        return _Frame(dw, dh, *actual), note
    rotated = " (its EXIF rotation was applied)" if image.rotated else ""
    hint = (" — an EXIF rotation? try --exif ignore or --exif apply"
            if image.orientation != 1 else "")
    return None, Problem(
        ProblemKind.SIZE_MISMATCH,
        f"the annotations say the image is {dw}×{dh}, the file is {actual[0]}×{actual[1]}"
        f"{rotated}; its boxes cannot be placed{hint}",
        item.where, item.image_ref, Skipped.IMAGE, len(item.boxes),
    )


def _outside(xmin: float, ymin: float, xmax: float, ymax: float) -> list[str]:
    sides = []
    if xmin < -EDGE_TOLERANCE:
        sides.append("left")
    if ymin < -EDGE_TOLERANCE:
        sides.append("top")
    if xmax > 1 + EDGE_TOLERANCE:
        sides.append("right")
    if ymax > 1 + EDGE_TOLERANCE:
        sides.append("bottom")
    return sides


def _edges(sides: list[str]) -> str:
    return f"{' and '.join(sides)} edge{'s' if len(sides) > 1 else ''}"


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0)


class _Rounding:
    """The largest change float32 storage makes to a box corner, in pixels."""

    def __init__(self) -> None:
        self.max_px = 0.0

    def add(self, values: Sequence[float], sizes: Sequence[float]) -> None:
        stored = np.asarray(values, dtype=np.float32).astype(np.float64)
        change = np.abs(stored - np.asarray(values)) * np.asarray(sizes)
        self.max_px = max(self.max_px, float(change.max()))


def build_boxes(item: SourceItem, frame: _Frame, keys: dict[Any, Category],
                clip: bool, rounding: _Rounding) -> tuple[list[CanonicalBox], list[Problem]]:
    """Normalize and check the boxes of one image; bad ones become problems."""
    boxes: list[CanonicalBox] = []
    problems: list[Problem] = []
    sx, sy = frame.scale
    for box in item.boxes:
        fw, fh = (1.0, 1.0) if box.normalized else (frame.width, frame.height)
        xmin, ymin, xmax, ymax = box.xmin / fw, box.ymin / fh, box.xmax / fw, box.ymax / fh
        size = f"{frame.image_width}×{frame.image_height}"
        if not (xmax > xmin and ymax > ymin):
            what = ("inverted (min > max: drawn backwards?)" if xmax < xmin or ymax < ymin
                    else "empty (zero width or height)")
            problems.append(Problem(ProblemKind.DEGENERATE_BOX, f"{box.text} is {what}",
                                    box.where, item.image_ref))
            continue
        sides = _outside(xmin, ymin, xmax, ymax)
        inside = xmin < 1 and ymin < 1 and xmax > 0 and ymax > 0
        if sides and not (clip and inside):
            where_to = "lies entirely outside" if not inside else (
                f"sticks out past the {_edges(sides)} of")
            problems.append(Problem(ProblemKind.BOX_OUTSIDE_IMAGE,
                                    f"{box.text} {where_to} the {size} image", box.where,
                                    item.image_ref))
            continue
        if sides:
            problems.append(Problem(ProblemKind.CLIPPED_BOX,
                                    f"{box.text} was clipped to the {_edges(sides)} of the "
                                    f"{size} image", box.where, item.image_ref,
                                    Skipped.NOTHING))
        corners = [_clamp(ymin), _clamp(xmin), _clamp(ymax), _clamp(xmax)]
        if not box.normalized:
            rounding.add(corners, [frame.height, frame.width] * 2)
        category = keys[box.category]
        flags = box.flags
        if flags.area is not None and (sx, sy) != (1.0, 1.0):
            flags = replace(flags, area=flags.area * sx * sy)
        boxes.append(CanonicalBox(*corners, category.id, category.name, flags))
    return boxes, problems


# -- images -------------------------------------------------------------------------------------


def load_image(item: SourceItem, options: imgs.ImageOptions) -> imgs.PreparedImage | Problem:
    """Read and prepare an item's image; a problem (the image is skipped) when that fails."""
    def problem(kind: ProblemKind, message: str) -> Problem:
        return Problem(kind, message, item.where, item.image_ref, Skipped.IMAGE, len(item.boxes))

    if item.image_path is None:
        return problem(ProblemKind.MISSING_IMAGE, f"no image file found for {item.image_ref!r}")
    try:
        data = read_input_bytes(item.image_path, IMAGE)
    except FileNotFoundError:
        return problem(ProblemKind.MISSING_IMAGE, f"the image file {item.image_path} does not "
                       "exist")
    except OSError as exc:
        return problem(ProblemKind.UNREADABLE_IMAGE,
                       f"cannot read {item.image_path}: {exc.strerror or exc}")
    except ValueError:  # a NUL character: no file system allows it in a name
        return problem(ProblemKind.MISSING_IMAGE, f"the image file name {item.image_path!r} "
                       "holds a NUL character: no such file can exist")
    try:
        return imgs.prepare(data, item.declared_size, options)
    except imgs.ImageError as exc:
        return problem(ProblemKind.UNREADABLE_IMAGE, f"{item.image_path}: {exc}")


# -- the run ------------------------------------------------------------------------------------


def _merge(main: SourceData, other: SourceData) -> SourceData:
    """One dataset from a main and an eval source, with one set of categories."""
    for item in main.items:
        item.split = "train"
    for item in other.items:
        item.split = "eval"
    categories = main.categories
    if main.categories is not None and other.categories is not None:
        by_key = {c.key: c for c in main.categories}
        for category in other.categories:
            known = by_key.get(category.key)
            if known is not None and known.name != category.name:
                raise UserError(f"{other.sources[0]} calls category {category.key!r} "
                                f"{category.name!r}, {main.sources[0]} calls it {known.name!r}")
            by_key.setdefault(category.key, category)
        categories = list(by_key.values())
        if all(isinstance(c.key, int) for c in categories):
            categories.sort(key=lambda c: c.key)
    elif (main.categories is None) != (other.categories is None):
        categories = main.categories or other.categories
    merged = SourceData(main.format, main.sources + other.sources, categories,
                        main.items + other.items, main.problems + other.problems,
                        main.losses, {**other.extras, **main.extras},
                        main.notes + other.notes)
    merged.losses.update(other.losses)
    return merged


def _unique_source_ids(data: SourceData) -> list[Problem]:
    """Keep the first image of each source id: eval drops later duplicates without a word."""
    seen: dict[str, SourceItem] = {}
    kept, problems = [], []
    for item in data.items:
        first = seen.setdefault(item.source_id, item)
        if first is item:
            kept.append(item)
            continue
        problems.append(Problem(
            ProblemKind.DUPLICATE_IMAGE,
            f"{item.image_ref!r} has the same source id {item.source_id!r} as {first.image_ref!r} "
            f"({first.where}); only the first is converted",
            item.where, item.image_ref, Skipped.IMAGE, len(item.boxes)))
    data.items = kept
    return problems


def _check_images_exist(data: SourceData, options: ConvertOptions) -> None:
    with_paths = [item for item in data.items if item.image_path]
    if with_paths and not any(os.path.exists(item.image_path) for item in with_paths):
        folder = os.path.dirname(with_paths[0].image_path or "")
        advice = ("check --images" if options.images else
                  "name the folder that holds them with --images")
        raise UserError(f"none of the {len(with_paths)} images is where the annotations put "
                        f"them (for example {with_paths[0].image_path}, looked in "
                        f"{folder or '.'}); {advice}")


def _lossy_error(losses: Losses) -> UserError:
    lines = "\n".join(f"  - {line}" for line in losses.describe())
    return UserError("this conversion would lose information the records cannot hold:\n"
                     f"{lines}\nPass --allow-lossy to convert anyway (the manifest lists what "
                     "was dropped).")


class _Run:
    """The state of one conversion while it writes."""

    def __init__(self, options: ConvertOptions, progress: Progress | None) -> None:
        self.options = options
        self.progress = progress
        self.problems: list[Problem] = []
        self.rounding = _Rounding()
        self.rotated = self.reencoded = self.read = 0

    def report(self, problem: Problem) -> None:
        self.problems.append(problem)
        if self.options.strict and not problem.is_note:
            raise ConversionStopped(problem)

    def write_split(self, name: str, items: list[SourceItem], keys: dict[Any, Category],
                    optional: OptionalKeys, writer: ShardedWriter) -> SplitSummary:
        summary = SplitSummary(name)
        workers = self.options.workers or min(8, 2 * (os.cpu_count() or 1))
        loaded = ordered_map(lambda it: load_image(it, self.options.image), items, workers)
        try:
            for item, image in zip(items, loaded, strict=True):
                self.write_one(item, image, keys, optional, writer, summary)
        finally:
            loaded.close()
        return summary

    def write_one(self, item: SourceItem, image: imgs.PreparedImage | Problem,
                  keys: dict[Any, Category], optional: OptionalKeys, writer: ShardedWriter,
                  summary: SplitSummary) -> None:
        """Turn one item and its image into a record (or into problems)."""
        if self.progress is not None:
            self.progress(1)
        if isinstance(image, Problem):
            self.report(image)
            return
        self.read += 1
        self.rotated += image.rotated
        self.reencoded += image.reencoded is not None
        self.note_image(item, image)
        frame, problem = _frame(item, image)
        if problem is not None:
            self.report(problem)
        if frame is None:
            return
        boxes, problems = build_boxes(item, frame, keys, self.options.clip_boxes,
                                      self.rounding)
        for problem in problems:
            self.report(problem)
        sample = CanonicalSample(image.data, image.format, image.width, image.height,
                                 item.image_ref, item.source_id, boxes)
        payload = encode_sample(sample, optional)
        writer.write(payload)
        summary.add(sample, len(payload))

    def note_image(self, item: SourceItem, image: imgs.PreparedImage) -> None:
        if image.note:
            self.report(Problem(ProblemKind.EXIF_ASSUMED, image.note, item.where,
                                item.image_ref, Skipped.NOTHING))
        if image.reencoded and not image.rotated and self.options.image.reencode.value == "keep":
            self.report(Problem(ProblemKind.REENCODED_IMAGE,
                                f"stored as {image.format.upper()}: {image.reencoded}",
                                item.where, item.image_ref, Skipped.NOTHING))


def run_conversion(
    importer: Importer,
    source: Path,
    out: Path,
    options: ConvertOptions,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ConversionResult:
    """Convert one annotation source (and an optional eval source) into ``out``.

    ``on_total`` is told how many images will be read, before reading starts (for progress
    bars); ``progress`` is advanced by one per image.
    """
    if options.eval_source is not None and options.eval_ratio is not None:
        raise UserError("give --eval (a separate eval source) or --eval-ratio, not both")
    if options.eval_ratio is not None and not 0 < options.eval_ratio < 1:
        raise UserError(f"--eval-ratio must be between 0 and 1, not {options.eval_ratio}")
    data = importer(source, options)
    if options.eval_source is not None:
        data = _merge(data, importer(options.eval_source, options))
    categories, keys = build_categories(data, options)
    run = _Run(options, progress)
    found = [*data.problems, *_unique_source_ids(data), *_unknown_categories(data, keys),
             *_similar_names(categories)]
    for problem in found:
        run.report(problem)
    if data.losses and not options.allow_lossy:
        raise _lossy_error(data.losses)
    if not data.items:
        why = f" (the first problem: {data.problems[0].where}: {data.problems[0].message})" \
            if data.problems else ""
        raise UserError(f"{source} holds no images to convert{why}")
    _check_images_exist(data, options)
    splits = assign_splits(data.items, options)
    optional = OptionalKeys.needed_for(box.flags for item in data.items for box in item.boxes)
    with OutputFolder(out, _OUR_OUTPUTS, _conversion_inputs(source, options, data),
                      overwrite=options.overwrite):
        if on_total is not None:
            on_total(len(data.items))
        writers = {name: ShardedWriter(out, name, options.sharding) for name in splits}
        summaries: dict[str, SplitSummary] = {}
        try:
            for name, items in splits.items():
                summaries[name] = run.write_split(name, items, keys, optional, writers[name])
        except BaseException:
            for writer in writers.values():
                writer.abort()
            raise
        for name, writer in writers.items():
            summaries[name].files = writer.close()
        return _finish(data, options, out, categories, summaries, run)


def _conversion_inputs(source: Path, options: ConvertOptions, data: SourceData) -> Protected:
    """What a conversion reads: no output may be or hold it (the images by their folders)."""
    folders = {os.path.dirname(item.image_path) or "." for item in data.items
               if item.image_path}
    return Protected.of([source, options.eval_source, options.images, *options.inputs,
                         *sorted(folders)])


def _finish(data: SourceData, options: ConvertOptions, out: Path, categories: Categories,
            summaries: dict[str, SplitSummary], run: _Run) -> ConversionResult:
    label_map = out / LABEL_MAP
    label_map.write_text(label_map_text(categories), encoding="utf-8")
    patterns = {name: str((out / shard_pattern(name, len(s.files))).resolve())
                for name, s in summaries.items() if s.files}
    max_boxes = max((s.max_boxes for s in summaries.values()), default=0)
    reader = out / INPUT_READER
    reader.write_text(input_reader_text(patterns, label_map.resolve(), len(categories),
                                        max_boxes), encoding="utf-8")
    result = ConversionResult(
        format=data.format, sources=data.sources, out=out, categories=categories,
        splits=summaries, problems=sorted(run.problems, key=lambda p: p.where.sort_key()),
        losses=data.losses, notes=data.notes,
        label_map=label_map, input_reader=reader, manifest=out / MANIFEST,
        images_read=run.read, images_rotated=run.rotated, images_reencoded=run.reencoded,
        max_rounding_px=run.rounding.max_px,
    )
    write_json(result.manifest, manifest(result, options, data.extras))
    return result


def manifest(result: ConversionResult, options: ConvertOptions, extras: dict[str, Any]
             ) -> dict[str, Any]:
    """The ``conversion.json`` of a conversion: enough to undo it (``export``) and audit it."""
    sharding = options.sharding
    return {
        "tool": "tfod-doctor",
        "version": __version__,
        "format": result.format,
        "sources": result.sources,
        "options": {
            "images": str(options.images) if options.images else None,
            "eval_ratio": options.eval_ratio,
            "seed": options.seed,
            "shuffle": options.shuffle,
            "num_shards": sharding.num_shards,
            "shard_bytes": sharding.shard_bytes,
            "exif": options.image.exif.value,
            "reencode": options.image.reencode.value,
            "quality": options.image.quality,
            "clip_boxes": options.clip_boxes,
            "allow_lossy": options.allow_lossy,
            "keep_category_ids": options.keep_category_ids,
        },
        "categories": result.categories.to_list(),
        "splits": {name: s.to_dict(result.out) for name, s in result.splits.items()},
        "images": {"read": result.images_read, "exif_rotated": result.images_rotated,
                   "reencoded": result.images_reencoded},
        "max_box_rounding_px": result.max_rounding_px,
        "skipped": {"annotations": result.skipped_annotations,
                    "images": result.skipped_images},
        "lost": result.losses.to_list(),
        "notes": result.notes,
        "problems": [p.to_dict() for p in result.problems],
        #: Format-specific data an exporter can restore (COCO ``info`` and ``licenses``).
        result.format: extras,
    }
