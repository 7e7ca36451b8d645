"""Finding image files from what annotation files call them."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

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


def image_list(folder: Path) -> list[Path]:
    """Every image file below ``folder`` (recursively, hidden folders left out), sorted."""
    return sorted(
        path for path in folder.rglob("*")
        if is_image_file(path) and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
