"""What the ``image_resizer`` makes of an image: its size after the resize, and the size of the
input the network sees (the padded canvas), as the OD API's ``image_resizer_builder`` and
``preprocessor.resize_to_range`` / ``resize_image`` do it.

Boxes stay normalized to the image; the OD API realigns them to the padded canvas, so a box's
pixels in the network's input are its normalized corners times the resized image's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfod_doctor.config.validate import Node

#: The resizers worked out here; the others (conditional, pure padding) are not.
KNOWN = ("fixed_shape_resizer", "keep_aspect_ratio_resizer", "identity_resizer")


@dataclass(frozen=True)
class Resizer:
    """One ``image_resizer``: ``kind`` is its block's name, ``node`` the block."""

    kind: str
    node: Node
    height: int = 0
    width: int = 0
    min_dimension: int = 0
    max_dimension: int = 0
    pad: bool = False

    @property
    def problem(self) -> str | None:
        """Why training could not resize with it (a size of 0 or less), if it could not."""
        sizes = {"fixed_shape_resizer": (self.height, self.width),
                 "keep_aspect_ratio_resizer": (self.min_dimension,)}.get(self.kind, ())
        if any(size <= 0 for size in sizes):
            return f"{self.kind} has a size of 0 or less"
        return None

    @property
    def needs_image_size(self) -> bool:
        """Whether the result depends on the image's own size (not for a fixed shape)."""
        return self.kind != "fixed_shape_resizer"

    def describe(self) -> str:
        """``fixed_shape_resizer 300x300``, ``keep_aspect_ratio_resizer 512-512 (padded)``."""
        if self.kind == "fixed_shape_resizer":
            return f"fixed_shape_resizer {self.height}x{self.width}"
        if self.kind == "keep_aspect_ratio_resizer":
            padded = ", padded to a square" if self.pad else ""
            return (f"keep_aspect_ratio_resizer min_dimension {self.min_dimension}, "
                    f"max_dimension {self.max_dimension}{padded}")
        return self.kind

    def resize(self, width: np.ndarray, height: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(resized height, resized width, canvas height, canvas width)`` in pixels, per
        image (arrays of the image sizes in pixels)."""
        width = np.asarray(width, dtype=np.float64)
        height = np.asarray(height, dtype=np.float64)
        if self.kind == "fixed_shape_resizer":
            h = np.full(width.shape, float(self.height))
            w = np.full(width.shape, float(self.width))
            return h, w, h, w
        if self.kind == "identity_resizer":
            return height, width, height, width
        # resize_to_range: the short side to min_dimension unless the long side would pass
        # max_dimension; sizes rounded half to even as tf.round does.
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = self.min_dimension / np.minimum(height, width)
            if self.max_dimension:
                scale = np.minimum(scale, self.max_dimension / np.maximum(height, width))
        h, w = np.round(height * scale), np.round(width * scale)
        if self.pad and self.max_dimension:
            side = np.full(width.shape, float(self.max_dimension))
            return h, w, side, side
        return h, w, h, w


def read_resizer(arch_node: Node | None) -> Resizer | None:
    """The meta-architecture's ``image_resizer`` (``None`` when it has none)."""
    block = arch_node.node("image_resizer") if arch_node is not None else None
    kind = block.which("image_resizer_oneof") if block is not None else None
    if block is None or kind is None:
        return None
    node = block.node(kind)
    if kind == "fixed_shape_resizer":
        return Resizer(kind, node, height=node.get("height"), width=node.get("width"))
    if kind == "keep_aspect_ratio_resizer":
        return Resizer(kind, node, min_dimension=node.get("min_dimension"),
                       max_dimension=node.get("max_dimension"),
                       pad=bool(node.get("pad_to_max_dimension")))
    return Resizer(kind, node)
