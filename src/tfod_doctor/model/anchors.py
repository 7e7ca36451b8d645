"""Where the anchors are, in pixels of the network's input, as the OD API's anchor generators
(``anchor_generators/*.py``, built by ``anchor_generator_builder``) place them.

Every generator tiles a few anchor shapes over a grid per feature map: anchor ``(y, x, k)``
of a layer is centred at ``offset + index * stride`` with shape ``k``; the OD API lists them
layer by layer, then by row, column and shape (:meth:`AnchorLayer.corners` keeps that order).

- ``ssd_anchor_generator`` (``create_ssd_anchors``): scales from ``min_scale`` to
  ``max_scale`` over ``num_layers`` layers (or ``scales``), every aspect ratio plus one
  interpolated scale per layer, 3 shapes in the lowest layer; sizes relative to the shorter
  side of the input; the grid spans the input (stride = input / map size).
- ``multiscale_anchor_generator``: level ``l`` has stride ``2**l`` and shapes
  ``anchor_scale * 2**l * 2**(i / scales_per_octave)`` for every aspect ratio; the centres sit
  at half a stride when the input size is a multiple of the stride, else at 0.
- ``grid_anchor_generator`` (Faster R-CNN): ``scales x aspect_ratios`` of a
  ``height x width`` base (256), ``height_stride`` apart from ``height_offset`` (0).
- ``flexible_grid_anchor_generator``: per layer, ``base_sizes`` paired with
  ``aspect_ratios``, with their own strides and offsets.

A shape of scale ``s`` and aspect ratio ``a`` (width / height) on a base ``B`` is
``s / sqrt(a) * B`` high and ``s * sqrt(a) * B`` wide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tfod_doctor.config.validate import Node
from tfod_doctor.model import feature_maps as maps


@dataclass(frozen=True)
class AnchorLayer:
    """The anchors of one feature map, in pixels of the input (the padded canvas)."""

    grid: tuple[int, int]
    stride: tuple[float, float]
    offset: tuple[float, float]
    #: Height and width of each anchor shape, in pixels.
    heights: np.ndarray
    widths: np.ndarray

    @property
    def count(self) -> int:
        """How many anchors the layer has."""
        return self.grid[0] * self.grid[1] * len(self.heights)

    def corners(self) -> np.ndarray:
        """Every anchor as ``ymin, xmin, ymax, xmax`` in pixels, in the OD API's order."""
        cy = np.arange(self.grid[0]) * self.stride[0] + self.offset[0]
        cx = np.arange(self.grid[1]) * self.stride[1] + self.offset[1]
        cy, cx = cy[:, None, None], cx[None, :, None]
        h, w = self.heights[None, None, :] / 2, self.widths[None, None, :] / 2
        shape = (self.grid[0], self.grid[1], len(self.heights))
        boxes = [np.broadcast_to(v, shape) for v in (cy - h, cx - w, cy + h, cx + w)]
        return np.stack(boxes, axis=-1).reshape(-1, 4)


@dataclass(frozen=True)
class Anchors:
    """All anchors of a model for one input size (``canvas``, height and width in pixels).

    ``window``: ``clip`` when anchors are clipped to the input (Faster R-CNN with
    ``clip_anchors_to_image``), ``prune`` when those not wholly inside it are dropped
    (Faster R-CNN without it), ``None`` when they are kept as they are (SSD).
    """

    generator: str
    canvas: tuple[int, int]
    layers: tuple[AnchorLayer, ...]
    window: str | None = None

    @property
    def count(self) -> int:
        """How many anchors the model has (before pruning)."""
        return sum(layer.count for layer in self.layers)

    def corners(self, normalized: bool = True) -> np.ndarray:
        """Every anchor, layer after layer, normalized to the canvas unless asked otherwise."""
        boxes = np.concatenate([layer.corners() for layer in self.layers])
        if normalized:
            boxes = boxes / np.array([self.canvas[0], self.canvas[1]] * 2, dtype=np.float64)
        return boxes


class AnchorError(ValueError):
    """The config's anchors cannot be made (training's builder or generator fails too)."""


def _shapes(scales, ratios, base: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    scales = np.asarray(scales, dtype=np.float64)
    ratios = np.asarray(ratios, dtype=np.float64)
    if not len(scales) or len(scales) != len(ratios):
        raise AnchorError("a layer has no anchor shapes (no aspect_ratios or scales)")
    if np.any(ratios <= 0) or np.any(scales <= 0) or min(base) <= 0:
        raise AnchorError("anchor scales, sizes and aspect_ratios must be above 0")
    roots = np.sqrt(ratios)
    return scales / roots * base[0], scales * roots * base[1]


def _positive(*values: float) -> None:
    if any(value <= 0 for value in values):
        raise AnchorError("anchor strides must be above 0")


def ssd_anchors(node: Node, canvas: tuple[int, int],
                grids: list[tuple[int, int]] | None = None) -> Anchors:
    """``ssd_anchor_generator`` on the maps of an SSD extractor without a pyramid (or on
    ``grids``, those of a pyramid)."""
    height, width = canvas
    count = node.get("num_layers")
    scales = [float(s) for s in node.all("scales")]
    if count < 1 or (not scales and count < 2):
        raise AnchorError(f"ssd_anchor_generator num_layers is {count}: the scales between "
                          "min_scale and max_scale need 2 layers or more")
    if scales and len(scales) < count:
        raise AnchorError(f"ssd_anchor_generator has {len(scales)} scales for {count} layers")
    if not scales:
        low, high = node.get("min_scale"), node.get("max_scale")
        scales = [low + (high - low) * i / (count - 1) for i in range(count)]
    scales.append(1.0)
    ratios = [float(r) for r in node.all("aspect_ratios")]
    interpolated = node.get("interpolated_scale_aspect_ratio")
    shorter = min(height, width)
    base = (node.get("base_anchor_height") * shorter, node.get("base_anchor_width") * shorter)
    strides = list(zip(node.get("height_stride"), node.get("width_stride"), strict=False))
    offsets = list(zip(node.get("height_offset"), node.get("width_offset"), strict=False))
    if grids is not None and len(grids) != count:
        raise AnchorError(f"ssd_anchor_generator has {count} layers but the extractor's "
                          f"pyramid {len(grids)} levels")
    if (strides and len(strides) != count) or (offsets and len(offsets) != count):
        raise AnchorError("ssd_anchor_generator needs one height_stride/width_stride (and "
                          "offset) per layer")
    layers = []
    for i, grid in enumerate(grids or maps.ssd_layers(height, width, count)):
        if i == 0 and node.get("reduce_boxes_in_lowest_layer"):
            specs = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            specs = [(scales[i], ratio) for ratio in ratios]
            if interpolated > 0:
                specs.append((math.sqrt(scales[i] * scales[i + 1]), interpolated))
        stride = (tuple(map(float, strides[i])) if strides
                  else (height / grid[0], width / grid[1]))
        _positive(*stride)
        offset = (tuple(map(float, offsets[i])) if offsets
                  else (stride[0] / 2, stride[1] / 2))
        heights, widths = _shapes([s for s, _ in specs], [r for _, r in specs], base)
        layers.append(AnchorLayer(grid, stride, offset, heights, widths))
    return Anchors("ssd_anchor_generator", canvas, tuple(layers))


def multiscale_anchors(node: Node, canvas: tuple[int, int]) -> Anchors:
    """``multiscale_anchor_generator``: one layer per pyramid level."""
    height, width = canvas
    octave = node.get("scales_per_octave")
    ratios = [float(r) for r in node.all("aspect_ratios")]
    scales = [2 ** (i / octave) for i in range(octave)]
    levels = range(node.get("min_level"), node.get("max_level") + 1)
    if not levels or levels.start < 0 or octave < 1:
        raise AnchorError("multiscale_anchor_generator needs min_level <= max_level (0 or "
                          "more) and scales_per_octave of 1 or more")
    layers = []
    for level, grid in zip(levels, maps.pyramid(height, width, levels), strict=True):
        stride = float(2 ** level)
        offset = tuple(stride / 2 if side % stride == 0 else 0.0 for side in canvas)
        base = stride * node.get("anchor_scale")
        # The OD API's meshgrid lists the scales fastest, aspect ratio by aspect ratio.
        pairs = [(scale, ratio) for ratio in ratios for scale in scales]
        heights, widths = _shapes([s for s, _ in pairs], [r for _, r in pairs], (base, base))
        layers.append(AnchorLayer(grid, (stride, stride), offset, heights, widths))
    return Anchors("multiscale_anchor_generator", canvas, tuple(layers))


def grid_anchors(node: Node, canvas: tuple[int, int], window: str | None) -> Anchors:
    """``grid_anchor_generator`` (Faster R-CNN's first stage) on one map at its stride."""
    stride = (float(node.get("height_stride")), float(node.get("width_stride")))
    _positive(*stride)
    grid = (math.ceil(canvas[0] / stride[0]), math.ceil(canvas[1] / stride[1]))
    scales = [float(s) for s in node.all("scales")]
    ratios = [float(r) for r in node.all("aspect_ratios")]
    pairs = [(scale, ratio) for ratio in ratios for scale in scales]
    heights, widths = _shapes([s for s, _ in pairs], [r for _, r in pairs],
                              (float(node.get("height")), float(node.get("width"))))
    offset = (float(node.get("height_offset")), float(node.get("width_offset")))
    layer = AnchorLayer(grid, stride, offset, heights, widths)
    return Anchors("grid_anchor_generator", canvas, (layer,), window)


def flexible_anchors(node: Node, canvas: tuple[int, int]) -> Anchors:
    """``flexible_grid_anchor_generator``: each ``anchor_grid`` is a layer at its stride."""
    layers = []
    for grid_node in node.all("anchor_grid"):
        stride = (float(grid_node.get("height_stride")), float(grid_node.get("width_stride")))
        _positive(*stride)
        grid = (math.ceil(canvas[0] / stride[0]), math.ceil(canvas[1] / stride[1]))
        offset = (float(grid_node.get("height_offset")), float(grid_node.get("width_offset")))
        heights, widths = _shapes(grid_node.all("base_sizes"), grid_node.all("aspect_ratios"),
                                  (1.0, 1.0))
        layers.append(AnchorLayer(grid, stride, offset, heights, widths))
    if not layers:
        raise AnchorError("flexible_grid_anchor_generator has no anchor_grid")
    return Anchors("flexible_grid_anchor_generator", canvas, tuple(layers))


def anchor_block(arch: str | None, arch_node: Node | None) -> tuple[str, Node] | None:
    """The anchor generator that is set (its name and block), if the model has one."""
    if arch_node is None:
        return None
    field = {"ssd": "anchor_generator", "faster_rcnn": "first_stage_anchor_generator"}.get(
        arch or "")
    block = arch_node.node(field) if field else None
    kind = block.which("anchor_generator_oneof") if block is not None else None
    return (kind, block.node(kind)) if kind else None


def _pyramid_maps(arch_node: Node, canvas: tuple[int, int]) -> list[tuple[int, int]] | None:
    """The maps of an SSD extractor with a pyramid (``fpn`` / ``bifpn``), else ``None``."""
    extractor = arch_node.node("feature_extractor")
    group = extractor.which("feature_pyramid_oneof") if extractor is not None else None
    if group is None:
        return None
    pyramid = extractor.node(group)
    levels = range(pyramid.get("min_level"), pyramid.get("max_level") + 1)
    return maps.pyramid(canvas[0], canvas[1], levels)


def model_anchors(arch: str | None, arch_node: Node | None,
                  canvas: tuple[int, int]) -> Anchors | str:
    """The model's anchors for an input of ``canvas`` pixels, or why they are not worked out.

    Anchors follow the generator's own grid for the multiscale, grid and flexible generators;
    for ``ssd_anchor_generator`` the maps of an extractor without a pyramid are assumed.
    """
    found = anchor_block(arch, arch_node)
    if found is None:
        return "the model has no anchor generator"
    kind, node = found
    if kind == "ssd_anchor_generator":
        return ssd_anchors(node, canvas, _pyramid_maps(arch_node, canvas))
    if kind == "multiscale_anchor_generator":
        return multiscale_anchors(node, canvas)
    if kind == "flexible_grid_anchor_generator":
        return flexible_anchors(node, canvas)
    window = "clip" if arch_node.get("clip_anchors_to_image") else "prune"
    return grid_anchors(node, canvas, window if arch == "faster_rcnn" else None)
