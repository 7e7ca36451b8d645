"""The feature maps the configured extractor hands the box predictor, and their sizes for an
input size, as the OD API's feature extractors make them (``models/ssd_*_feature_extractor``,
``*_keras``; ``SAME`` padding: every stride-2 step rounds up).

- SSD without a pyramid (MobileNet V1/V2/V3, Inception): a map at stride 16 and one at stride
  32 from the backbone, then extra layers that each halve the last (``num_layers`` maps in
  all): at 300x300, 19, 10, 5, 3, 2, 1.
- A pyramid (``fpn``, EfficientDet's ``bifpn``, and ``multiscale_anchor_generator`` levels):
  one map per level, at stride ``2**level``.
- Faster R-CNN's first stage: one map at the anchor stride (16 for the zoo's ResNets).
- CenterNet: one map at its output stride, 4.
"""

from __future__ import annotations

import math

#: CenterNet's output stride (``center_net_meta_arch``; every zoo extractor has 4).
CENTER_NET_STRIDE = 4


def halve(size: int, times: int) -> int:
    """``size`` after ``times`` stride-2 steps with SAME padding."""
    for _ in range(times):
        size = math.ceil(size / 2)
    return size


def pyramid(height: int, width: int, levels: range) -> list[tuple[int, int]]:
    """The map sizes of pyramid levels (stride ``2**level``)."""
    return [(halve(height, level), halve(width, level)) for level in levels]


def ssd_layers(height: int, width: int, count: int) -> list[tuple[int, int]]:
    """The maps of an SSD extractor without a pyramid: strides 16, 32, then halving."""
    return [(halve(height, 4 + i), halve(width, 4 + i)) for i in range(count)]
