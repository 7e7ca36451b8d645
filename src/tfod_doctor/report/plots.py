"""Plots of a report's statistics (classes, boxes per image, box sizes and shapes, image sizes),
drawn with matplotlib as SVG ``data:`` URIs, so a page shows them without any network.

Each plot reads one entry of ``report.stats``; a plot whose statistics are absent is left out.
matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import Any

#: At most this many bars in a bar chart of categories (the largest ones).
MAX_BARS = 30
_ACCENT = "#3b82f6"
_RC = {
    "svg.fonttype": "none",  # text stays text: small files, crisp in the browser
    "svg.hashsalt": "tfod-doctor",  # the same report gives the same SVG
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titleweight": "bold",
    "axes.titlesize": 10,
}


@dataclass(frozen=True)
class Plot:
    """A drawn plot: which statistic, a title, an SVG data URI, and a note (what was cut)."""

    key: str
    title: str
    uri: str
    note: str = ""


def _figure(height: float = 2.8):
    from matplotlib.figure import Figure

    return Figure(figsize=(5.2, height), layout="constrained")


def _svg_uri(figure) -> str:
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(_RC):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _with_style(draw: Callable[..., tuple[Any, str]]) -> Callable[..., tuple[Any, str]]:
    def styled(*args: Any) -> tuple[Any, str]:
        import matplotlib

        with matplotlib.rc_context(_RC):
            return draw(*args)

    return styled


def _int_key(text: str) -> tuple[int, str]:
    try:
        return int(text), text
    except ValueError:
        return 1 << 62, text


def _top(counts: Mapping[str, int], limit: int = MAX_BARS) -> tuple[list[tuple[str, int]], str]:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(items) <= limit:
        return items, ""
    rest = sum(n for _, n in items[limit:])
    return items[:limit], f"{len(items) - limit} more not shown ({rest:,} in all)"


@_with_style
def _classes(classes: Sequence[Mapping[str, Any]]) -> tuple[Any, str]:
    label = _class_label
    counts = {label(e): int(e.get("boxes", 0)) for e in classes}
    images = {label(e): int(e.get("images", 0)) for e in classes}
    shown, note = _top(counts)
    shown.reverse()  # largest at the top
    figure = _figure(max(2.2, 0.6 + 0.24 * len(shown)))
    axes = figure.subplots()
    names = [name for name, _ in shown]
    bars = axes.barh(names, [n for _, n in shown], color=_ACCENT)
    axes.bar_label(bars, labels=[f"{n:,} boxes · {images[k]:,} images" for k, n in shown],
                   padding=3, fontsize=8)
    axes.set_xlabel("boxes")
    axes.margins(x=0.35)
    return figure, note


@_with_style
def _boxes_per_image(histogram: Mapping[str, int]) -> tuple[Any, str]:
    items = sorted(histogram.items(), key=lambda kv: _int_key(kv[0]))
    figure = _figure()
    axes = figure.subplots()
    axes.bar([k for k, _ in items], [n for _, n in items], color=_ACCENT)
    axes.set_xlabel("boxes in the image")
    axes.set_ylabel("images")
    if len(items) > 25:
        axes.xaxis.set_major_locator(_max_ticks(12))
    return figure, ""


def _max_ticks(n: int):
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(n, integer=True)


def _histogram(data: Mapping[str, Sequence[float]], xlabel: str, ticks=None):
    edges, counts = list(data["edges"]), list(data["counts"])
    figure = _figure()
    axes = figure.subplots()
    widths = [b - a for a, b in pairwise(edges)]
    axes.bar(edges[:-1], counts, width=widths, align="edge", color=_ACCENT, edgecolor="white",
             linewidth=0.5)
    axes.set_xlabel(xlabel)
    axes.set_ylabel("boxes")
    if ticks:
        axes.set_xticks([t for t, _ in ticks], [name for _, name in ticks])
    return figure, ""


@_with_style
def _box_sizes(data: Mapping[str, Sequence[float]]) -> tuple[Any, str]:
    return _histogram(data, "√(box area / image area) — 0.1 is 1% of the image")


@_with_style
def _box_aspect(data: Mapping[str, Sequence[float]]) -> tuple[Any, str]:
    ticks = [(-4, "1:16"), (-2, "1:4"), (-1, "1:2"), (0, "1:1"), (1, "2:1"), (2, "4:1"),
             (4, "16:1")]
    return _histogram(data, "box width : height (log scale)", ticks)


@_with_style
def _categories(counts: Mapping[str, int], xlabel: str) -> tuple[Any, str]:
    shown, note = _top(counts, 20)
    shown.reverse()
    figure = _figure(max(2.0, 0.6 + 0.22 * len(shown)))
    axes = figure.subplots()
    bars = axes.barh([k for k, _ in shown], [n for _, n in shown], color=_ACCENT)
    axes.bar_label(bars, labels=[f"{n:,}" for _, n in shown], padding=3, fontsize=8)
    axes.set_xlabel(xlabel)
    axes.margins(x=0.15)
    return figure, note


@_with_style
def _anchors(data: Mapping[str, Any]) -> tuple[Any, str]:
    """Box sizes after the resize (width x height, pixels) against the anchors' shapes, the
    boxes coloured by their best IoU with any anchor (CenterNet: the output-stride limit)."""
    plot = data["plot"]
    figure = _figure(3.4)
    axes = figure.subplots()
    widths, heights = plot["width_px"], plot["height_px"]
    if "best_iou" in plot:
        points = axes.scatter(widths, heights, c=plot["best_iou"], cmap="viridis", vmin=0,
                              vmax=1, s=6, linewidths=0)
        bar = figure.colorbar(points, ax=axes)
        bar.set_label("best IoU with an anchor")
        if data.get("matched_threshold"):
            bar.ax.axhline(data["matched_threshold"], color="#dc2626", linewidth=1)
        shapes = [shape for layer in data.get("anchors", []) for shape in layer["shapes_px"]]
        if shapes:
            axes.scatter([w for _, w in shapes], [h for h, _ in shapes], marker="s", s=28,
                         facecolors="none", edgecolors="#dc2626", linewidths=0.8,
                         label="anchor shapes")
            axes.legend(loc="upper left", fontsize=7, frameon=False)
    else:
        axes.scatter(widths, heights, color=_ACCENT, s=6, linewidths=0)
        limit = data.get("min_side_px")
        if limit:
            axes.axvline(limit, color="#dc2626", linewidth=0.8)
            axes.axhline(limit, color="#dc2626", linewidth=0.8)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("box width after the resize (px)")
    axes.set_ylabel("box height (px)")
    shown, total = len(widths), data.get("boxes", len(widths))
    note = f"{shown:,} of {total:,} boxes shown" if shown < total else ""
    return figure, note


#: Colours of the splits in the per-class plot.
_SPLIT_COLOURS = {"train": _ACCENT, "eval": "#f97316"}


def _class_label(entry: Mapping[str, Any]) -> str:
    ident, name = entry.get("id"), entry.get("name")
    if ident is None:
        return f"{name} (no id)" if name else "?"
    return f"{ident} · {name}" if name else f"{ident} · (not in label map)"


def _plain_ticks(axis) -> None:
    """Tick labels of a log axis as plain numbers (3, 10, 30), not powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


#: The per-class plots of ``stats["class_stats"]``: the row's field of five percentiles, and
#: what the axis says.
CLASS_RANGES = {
    "class_sizes": ("side_quantiles_px",
                    "box side in pixels, √(width × height) — 5-25-50-75-95th percentiles"),
    "class_shapes": ("aspect_quantiles",
                     "box width ÷ height in pixels (1 is square) — 5-25-50-75-95th percentiles"),
}


def _five(row: Mapping[str, Any], field: str) -> bool:
    """Whether the row's ``field`` holds five percentiles."""
    values = row.get(field)
    return isinstance(values, Sequence) and len(values) == 5 and all(values)


def _has_quantiles(class_stats: Any, field: str) -> bool:
    return (isinstance(class_stats, Mapping) and isinstance(class_stats.get("splits"), Mapping)
            and any(_five(row, field) for rows in class_stats["splits"].values() for row in rows))


@_with_style
def _class_ranges(data: Mapping[str, Any], field: str, xlabel: str) -> tuple[Any, str]:
    """Per class (the :data:`MAX_BARS` with most boxes) and split, the five percentiles of
    ``field``: a thin line from the 5th to the 95th percentile, a thick one over the middle
    half, a dot at the median (log scale)."""
    splits = {split: {_class_label(row): row for row in rows if _five(row, field)}
              for split, rows in data["splits"].items()}
    totals: dict[str, int] = {}
    for rows in splits.values():
        for label, row in rows.items():
            totals[label] = totals.get(label, 0) + int(row.get("boxes", 0))
    shown, note = _top(totals)
    labels = [label for label, _ in reversed(shown)]
    figure = _figure(max(2.2, 0.8 + 0.3 * len(labels) * max(1, len(splits)) ** 0.5))
    axes = figure.subplots()
    step = 0.6 / max(1, len(splits))
    for n, (split, rows) in enumerate(splits.items()):
        colour = _SPLIT_COLOURS.get(split, "#6b7280")
        offset = ((len(splits) - 1) / 2 - n) * step  # the first split on top
        for y, label in enumerate(labels):
            row = rows.get(label)
            if row is None:
                continue
            low, q1, median, q3, high = row[field]
            at = y + offset
            axes.plot([low, high], [at, at], color=colour, linewidth=1)
            axes.plot([q1, q3], [at, at], color=colour, linewidth=5, solid_capstyle="butt",
                      alpha=0.6)
            axes.plot([median], [at], "o", color=colour, markersize=4,
                      label=split)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xscale("log")
    _plain_ticks(axes.xaxis)
    axes.set_xlabel(xlabel)
    if len(splits) > 1:
        handles, names = axes.get_legend_handles_labels()
        unique = dict(zip(names, handles, strict=True))
        axes.legend(unique.values(), unique.keys(), fontsize=7, frameon=False,
                    loc="upper left", bbox_to_anchor=(1, 1))
    return figure, note


def _valid_histogram(value: Any) -> bool:
    return (isinstance(value, Mapping) and isinstance(value.get("edges"), Sequence)
            and isinstance(value.get("counts"), Sequence)
            and len(value["edges"]) == len(value["counts"]) + 1 and len(value["counts"]) > 0)


def _present(value: Any) -> bool:
    return bool(value) and (isinstance(value, (Mapping, list)))


def plots(stats: Mapping[str, Any]) -> list[Plot]:
    """Every plot whose statistics ``stats`` holds, in reading order."""
    wanted: list[tuple[str, str, Callable[[], tuple[Any, str]]]] = []
    if _present(stats.get("classes")):
        wanted.append(("classes", "Boxes per class", lambda: _classes(stats["classes"])))
    if _present(stats.get("boxes_per_image")):
        wanted.append(("boxes_per_image", "Boxes per image",
                       lambda: _boxes_per_image(stats["boxes_per_image"])))
    if _valid_histogram(stats.get("box_sizes")):
        wanted.append(("box_sizes", "Box sizes", lambda: _box_sizes(stats["box_sizes"])))
    if _valid_histogram(stats.get("box_aspect")):
        wanted.append(("box_aspect", "Box shapes", lambda: _box_aspect(stats["box_aspect"])))
    class_stats = stats.get("class_stats")
    for key, title in (("class_sizes", "Box sizes per class"),
                       ("class_shapes", "Box shapes per class")):
        field, xlabel = CLASS_RANGES[key]
        if _has_quantiles(class_stats, field):
            wanted.append((key, title, partial(_class_ranges, class_stats, field, xlabel)))
    if _present(stats.get("image_sizes")):
        wanted.append(("image_sizes", "Image sizes (width × height)",
                       lambda: _categories(stats["image_sizes"], "images")))
    if _present(stats.get("image_formats")):
        wanted.append(("image_formats", "Image formats",
                       lambda: _categories(stats["image_formats"], "images")))
    anchors = (stats.get("model") or {}).get("anchors")
    if isinstance(anchors, Mapping) and isinstance(anchors.get("plot"), Mapping) and (
            anchors["plot"].get("width_px")):
        wanted.append(("anchors", "Box sizes after the resize, against the anchors",
                       lambda: _anchors(anchors)))
    drawn = []
    for key, title, draw in wanted:
        figure, note = draw()
        drawn.append(Plot(key, title, _svg_uri(figure), note))
    return drawn
