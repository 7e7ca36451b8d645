"""Output folders and manifests shared by conversions and exports."""

from __future__ import annotations

import json
import shutil
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from tfod_doctor.converters.model import Problem
from tfod_doctor.errors import UserError
from tfod_doctor.records.inputs import ANNOTATIONS, read_input_bytes

MANIFEST = "conversion.json"
#: Advances a progress bar by a number of images or records.
Progress = Callable[[int], None]
T = TypeVar("T")
R = TypeVar("R")


class ConversionStopped(UserError):
    """``--strict``: the first problem stopped the run (exit code 1); nothing was written."""

    exit_code = 1

    def __init__(self, problem: Problem) -> None:
        where = str(problem.where)
        super().__init__(f"--strict: stopped at the first problem: {where}: {problem.message} "
                         f"({problem.kind.value}). Nothing was written.")
        self.problem = problem


def claim_folder(out: Path, ours: Iterable[str], overwrite: bool) -> None:
    """Make ``out`` ready for writing: refuse to replace earlier outputs unless ``overwrite``.

    ``ours`` are glob patterns of the files (or folders) this run writes; with ``overwrite``
    the ones that exist are deleted first. Other files in ``out`` are left alone.
    """
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} exists and is not a folder")
    found = sorted({p for pattern in ours for p in out.glob(pattern)}) if out.exists() else []
    if found and not overwrite:
        shown = ", ".join(p.name for p in found[:4]) + (" ..." if len(found) > 4 else "")
        raise UserError(f"{out} already holds outputs of an earlier run ({shown}); "
                        "name another folder or pass --overwrite")
    for path in found:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out}: {exc.strerror or exc}") from None


def write_json(path: Path, data: Any) -> None:
    """Write JSON deterministically (same data, same bytes), UTF-8, with a final newline."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_json(path: Path) -> Any:
    """Read a JSON file; a :class:`UserError` naming the line and column when it is not JSON."""
    try:
        text = read_input_bytes(path, ANNOTATIONS).decode("utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder, not a JSON file") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not UTF-8 text (byte {exc.start}): is it a JSON file?"
                        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None


def read_manifest(path: Path) -> dict[str, Any]:
    """Read a ``conversion.json``; a clear :class:`UserError` if it is not one."""
    data = load_json(path)
    if not isinstance(data, dict) or "categories" not in data:
        raise UserError(f"{path} is not a tfod-doctor conversion manifest (no categories)")
    return data


def ordered_map(func: Callable[[T], R], items: Iterable[T], workers: int
                ) -> Generator[R, None, None]:
    """``map(func, items)`` on a pool of threads, in order, with a bounded number in flight."""
    if workers <= 1:
        yield from map(func, items)
        return
    iterator = iter(items)
    with ThreadPoolExecutor(workers) as pool:
        pending = deque(pool.submit(func, item) for item in islice(iterator, 4 * workers))
        while pending:
            result = pending.popleft().result()
            for item in islice(iterator, 1):
                pending.append(pool.submit(func, item))
            yield result
