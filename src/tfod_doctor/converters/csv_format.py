"""The CSV of the common OD API tutorials: ``filename,width,height,class,xmin,ymin,xmax,ymax``.

One row per box, in pixels (what ``xml_to_csv.py`` of the raccoon / EdjeElectronics tutorials and
Roboflow's "Tensorflow Object Detection CSV" write). Columns may come in any order; a row with a
file name and no class or coordinates stands for an image without boxes.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

from tfod_doctor.converters.model import (
    Problem,
    ProblemKind,
    Skipped,
    SourceBox,
    SourceData,
    SourceItem,
    Where,
)
from tfod_doctor.converters.options import ConvertOptions, declared_classes
from tfod_doctor.converters.paths import choose_root
from tfod_doctor.errors import UserError
from tfod_doctor.records.inputs import ANNOTATIONS, read_input_bytes

FORMAT = "csv"
COLUMNS = ("filename", "width", "height", "class", "xmin", "ymin", "xmax", "ymax")
_COORDS = ("xmin", "ymin", "xmax", "ymax")


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """The rows with their 1-based line numbers; a :class:`UserError` if it is not CSV text."""
    try:
        text = read_input_bytes(path, ANNOTATIONS).decode("utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder; name the CSV file") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not UTF-8 text (byte {exc.start}): is it a CSV file?"
                        ) from None
    reader = csv.reader(text.splitlines(keepends=True))
    rows = []
    try:
        start = 1
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise UserError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from None
    return rows


def _header(path: Path, rows: list[tuple[int, list[str]]]) -> dict[str, int]:
    if not rows:
        raise UserError(f"{path} is empty")
    header = [name.strip().lower() for name in rows[0][1]]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise UserError(f"{path}:1: the header lacks {', '.join(missing)}; the CSV needs the "
                        f"columns {','.join(COLUMNS)} (in any order)")
    twice = sorted(name for name, count in Counter(header).items() if count > 1)
    if twice:
        raise UserError(f"{path}:1: the header names the column(s) {', '.join(map(repr, twice))} "
                        "more than once: which one holds the values?")
    return {name: header.index(name) for name in header}


def _image_root(path: Path, names: list[str], options: ConvertOptions) -> Path:
    if options.images is not None:
        return options.images
    here = path.parent
    stem = path.stem.strip("_").split("_")[0]
    candidates = [here, here / "images", here.parent / "images"]
    if stem:
        candidates += [here / stem, here / "images" / stem, here.parent / stem]
    return choose_root(candidates, names)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class _Reader:
    """Reads the rows of one CSV file into items."""

    def __init__(self, path: Path, columns: dict[str, int], data: SourceData) -> None:
        self.file = str(path)
        self.columns = columns
        self.data = data
        self.items: dict[str, SourceItem] = {}

    def bad(self, line: int, index: int, image: str | None, message: str) -> None:
        self.data.problems.append(Problem(ProblemKind.MALFORMED_ANNOTATION, message,
                                          Where(self.file, line, index=index), image))

    def row(self, line: int, index: int, row: list[str], root: Path) -> None:
        if len(row) != len(self.columns):
            self.bad(line, index, None, f"row {index + 1} has {len(row)} fields, the header "
                     f"has {len(self.columns)}")
            return
        field = {name: row[i].strip() for name, i in self.columns.items()}
        filename = field["filename"].replace("\\", "/")
        if not filename:
            self.bad(line, index, None, f"row {index + 1} has no filename")
            return
        item = self.item(filename, line, index, field, root)
        if not field["class"] and not any(field[k] for k in _COORDS):
            return
        values = [_number(field[k]) for k in _COORDS]
        if not field["class"] or any(v is None for v in values):
            self.bad(line, index, filename, f"row {index + 1} needs a class and numbers xmin, "
                     f"ymin, xmax, ymax; it has {[field[k] for k in ('class', *_COORDS)]}")
            return
        xmin, ymin, xmax, ymax = values  # type: ignore[misc]
        item.boxes.append(SourceBox(
            xmin, ymin, xmax, ymax, field["class"], Where(self.file, line, index=index),
            text=f"row {index + 1} {field['class']!r} [{xmin:g}, {ymin:g}, {xmax:g}, {ymax:g}]",
        ))

    def item(self, filename: str, line: int, index: int, field: dict[str, str], root: Path
             ) -> SourceItem:
        width, height = _number(field["width"]), _number(field["height"])
        declared = (int(width), int(height)) if width and height and width > 0 and height > 0 \
            else None
        item = self.items.get(filename)
        if item is None:
            item = self.items[filename] = SourceItem(
                image_ref=filename, image_path=str(root / filename), source_id=filename,
                where=Where(self.file, line, index=index), declared_size=declared,
            )
        elif declared and item.declared_size and declared != item.declared_size:
            self.data.problems.append(Problem(
                ProblemKind.SIZE_MISMATCH,
                f"row {index + 1} gives {filename} the size {declared[0]}×{declared[1]}, an "
                f"earlier row {item.declared_size[0]}×{item.declared_size[1]}; the file decides",
                Where(self.file, line, index=index), filename, Skipped.NOTHING))
        return item


def load(path: Path, options: ConvertOptions) -> SourceData:
    """Read a tutorial-style annotation CSV."""
    rows = _read_rows(path)
    columns = _header(path, rows)
    data = SourceData(FORMAT, [str(path)], declared_classes(options))
    extra = [name for name in columns if name not in COLUMNS]
    body = [(line, row) for line, row in rows[1:] if any(cell.strip() for cell in row)]
    names = [row[columns["filename"]].strip() for _, row in body
             if len(row) == len(columns)]
    root = _image_root(path, names, options)
    reader = _Reader(path, columns, data)
    for index, (line, row) in enumerate(body):
        reader.row(line, index, row, root)
        for name in extra:
            if len(row) == len(columns) and row[columns[name]].strip():
                data.losses.add(f"CSV column {name!r}")
    data.items = list(reader.items.values())
    return data
