"""YOLO txt labels, laid out as Ultralytics (or LabelImg's YOLO mode) lays them out.

Each image ``…/images/…/x.jpg`` has a label file ``…/labels/…/x.txt`` (or ``x.txt`` beside the
image) with one line per box: ``class cx cy w h``, normalized to the image size. Class names come
from a ``data.yaml`` (``names`` as a list or a dict, ``train`` / ``val`` folders or list files,
``path``) or from ``classes.txt``. An image without a label file, or with an empty one, has no
boxes. Segmentation lines (``class x1 y1 x2 y2 …``) become their bounding box, and pose lines
(``kpt_shape`` in data.yaml) keep their box: both lose the rest (``--allow-lossy``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import yaml

from tfod_doctor.converters.model import (
    Losses,
    Problem,
    ProblemKind,
    Skipped,
    SourceBox,
    SourceCategory,
    SourceData,
    SourceItem,
    Where,
)
from tfod_doctor.converters.options import ConvertOptions
from tfod_doctor.converters.paths import IMAGE_EXTENSIONS, image_list
from tfod_doctor.errors import UserError
from tfod_doctor.records.inputs import read_input_text

FORMAT = "yolo"
#: data.yaml split keys and the split each becomes.
SPLITS = {"train": "train", "val": "eval"}
_YAML_NAMES = ("data.yaml", "dataset.yaml", "data.yml")
#: The most classes named class_K for a data.yaml that gives nc without names.
_MAX_UNNAMED = 10_000
_CLASS_FILES = ("classes.txt", "labels/classes.txt", "obj.names")


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses aliases (``*name``): a data.yaml needs none, and
    aliases of aliases (a "billion laughs" file) make a few lines expand to gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not read: write the values out", mark)
        return super().compose_node(parent, index)


def parse_yaml(text: str) -> Any:
    """Parse YAML text as ``yaml.safe_load`` does, refusing aliases (``yaml.YAMLError``)."""
    return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader: no Python objects


def _read_text(path: Path) -> str:
    """A UTF-8 text file of the dataset; a :class:`UserError` if it cannot be read."""
    try:
        return read_input_text(path, encoding="utf-8-sig", errors="strict")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not UTF-8 text (byte {exc.start})") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    text = _read_text(path)
    try:
        doc = parse_yaml(text)
    except RecursionError:
        raise UserError(f"{path}: its lists or mappings nest too deep to read: is it a YOLO "
                        "data.yaml?") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise UserError(f"{where}: not valid YAML: {problem}") from None
    if not isinstance(doc, dict):
        raise UserError(f"{path} is not a YOLO dataset file: it needs names and train/val keys")
    return doc


def _names(doc: dict[str, Any], path: Path) -> list[SourceCategory]:
    names = doc.get("names")
    if isinstance(names, list):
        pairs = list(enumerate(names))
    elif isinstance(names, dict):
        try:
            pairs = sorted((int(key), value) for key, value in names.items())
        except (TypeError, ValueError):
            raise UserError(f"{path}: the keys of \"names\" must be class numbers") from None
    elif names is None and isinstance(doc.get("nc"), int):
        if doc["nc"] > _MAX_UNNAMED:
            raise UserError(f"{path}: nc is {doc['nc']} and \"names\" is missing: list the "
                            f"classes in \"names\" (names class_K are made up for at most "
                            f"{_MAX_UNNAMED:,} classes)")
        pairs = [(i, f"class_{i}") for i in range(doc["nc"])]
    else:
        raise UserError(f"{path} has no \"names\" (a list, or a dict from class number to name)")
    if isinstance(doc.get("nc"), int) and doc["nc"] != len(pairs):
        raise UserError(f"{path}: nc is {doc['nc']} but \"names\" lists {len(pairs)} classes")
    return [SourceCategory(index, str(name).strip()) for index, name in pairs]


def label_path(image: Path) -> Path:
    """The label file of an image: ``images`` → ``labels`` in the path (Ultralytics), or the
    ``.txt`` beside the image."""
    parts = image.parts
    if "images" in parts:
        at = len(parts) - 1 - parts[::-1].index("images")
        mirrored = Path(*parts[:at], "labels", *parts[at + 1:]).with_suffix(".txt")
        if os.path.exists(mirrored) or not os.path.exists(image.with_suffix(".txt")):
            return mirrored
    return image.with_suffix(".txt")


def _resolve(entry: str, bases: list[Path]) -> Path | None:
    tries = [base / entry for base in bases]
    if entry.startswith("../"):
        tries += [base / entry[3:] for base in bases]
    # os.path: False, not an OSError, for a name too long for the system
    return next((path for path in tries if os.path.exists(path)), None)


def _list_file(path: Path, base: Path) -> list[Path]:
    images = []
    for line in _read_text(path).splitlines():
        line = line.strip()
        candidate = Path(line)
        if not candidate.name:  # blank, "/" or ".": names no image file
            continue
        if not candidate.is_absolute():
            local = path.parent / line
            candidate = local if os.path.exists(local) else base / line
        images.append(candidate)
    return images


def _split_images(doc: dict[str, Any], yaml_path: Path) -> tuple[dict[str, list[Path]], Path,
                                                                  list[str]]:
    here = yaml_path.parent
    stated = doc.get("path")
    base = here
    if isinstance(stated, str) and stated:
        candidate = Path(stated) if Path(stated).is_absolute() else here / stated
        base = candidate if os.path.isdir(candidate) else here
    splits: dict[str, list[Path]] = {}
    notes = []
    for key, split in SPLITS.items():
        entries = doc.get(key)
        if entries is None:
            continue
        for entry in entries if isinstance(entries, list) else [entries]:
            found = _resolve(str(entry), [base, here])
            if found is None:
                raise UserError(f"{yaml_path}: {key}: {entry} does not exist (looked under "
                                f"{base})")
            images = _list_file(found, base) if found.is_file() else image_list(found)
            splits.setdefault(split, []).extend(images)
    if doc.get("test"):
        notes.append(f"the test split of {yaml_path.name} is not converted; convert it on its "
                     "own if you need it")
    if not splits:
        raise UserError(f"{yaml_path} names no train or val images")
    return splits, base, notes


class _LabelReader:
    """Reads label files into boxes, counting what cannot be kept."""

    def __init__(self, losses: Losses, problems: list[Problem], keypoint_values: int | None
                 ) -> None:
        self.losses = losses
        self.problems = problems
        self.keypoint_values = keypoint_values

    def read(self, path: Path, image: str) -> list[SourceBox] | None:
        """The boxes of one label file (``None``: unreadable, the image is skipped)."""
        try:
            text = read_input_text(path, encoding="utf-8-sig", errors="strict")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self.problems.append(Problem(ProblemKind.MALFORMED_FILE, f"cannot read: {reason}",
                                         Where(str(path)), image, Skipped.IMAGE, boxes=0))
            return None
        boxes = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                box = self.line(path, number, line.split(), image)
                if box is not None:
                    boxes.append(box)
        return boxes

    def line(self, path: Path, number: int, tokens: list[str], image: str) -> SourceBox | None:
        where = Where(str(path), number, index=number - 1)
        try:
            values = [float(token) for token in tokens]
        except ValueError:
            values = []
        count = len(values)
        shape_ok = count == 5 or (self.keypoint_values and count == 5 + self.keypoint_values) \
            or (count > 5 and count % 2 == 1 and not self.keypoint_values)
        if not shape_ok or not all(math.isfinite(v) for v in values) \
                or not values[0].is_integer() or values[0] < 0:
            self.problems.append(Problem(
                ProblemKind.MALFORMED_ANNOTATION,
                f"line {number} should be 'class cx cy w h' (normalized), it is "
                f"{' '.join(tokens)[:60]!r}", where, image))
            return None
        label = int(values[0])
        if count == 5:
            cx, cy, w, h = values[1:]
            corners = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        elif self.keypoint_values:
            cx, cy, w, h = values[1:5]
            corners = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            self.losses.add("keypoints")
        else:
            xs, ys = values[1::2], values[2::2]
            corners = (min(xs), min(ys), max(xs), max(ys))
            self.losses.add("segmentation polygons (kept as their bounding boxes)")
        shown = " ".join(tokens[1:5]) + (" ..." if count > 5 else "")
        return SourceBox(*corners, label, where, normalized=True,
                         text=f"line {number} class {label} [{shown}]")


def _keypoint_values(doc: dict[str, Any]) -> int | None:
    shape = doc.get("kpt_shape")
    if isinstance(shape, list) and len(shape) == 2 and all(isinstance(v, int) for v in shape):
        return shape[0] * shape[1]
    return None


def _items(images: list[tuple[Path, str | None]], base: Path, reader: _LabelReader,
           problems: list[Problem]) -> list[SourceItem]:
    items: list[SourceItem] = []
    seen: set[str] = set()
    for image, split in images:
        try:
            ref = image.relative_to(base).as_posix()
        except ValueError:
            ref = image.as_posix()
        labels = label_path(image)
        if ref in seen:
            problems.append(Problem(ProblemKind.DUPLICATE_IMAGE,
                                    f"{ref} is listed twice; converted once", Where(str(labels)),
                                    ref, Skipped.NOTHING))
            continue
        seen.add(ref)
        boxes = reader.read(labels, ref)
        if boxes is None:
            continue
        items.append(SourceItem(ref, str(image), ref, Where(str(labels)), boxes, split=split))
    return items


def _orphans(images: list[tuple[Path, str | None]], label_dirs: set[Path]) -> list[Problem]:
    """Label files whose image does not exist: their boxes cannot be converted."""
    expected = {label_path(image) for image, _ in images}
    problems = []
    for folder in sorted(label_dirs):
        for path in sorted(folder.glob("*.txt")):
            if path.name in ("classes.txt",) or path in expected:
                continue
            problems.append(Problem(ProblemKind.MISSING_IMAGE,
                                    f"{path.name} has no image (looked for "
                                    f"{path.stem}{{{','.join(IMAGE_EXTENSIONS)}}})",
                                    Where(str(path)), path.stem, Skipped.IMAGE,
                                    boxes=_line_count(path)))
    return problems


def _line_count(path: Path) -> int:
    """How many lines with text a label file has (0 if it cannot be read)."""
    try:
        return sum(1 for line in read_input_text(path).splitlines() if line.strip())
    except OSError:
        return 0


def _label_dirs(images: list[tuple[Path, str | None]]) -> set[Path]:
    return {label_path(image).parent for image, _ in images
            if os.path.isdir(label_path(image).parent) and "labels" in label_path(image).parts}


def _load_yaml(path: Path, options: ConvertOptions) -> SourceData:
    doc = _read_yaml(path)
    categories = _names(doc, path)
    splits, base, notes = _split_images(doc, path)
    if options.images is not None:
        notes.append("--images is not used with a data.yaml: it says where the images are")
    data = SourceData(FORMAT, [str(path)], categories, notes=notes)
    images = [(image, split) for split, paths in splits.items() for image in paths]
    reader = _LabelReader(data.losses, data.problems, _keypoint_values(doc))
    data.items = _items(images, base, reader, data.problems)
    data.problems += _orphans(images, _label_dirs(images))
    return data


def _classes_file(folder: Path) -> Path:
    for name in _CLASS_FILES:
        if (folder / name).is_file():
            return folder / name
    raise UserError(f"{folder} has no data.yaml and no classes.txt: YOLO labels are class "
                    "numbers, and one of them names the classes")


def _load_folder(folder: Path, options: ConvertOptions) -> SourceData:
    names_file = _classes_file(folder)
    names = [line.strip() for line in _read_text(names_file).splitlines()
             if line.strip()]
    categories = [SourceCategory(i, name) for i, name in enumerate(names)]
    root = options.images or (folder / "images" if (folder / "images").is_dir() else folder)
    images: list[tuple[Path, str | None]] = []
    for image in image_list(root):
        first = image.relative_to(root).parts[0] if root.name == "images" else ""
        images.append((image, SPLITS.get(first) or ("eval" if first == "valid" else None)))
    if not images:
        raise UserError(f"{root} holds no images")
    data = SourceData(FORMAT, [str(folder)], categories)
    reader = _LabelReader(data.losses, data.problems, None)
    data.items = _items(images, folder, reader, data.problems)
    data.problems += _orphans(images, _label_dirs(images))
    return data


def load(source: Path, options: ConvertOptions) -> SourceData:
    """Read a YOLO dataset: a data.yaml file, or a folder with data.yaml or classes.txt."""
    if source.is_file():
        if source.suffix.lower() in (".yaml", ".yml"):
            return _load_yaml(source, options)
        raise UserError(f"{source}: name a data.yaml file or the dataset folder")
    if not source.is_dir():
        raise UserError(f"{source} does not exist")
    for name in _YAML_NAMES:
        if (source / name).is_file():
            return _load_yaml(source / name, options)
    return _load_folder(source, options)
