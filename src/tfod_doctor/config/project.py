"""The project file: a team's settings for tfod-doctor, written once beside the data.

``[tool.tfod-doctor]`` in a ``pyproject.toml``, or the top level of a ``tfod-doctor.toml``, found
by walking up from the pipeline.config's folder (as ruff finds its settings). In one folder,
``tfod-doctor.toml`` wins; a ``pyproject.toml`` without the table is passed over.

.. code-block:: toml

    [tool.tfod-doctor]
    select = ["C", "M", "L", "B"]
    ignore = ["D005"]
    fail-on = "warning"

    [tool.tfod-doctor.severity]
    B006 = "info"

    [tool.tfod-doctor.per-file-ignores]
    "data/legacy-*.tfrecord" = ["B001", "I004"]

    [tool.tfod-doctor.thresholds]
    min-boxes-per-class = 100

    [tool.tfod-doctor.expect]
    classes = ["helmet", "vest"]
    min-image-size = [640, 480]
    max-boxes-per-image = 30
"""

from __future__ import annotations

import difflib
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from tfod_doctor import catalogue
from tfod_doctor.checks.context import Expectations, QualityThresholds
from tfod_doctor.errors import UserError
from tfod_doctor.findings import Severity
from tfod_doctor.policy import FileIgnore, FindingPolicy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PROJECT_FILE = "tfod-doctor.toml"
PYPROJECT = "pyproject.toml"
TABLE = ("tool", "tfod-doctor")
#: A project file larger than this is not a settings file.
MAX_BYTES = 1 << 20


class ProjectFileError(UserError):
    """The project file cannot be used; the message starts with ``file:line:``."""


@dataclass(frozen=True)
class ProjectSettings:
    """What a project file says (``None``: not said, so the command's default applies)."""

    path: Path | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    fail_on: Severity | None = None
    severities: dict[str, Severity] = field(default_factory=dict)
    file_ignores: tuple[FileIgnore, ...] = ()
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    expect: Expectations | None = None

    def policy(self) -> FindingPolicy:
        """The severity overrides and per-file ignores, as a policy for the findings."""
        root = str(self.path.parent.resolve()) if self.path else ""
        return FindingPolicy(severities=dict(self.severities), file_ignores=self.file_ignores,
                             root=root)


def find_project_file(start: Path) -> Path | None:
    """The nearest project file at or above ``start`` (a folder), or ``None``."""
    folder = start.resolve()
    for candidate in (folder, *folder.parents):
        own = candidate / PROJECT_FILE
        if own.is_file():
            return own
        pyproject = candidate / PYPROJECT
        if pyproject.is_file() and _has_table(pyproject):
            return pyproject
    return None


def _has_table(pyproject: Path) -> bool:
    """Whether a pyproject.toml has ``[tool.tfod-doctor]`` (cheaply, without parsing it all)."""
    try:
        with pyproject.open("rb") as handle:
            head = handle.read(MAX_BYTES)
    except OSError:
        return False
    return re.search(rb"^\s*\[\s*tool\s*\.\s*[\"']?tfod-doctor[\"']?\s*[.\]]", head,
                     re.MULTILINE) is not None


def load_project(start: Path | None, config_file: Path | None = None,
                 isolated: bool = False) -> ProjectSettings:
    """The settings in force: none with ``isolated``, ``config_file`` when named, else the
    project file found from ``start`` (none found: the defaults)."""
    if isolated:
        return ProjectSettings()
    if config_file is not None:
        if not config_file.is_file():
            raise ProjectFileError(f"{config_file}: no such project file (--config-file)")
        return read_project_file(config_file)
    found = find_project_file(start) if start is not None else None
    return read_project_file(found) if found else ProjectSettings()


def read_project_file(path: Path) -> ProjectSettings:
    """Read and check a project file; a :class:`ProjectFileError` with ``file:line:`` if it is
    wrong (a syntax error, an unknown key, a value of the wrong kind, an unknown rule)."""
    text = _read(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectFileError(f"{path}: not valid TOML: {exc}") from None
    lines = _KeyLines(text)
    prefix: tuple[str, ...] = ()
    if path.name == PYPROJECT or (path.suffix == ".toml" and "tool" in data):
        table = data.get("tool", {}).get("tfod-doctor")
        if table is None and path.name == PYPROJECT:
            raise ProjectFileError(f"{path}: has no [tool.tfod-doctor] table")
        if table is not None:
            data, prefix = table, TABLE
    return _Reader(path, lines, prefix).settings(data)


def _read(path: Path) -> str:
    if not path.is_file():
        raise ProjectFileError(f"{path}: the project file is not a regular file")
    if path.stat().st_size > MAX_BYTES:
        raise ProjectFileError(f"{path}: larger than {MAX_BYTES >> 20} MiB; not a settings file")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectFileError(f"{path}: cannot be read: {exc}") from None


class _KeyLines:
    """Where each key is written in a TOML text: (table path, key) -> 1-based line."""

    _HEADER = re.compile(r"^\s*\[\s*([^\]\[]+?)\s*\]\s*(?:#.*)?$")
    _KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                table = _dotted(header[1])
                self.lines.setdefault(table, number)
                continue
            key = self._KEY.match(line)
            if key:
                self.lines.setdefault((*table, *_dotted(key[1])), number)

    def line(self, path: tuple[str, ...]) -> int | None:
        """The line a key (or, failing that, its table) is written on."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


def _dotted(name: str) -> tuple[str, ...]:
    parts = re.findall(r"""\s*("[^"]*"|'[^']*'|[^.\s]+)\s*(?:\.|$)""", name)
    return tuple(part.strip("\"'") for part in parts)


class _Reader:
    """Checks each key of the table, and reports problems at their line."""

    KEYS: ClassVar[dict[str, str]] = {
        "select": "_selectors",
        "ignore": "_selectors",
        "fail-on": "_severity_value",
        "severity": "_severities",
        "per-file-ignores": "_file_ignores",
        "thresholds": "_thresholds",
        "expect": "_expect",
    }
    #: ``[thresholds]`` key -> QualityThresholds field.
    THRESHOLDS: ClassVar[dict[str, str]] = {
        name.replace("_", "-"): name for name in QualityThresholds.__dataclass_fields__}
    #: The least value of a threshold, where 0 has no meaning (a ratio of shapes).
    THRESHOLD_MINIMUM: ClassVar[dict[str, float]] = {"shape_factor": 1}
    #: ``[expect]`` key -> Expectations field.
    EXPECT: ClassVar[dict[str, str]] = {
        name.replace("_", "-"): name for name in Expectations.__dataclass_fields__}

    def __init__(self, path: Path, lines: _KeyLines, prefix: tuple[str, ...]) -> None:
        self.path = path
        self.lines = lines
        self.prefix = prefix

    def fail(self, keys: tuple[str, ...], message: str) -> ProjectFileError:
        line = self.lines.line((*self.prefix, *keys))
        where = f"{self.path}:{line}" if line else str(self.path)
        return ProjectFileError(f"{where}: {message}")

    def settings(self, data: dict[str, Any]) -> ProjectSettings:
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in self.KEYS:
                close = difflib.get_close_matches(key, self.KEYS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                known = ", ".join(self.KEYS)
                raise self.fail((key,), f"unknown key {key!r}{hint}; the keys are: {known}")
            reader: Callable[[str, Any], Any] = getattr(self, self.KEYS[key])
            values[key] = reader(key, value)
        return ProjectSettings(
            path=self.path,
            select=values.get("select"),
            ignore=values.get("ignore"),
            fail_on=values.get("fail-on"),
            severities=values.get("severity", {}),
            file_ignores=values.get("per-file-ignores", ()),
            quality=values.get("thresholds", QualityThresholds()),
            expect=values.get("expect"),
        )

    def _table(self, key: str, value: Any, known: dict[str, str]) -> dict[str, Any]:
        """A sub-table's entries as field names, refusing unknown keys (with did-you-mean)."""
        if not isinstance(value, dict):
            raise self.fail((key,), f"{key} must be a table")
        fields = {}
        for name, item in value.items():
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.fail((key, name), f"unknown key {name!r} in [{key}]{hint}; the keys "
                                             f"are: {', '.join(known)}")
            fields[known[name]] = (name, item)
        return fields

    def _number(self, at: tuple[str, ...], value: Any, kind: type, low: float) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                kind is int and not isinstance(value, int)) or not math.isfinite(value) or (
                value < low):
            raise self.fail(at, f"{at[-1]} must be a {'whole ' if kind is int else ''}number "
                                f"of at least {low:g}, not {value!r}")
        return kind(value)

    def _thresholds(self, key: str, value: Any) -> QualityThresholds:
        defaults = QualityThresholds()
        fields = {}
        for field_name, (name, item) in self._table(key, value, self.THRESHOLDS).items():
            kind = type(getattr(defaults, field_name))
            low = self.THRESHOLD_MINIMUM.get(field_name, 0)
            fields[field_name] = self._number((key, name), item, kind, low)
        return QualityThresholds(**fields)

    def _expect(self, key: str, value: Any) -> Expectations:
        fields: dict[str, Any] = {}
        for field_name, (name, item) in self._table(key, value, self.EXPECT).items():
            at = (key, name)
            if field_name == "classes":
                if not isinstance(item, list) or not all(isinstance(c, (str, int)) for c in item):
                    raise self.fail(at, "classes must be a list of class names (or ids)")
                fields[field_name] = tuple(str(c) for c in item)
            elif field_name == "max_boxes_per_image":
                fields[field_name] = self._number(at, item, int, 1)
            else:
                if not (isinstance(item, list) and len(item) == 2):
                    raise self.fail(at, f"{name} must be [width, height]")
                fields[field_name] = tuple(self._number(at, v, int, 1) for v in item)
        return Expectations(**fields)

    def _selectors(self, key: str, value: Any, at: tuple[str, ...] | None = None
                   ) -> tuple[str, ...]:
        at = at or (key,)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(at, f"{key} must be a list of rule ids, prefixes or families")
        unknown = catalogue.unknown_selectors(value)
        if unknown:
            raise self.fail(at, f"no rule matches {', '.join(map(repr, unknown))} in {key}; "
                                "`tfod-doctor rules` lists them")
        return tuple(value)

    def _severity_value(self, key: str, value: Any, at: tuple[str, ...] | None = None
                        ) -> Severity:
        try:
            return Severity.parse(str(value))
        except ValueError as exc:
            raise self.fail(at or (key,), f"{key}: {exc}") from None

    def _severities(self, key: str, value: Any) -> dict[str, Severity]:
        if not isinstance(value, dict):
            raise self.fail((key,), f"{key} must be a table of rule = severity")
        severities = {}
        for rule, level in value.items():
            try:
                rule_id = catalogue.get(rule).id
            except KeyError:
                raise self.fail((key, rule), f"{key}: no rule {rule!r}; `tfod-doctor rules` "
                                             "lists them") from None
            severities[rule_id] = self._severity_value(rule, level, (key, rule))
        return severities

    def _file_ignores(self, key: str, value: Any) -> tuple[FileIgnore, ...]:
        if not isinstance(value, dict):
            raise self.fail((key,), f"{key} must be a table of \"glob\" = [rules]")
        return tuple(FileIgnore(os.path.normpath(glob).replace(os.sep, "/") if glob else glob,
                                self._selectors(key, rules, (key, glob)))
                     for glob, rules in value.items())
