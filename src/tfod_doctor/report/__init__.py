"""Reports: the Report model and its renderings (terminal, JSON, and more by format name).

A format is a function ``render(report, options) -> str`` registered with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tfod_doctor.catalogue import RuleFilter
from tfod_doctor.findings import Severity
from tfod_doctor.report.model import FindingStore, Report


@dataclass(frozen=True)
class RenderOptions:
    """How to render: all findings or the first few per rule, colour, width, pictures."""

    verbose: bool = False
    color: bool = False
    #: Terminal width in columns; ``None``: a sensible default for files and pipes.
    width: int | None = None
    #: The command that produced the report (``check``, ``scan``), for titles.
    command: str = "check"
    #: Findings at or above this severity fail (JUnit test cases, like the exit code).
    fail_on: Severity = Severity.DATA_LOSS
    #: Class id -> name for drawn boxes; default: the names in ``report.stats["classes"]``.
    label_names: Mapping[int, str] | None = None
    #: Pictures of offending records per rule, and in all (HTML).
    thumbnails_per_rule: int = 6
    max_thumbnails: int = 48
    #: Sample images with their boxes (HTML).
    samples: int = 12
    #: Seconds to spend at most reading records back for pictures.
    picture_seconds: float = 20.0
    #: ``--select``/``--ignore`` of the run: rules left out are shown as skipped (JUnit).
    rule_filter: RuleFilter | None = None


Renderer = Callable[[Report, RenderOptions], str]
_FORMATS: dict[str, Renderer] = {}


def register(name: str, renderer: Renderer) -> None:
    """Make ``--format NAME`` render with ``renderer``."""
    _FORMATS[name] = renderer


def formats() -> list[str]:
    """The format names ``--format`` accepts."""
    _load()
    return sorted(_FORMATS)


def render(report: Report, fmt: str = "text", options: RenderOptions | None = None) -> str:
    """The report in the named format."""
    _load()
    if fmt not in _FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of: {', '.join(formats())}")
    return _FORMATS[fmt](report, options or RenderOptions())


_RENDERER_MODULES_SKIP = {"model"}


def _load() -> None:
    """Import every module of this package once: the format modules register themselves."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if module.name not in _RENDERER_MODULES_SKIP and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


__all__ = ["FindingStore", "RenderOptions", "Report", "formats", "register", "render"]
