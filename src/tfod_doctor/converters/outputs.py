"""Output folders and manifests shared by conversions and exports."""

from __future__ import annotations

import json
import sys
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
    except RecursionError:
        raise UserError(f"{path}: its arrays or objects nest too deep to read (more than about "
                        f"{sys.getrecursionlimit()} levels): is it a COCO file?") from None


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
