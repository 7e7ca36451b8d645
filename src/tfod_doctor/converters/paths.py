"""Finding image files from what annotation files call them."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from tfod_doctor.errors import UserError
from tfod_doctor.records.sources import WalkBoundReached, walk_files

#: Image file extensions the importers look for (Ultralytics' list, less video and raw formats).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".mpo")
_SAMPLE = 50


def is_image_file(path: Path) -> bool:
    """Whether a file name has an image extension (any case)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _unique(paths: Iterable[Path]) -> list[Path]:
    seen: dict[str, Path] = {}
    for path in paths:
        seen.setdefault(str(path), path)
    return list(seen.values())


def choose_root(candidates: Sequence[Path], names: Sequence[str]) -> Path:
    """The candidate folder that holds the most of the first few named files (first on a tie).

    Annotation formats name images relative to a folder they do not record (COCO ``file_name``,
    the CSV ``filename``); this picks the folder the way a person would, by looking.
    """
    probe = [name for name in names[:_SAMPLE] if name]
    best, best_hits = candidates[0], -1
    for folder in _unique(candidates):
        hits = sum(os.path.isfile(folder / name) for name in probe)  # False for any error
        if hits > best_hits:
            best, best_hits = folder, hits
    return best


def files_below(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    """Every file below ``folder`` whose extension is one of ``suffixes`` (any case;
    recursively, hidden names left out), sorted; a :class:`UserError` past the walk's bound."""
    try:
        return sorted(
            Path(root, name) for root, names in walk_files(folder) for name in names
            if Path(name).suffix.lower() in suffixes and Path(root, name).is_file()
        )
    except WalkBoundReached as exc:
        raise UserError(str(exc)) from None


def image_list(folder: Path) -> list[Path]:
    """Every image file below ``folder`` (recursively, hidden folders left out), sorted."""
    return files_below(folder, IMAGE_EXTENSIONS)
