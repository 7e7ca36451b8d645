"""Which boxes the matcher makes positives: the best IoU of every box with any anchor, and the
matcher's thresholds (``matchers/argmax_matcher.py``, ``core/target_assigner.py``).

The best IoU is exact, with the box where it is: for one anchor shape, the overlap along an
axis only shrinks as the anchor's centre moves away from the box's, so the best anchor of a
shape is at the grid centre nearest the box's centre on each axis.
When anchors are clipped to the input, a clipped anchor near the border is smaller, so the
grid points next to every place where the overlap or the clipping changes slope are tried, and
the first and last;
when anchors not wholly inside the input are dropped, the nearest centre among those kept.
The OD API's IoU is ``intersection / union`` with areas ``(ymax - ymin) * (xmax - xmin)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfod_doctor.config.textproto import Pos
from tfod_doctor.config.validate import Node
from tfod_doctor.model.anchors import AnchorLayer, Anchors

#: Boxes worked on at once (bounds the memory of the candidate arrays; small enough for them to
#: stay in the CPU's cache, which makes the work about twice as fast as 8192 at once).
_CHUNK = 2048


@dataclass(frozen=True)
class Matcher:
    """How anchors become positives: an anchor matches the box it overlaps most when the IoU
    reaches ``matched``; with ``force``, every box also takes its best anchor whatever the IoU.
    ``where`` is the place in the config a finding about it points at."""

    kind: str
    matched: float
    unmatched: float
    force: bool
    where: Pos
    #: ``True`` when the thresholds are the OD API's own, not the config's (Faster R-CNN).
    built_in: bool = False

    def describe(self) -> str:
        """``argmax_matcher matched_threshold 0.5, force_match_for_each_row``."""
        forced = ", force_match_for_each_row" if self.force else ""
        fixed = " (fixed by the OD API for Faster R-CNN's first stage)" if self.built_in else ""
        return f"{self.kind} matched_threshold {self.matched:g}{forced}{fixed}"


def read_matcher(arch: str | None, arch_node: Node | None) -> Matcher | None:
    """The matcher training uses for the anchors (``None``: anchor-free or not known)."""
    if arch_node is None:
        return None
    if arch == "faster_rcnn":
        # target_assigner.create_target_assigner('FasterRCNN', 'proposal').
        block = arch_node.node("first_stage_anchor_generator")
        where = arch_node.where("first_stage_anchor_generator") if block else arch_node.pos
        return Matcher("argmax_matcher", 0.7, 0.3, True, where, built_in=True)
    if arch != "ssd":
        return None
    block = arch_node.node("matcher")
    kind = block.which("matcher_oneof") if block is not None else None
    if block is None or kind is None:
        return None
    node = block.node(kind)
    if kind == "bipartite_matcher":
        return Matcher(kind, 1.0, 1.0, True, block.pos)
    if node.get("ignore_thresholds"):
        return Matcher(kind, 0.0, 0.0, node.get("force_match_for_each_row"), node.pos)
    where = node.value_pos("force_match_for_each_row") if node.has(
        "force_match_for_each_row") else node.pos
    return Matcher(kind, node.get("matched_threshold"), node.get("unmatched_threshold"),
                   node.get("force_match_for_each_row"), where)


def best_iou(boxes: np.ndarray, anchors: Anchors
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best IoU of each box (``ymin, xmin, ymax, xmax`` in pixels of the canvas) with any
    anchor, the index of that anchor in the OD API's order (``-1`` when no anchor overlaps
    the box), and the best IoU with any other anchor (equal to the first when two anchors tie,
    so that which one the OD API's ``argmax`` takes is down to rounding)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    best, runner_up = np.zeros(len(boxes)), np.zeros(len(boxes))
    which = np.full(len(boxes), -1, dtype=np.int64)
    for start in range(0, len(boxes), _CHUNK):
        part = slice(start, start + _CHUNK)
        best[part], which[part], runner_up[part] = _best_in_chunk(boxes[part], anchors)
    return best, which, runner_up


def _best_in_chunk(boxes: np.ndarray, anchors: Anchors
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if anchors.window is None:
        return _best_of_all_shapes(boxes, anchors)
    return _best_shape_by_shape(boxes, anchors)


def _best_shape_by_shape(boxes: np.ndarray, anchors: Anchors
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`best_iou` for any window, one anchor shape at a time."""
    best, runner_up = np.zeros(len(boxes)), np.zeros(len(boxes))
    which = np.full(len(boxes), -1, dtype=np.int64)
    first = 0
    for layer in anchors.layers:
        for k in range(len(layer.heights)):
            iou, iy, ix, second = _best_of_shape(boxes, layer, k, anchors)
            better = iou > best
            runner_up = np.where(better, np.maximum(np.maximum(best, second), runner_up),
                                 np.maximum(runner_up, iou))
            best = np.where(better, iou, best)
            index = first + (iy * layer.grid[1] + ix) * len(layer.heights) + k
            which = np.where(better, index, which)
        first += layer.count
    return best, which, runner_up


@dataclass(frozen=True)
class _Shapes:
    """Every anchor shape of every layer, one value per shape, in the OD API's order."""

    heights: np.ndarray
    widths: np.ndarray
    stride: tuple[np.ndarray, np.ndarray]
    offset: tuple[np.ndarray, np.ndarray]
    grid: tuple[np.ndarray, np.ndarray]
    #: The index of the shape's first anchor, and how many shapes its layer has.
    first: np.ndarray
    per_cell: np.ndarray

    @classmethod
    def of(cls, anchors: Anchors) -> _Shapes:
        columns: list[list[float]] = [[] for _ in range(10)]
        first = 0
        for layer in anchors.layers:
            shapes = len(layer.heights)
            for k in range(shapes):
                for column, value in zip(columns, (
                        layer.heights[k], layer.widths[k], *layer.stride, *layer.offset,
                        *layer.grid, first + k, shapes), strict=True):
                    column.append(value)
            first += layer.count
        heights, widths, sy, sx, oy, ox, gy, gx, starts, per_cell = (
            np.array(column, dtype=np.float64) for column in columns)
        return cls(heights, widths, (sy, sx), (oy, ox), (gy.astype(np.int64),
                   gx.astype(np.int64)), starts.astype(np.int64), per_cell.astype(np.int64))


def _best_of_all_shapes(boxes: np.ndarray, anchors: Anchors
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`best_iou` for anchors kept as they are, every shape at once.

    The best anchor of a shape is at the nearest grid centre on both axes, so one candidate
    per shape gives the best shape; only that shape's other candidates (the next centre
    along each axis) are needed for the runner-up. Shapes tie as in the OD API's order: the
    first one wins.
    """
    shapes = _Shapes.of(anchors)
    rows = np.arange(len(boxes))
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[:, None]
    extents = (shapes.heights, shapes.widths)
    axes = []
    for a in (0, 1):
        low, high = boxes[:, a:a + 1], boxes[:, a + 2:a + 3]
        place = ((low + high) / 2 - shapes.offset[a]) / shapes.stride[a]
        axes.append((low, high, place, _nearest(place, 0, shapes.grid[a] - 1)))
    ious = _ratio(area, *(_along(axes[a][3], extents[a], shapes.stride[a], shapes.offset[a],
                                 axes[a][0], axes[a][1]) for a in (0, 1)))
    pick = np.argmax(ious, axis=1)
    best = ious[rows, pick]
    second_shape = (np.partition(ious, -2, axis=1)[:, -2] if ious.shape[1] > 1
                    else np.zeros(len(boxes)))
    # The chosen shape's other grid positions: the next centre along y, x or both.
    chosen = [axes[a][3][rows, pick][:, None] for a in (0, 1)]
    next_ = [_next(axes[a][2][rows, pick][:, None], chosen[a], 0,
                   shapes.grid[a][pick][:, None] - 1) for a in (0, 1)]
    around = (np.concatenate([chosen[0], next_[0], next_[0]], axis=1),
              np.concatenate([next_[1], chosen[1], next_[1]], axis=1))
    moved = (around[0] != chosen[0]) | (around[1] != chosen[1])
    ious = _ratio(area, *(_along(around[a], extents[a][pick][:, None],
                                 shapes.stride[a][pick][:, None],
                                 shapes.offset[a][pick][:, None], axes[a][0], axes[a][1])
                          for a in (0, 1)))
    runner_up = np.maximum(second_shape, np.where(moved, ious, 0.0).max(axis=1))
    iy, ix = (index[:, 0].astype(np.int64) for index in chosen)
    which = shapes.first[pick] + (iy * shapes.grid[1][pick] + ix) * shapes.per_cell[pick]
    return best, np.where(best > 0, which, -1), runner_up


def _nearest(place: np.ndarray, first: int | np.ndarray, last: int | np.ndarray
             ) -> np.ndarray:
    """The grid index (from ``first`` to ``last``) nearest to ``place`` (a position in grid
    steps): the best along an axis. Indices are whole floats."""
    return np.clip(np.rint(place), first, np.maximum(first, last))


def _next(place: np.ndarray, nearest: np.ndarray, first: int | np.ndarray,
          last: int | np.ndarray) -> np.ndarray:
    """The next nearest grid index to ``place`` after ``nearest``, on the side of ``place``
    (within ``first`` to ``last``): the best of the others along an axis."""
    alternative = nearest + np.where(place >= nearest, 1.0, -1.0)
    alternative = np.where((alternative < first) | (alternative > last),
                           2 * nearest - alternative, alternative)
    return np.clip(alternative, first, np.maximum(first, last))


def _along(index: np.ndarray, extent: float | np.ndarray, stride: float | np.ndarray,
           offset: float | np.ndarray, low: np.ndarray, high: np.ndarray,
           limit: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Along one axis, for anchors at grid ``index``: the overlap with the box from ``low`` to
    ``high`` and the anchor's length (clipped to ``[0, limit]`` when a limit is given)."""
    middle = index * stride + offset
    a_low, a_high = middle - extent / 2, middle + extent / 2
    if limit is not None:
        a_low, a_high = np.maximum(a_low, 0.0), np.minimum(a_high, limit)
    overlap = np.maximum(np.minimum(a_high, high) - np.maximum(a_low, low), 0.0)
    return overlap, np.maximum(a_high - a_low, 0.0)


def _ratio(area: np.ndarray, y: tuple[np.ndarray, np.ndarray],
           x: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The IoU from the box's area and the (overlap, anchor length) along each axis, as the
    OD API works it out: ``intersection / union``, 0 when the union is empty."""
    inter = y[0] * x[0]
    union = area + y[1] * x[1] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def _best_of_shape(boxes: np.ndarray, layer: AnchorLayer, k: int, anchors: Anchors
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The best IoU of each box with the anchors of shape ``k`` of ``layer``, where, and the
    best IoU with another anchor of that shape."""
    window = anchors.window
    ys, oy, ly = _axis(boxes[:, 0], boxes[:, 2], layer.heights[k], layer.stride[0],
                       layer.offset[0], layer.grid[0], anchors.canvas[0], window)
    xs, ox, lx = _axis(boxes[:, 1], boxes[:, 3], layer.widths[k], layer.stride[1],
                       layer.offset[1], layer.grid[1], anchors.canvas[1], window)
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[:, None, None]
    iou = _ratio(area, (oy[:, :, None], ly[:, :, None]), (ox[:, None, :], lx[:, None, :]))
    flat = iou.reshape(len(boxes), -1)
    pick = np.argmax(flat, axis=1)
    rows = np.arange(len(boxes))
    iy = ys[rows, pick // xs.shape[1]]
    ix = xs[rows, pick % xs.shape[1]]
    # The candidates at another grid position than the best one.
    other = ((ys[:, :, None] != iy[:, None, None]) | (xs[:, None, :] != ix[:, None, None]))
    second = np.where(other.reshape(len(boxes), -1), flat, 0.0).max(axis=1)
    return flat[rows, pick], iy, ix, second


def _axis(low: np.ndarray, high: np.ndarray, extent: float, stride: float, offset: float,
          count: int, limit: float, window: str | None
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Along one axis: the candidate grid indices per box, and for each the overlap with the
    box and the anchor's length (after clipping)."""
    centre, size = (low + high) / 2, high - low
    first, last = 0, count - 1
    if window == "prune":
        # Anchors not wholly inside [0, limit] are dropped (prune_outside_window).
        first = int(np.ceil((extent / 2 - offset) / stride - 1e-9))
        last = int(np.floor((limit - extent / 2 - offset) / stride + 1e-9))
    if first > last:  # no anchor of this shape is kept
        empty = np.zeros((len(centre), 1))
        return np.zeros((len(centre), 1), dtype=np.int64), empty, empty
    if window == "clip":
        # The IoU is a ratio of linear functions of the centre between the places where the
        # overlap or the clipping changes slope: its best is next to one of them or at an end.
        gap = np.abs(size - extent) / 2
        points = [centre - gap, centre + gap, np.full_like(centre, extent / 2),
                  np.full_like(centre, limit - extent / 2)]
        index = np.stack([f((p - offset) / stride) for p in points
                          for f in (np.floor, np.ceil)], axis=1)
        index = np.concatenate([index, np.full((len(centre), 2), [first, last])], axis=1)
        index = np.clip(index, first, last).astype(np.int64)
    else:
        place = (centre - offset) / stride
        nearest = _nearest(place, first, last)
        index = np.stack([nearest, _next(place, nearest, first, last)], axis=1).astype(np.int64)
    overlap, length = _along(index, extent, stride, offset, low[:, None], high[:, None],
                             limit if window == "clip" else None)
    return index, overlap, length
