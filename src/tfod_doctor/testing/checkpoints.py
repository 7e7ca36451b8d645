"""Checkpoints for test datasets, written without TensorFlow: a valid TensorBundle ``.index``.

The index is a LevelDB-format table (prefix-compressed blocks, restart points, masked CRC32C
trailers, index block, footer) holding a ``BundleHeaderProto`` under the empty key and a
``BundleEntryProto`` per tensor, as TensorFlow writes it. The data file holds no values: the
doctor reads only the index (tests of the reader use checkpoints written by TensorFlow).

Layouts mimic the model zoo's object paths (Keras 2 names: ``layer_with_weights-N``), with real
backbone shapes: MobileNetV2, ResNet-50/101, a small Hourglass; and TF1 (slim) names.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

from tfod_doctor.model.checkpoint_index import DTYPES, FOOTER_SIZE, OBJECT_GRAPH_KEY, TABLE_MAGIC
from tfod_doctor.records.crc import masked_crc32c

Tensor = tuple[str, str, tuple[int, ...]]
_DTYPE_NUMBERS = {name: number for number, name in DTYPES.items()}
_VALUE = "/.ATTRIBUTES/VARIABLE_VALUE"


# -- the table writer ----------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return _varint(number << 3 | 2) + _varint(len(value)) + value
    return _varint(number << 3) + _varint(value)


def _block(entries: Sequence[tuple[bytes, bytes]], restart_interval: int) -> bytes:
    out, restarts, last = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_interval == 0:
            restarts.append(len(out))
        else:
            while shared < min(len(key), len(last)) and key[shared] == last[shared]:
                shared += 1
        out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value))
        out += key[shared:] + value
        last = key
    for restart in restarts or [0]:
        out += struct.pack("<I", restart)
    return bytes(out + struct.pack("<I", len(restarts or [0])))


def table_bytes(items: Iterable[tuple[bytes, bytes]], block_size: int = 4096,
                restart_interval: int = 16, compression: int = 0) -> bytes:
    """A LevelDB-format table of ``items`` (sorted by key here); the blocks are stored as they
    are, with ``compression`` as their trailer's type byte (TensorFlow writes 0, none)."""
    items = sorted(items)
    out = bytearray()

    def put(block: bytes) -> bytes:
        handle = _varint(len(out)) + _varint(len(block))
        kind = bytes([compression])
        out.extend(block + kind + struct.pack("<I", masked_crc32c(block + kind)))
        return handle

    index: list[tuple[bytes, bytes]] = []
    chunk: list[tuple[bytes, bytes]] = []
    for key, value in items:
        chunk.append((key, value))
        if sum(len(k) + len(v) for k, v in chunk) >= block_size:
            index.append((key, put(_block(chunk, restart_interval))))
            chunk = []
    if chunk or not index:
        index.append((chunk[-1][0] if chunk else b"", put(_block(chunk, restart_interval))))
    metaindex = put(_block([], restart_interval))
    index_handle = put(_block(index, 1))
    footer = (metaindex + index_handle).ljust(FOOTER_SIZE - 8, b"\0")
    return bytes(out + footer + struct.pack("<Q", TABLE_MAGIC))


def _entry(dtype: str, shape: tuple[int, ...], offset: int, size: int) -> bytes:
    dims = b"".join(_field(2, _field(1, d)) for d in shape)
    return (_field(1, _DTYPE_NUMBERS[dtype]) + _field(2, dims) + _field(4, offset)
            + _field(5, size) + struct.pack("<B", 6 << 3 | 5) + b"\0\0\0\0")


def index_bytes(tensors: Sequence[Tensor], object_based: bool = True) -> bytes:
    """The ``.index`` of a one-shard checkpoint of ``tensors`` (name, dtype, shape)."""
    header = _field(1, 1) + _field(3, _field(1, 1))
    items = [(b"", header)]
    offset = 0
    all_tensors = [*tensors, (OBJECT_GRAPH_KEY, "string", ())] if object_based else tensors
    for name, dtype, shape in all_tensors:
        size = 4
        for dim in shape:
            size *= dim
        items.append((name.encode(), _entry(dtype, shape, offset, size)))
        offset += size
    return table_bytes(items)


def write_checkpoint(prefix: Path, tensors: Sequence[Tensor], object_based: bool = True) -> Path:
    """Write ``PREFIX.index`` and an (empty-valued) ``PREFIX.data-00000-of-00001``."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    prefix.with_name(prefix.name + ".index").write_bytes(index_bytes(tensors, object_based))
    prefix.with_name(prefix.name + ".data-00000-of-00001").write_bytes(b"\0" * 16)
    return prefix


# -- layouts ------------------------------------------------------------------------------------


class _Layers:
    """Numbered Keras layers with weights under one object path."""

    def __init__(self, path: str) -> None:
        self.path, self.n, self.tensors = path, 0, []

    def _add(self, names: dict[str, tuple[int, ...]]) -> None:
        for name, shape in names.items():
            self.tensors.append((f"{self.path}/layer_with_weights-{self.n}/{name}{_VALUE}",
                                 "float32", shape))
        self.n += 1

    def conv(self, size: int, cin: int, cout: int, bias: bool = False) -> None:
        self._add({"kernel": (size, size, cin, cout), **({"bias": (cout,)} if bias else {})})

    def depthwise(self, size: int, channels: int) -> None:
        self._add({"depthwise_kernel": (size, size, channels, 1)})

    def bn(self, channels: int) -> None:
        self._add({name: (channels,) for name in ("gamma", "beta", "moving_mean",
                                                   "moving_variance")})


def mobilenet_v2(path: str) -> list[Tensor]:
    """Keras MobileNetV2 (alpha 1.0) without its top, as ``classification_backbone``."""
    layers = _Layers(path)
    layers.conv(3, 3, 32)
    layers.bn(32)
    channels = 32
    for expand, out, repeat in ((1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3),
                                (6, 160, 3), (6, 320, 1)):
        for _ in range(repeat):
            wide = channels * expand
            if expand != 1:
                layers.conv(1, channels, wide)
                layers.bn(wide)
            layers.depthwise(3, wide)
            layers.bn(wide)
            layers.conv(1, wide, out)
            layers.bn(out)
            channels = out
    layers.conv(1, 320, 1280)
    layers.bn(1280)
    return layers.tensors


def resnet(path: str, depth: int = 50) -> list[Tensor]:
    """Keras ResNet-50/101/152 (v1, bottleneck blocks) without its top."""
    blocks = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}[depth]
    layers = _Layers(path)
    layers.conv(7, 3, 64, bias=True)
    layers.bn(64)
    channels = 64
    for stage, repeat in enumerate(blocks):
        width = 64 * 2 ** stage
        for block in range(repeat):
            if block == 0:
                layers.conv(1, channels, width * 4, bias=True)
                layers.bn(width * 4)
            layers.conv(1, channels, width, bias=True)
            layers.bn(width)
            layers.conv(3, width, width, bias=True)
            layers.bn(width)
            layers.conv(1, width, width * 4, bias=True)
            layers.bn(width * 4)
            channels = width * 4
    return layers.tensors


def hourglass(path: str) -> list[Tensor]:
    """The stem and a few residual convolutions of CenterNet's Hourglass network."""
    layers = _Layers(path)
    layers.conv(7, 3, 128)
    layers.bn(128)
    for _ in range(8):
        layers.conv(3, 256, 256)
        layers.bn(256)
    return layers.tensors


def _head(path: str, cin: int, cout: int) -> list[Tensor]:
    return [(f"{path}/kernel{_VALUE}", "float32", (3, 3, cin, cout)),
            (f"{path}/bias{_VALUE}", "float32", (cout,))]


def ssd_detection(num_classes: int, backbone: str = "mobilenet_v2") -> list[Tensor]:
    """A model-zoo SSD detection checkpoint (``checkpoint/ckpt-0``) with an FPN."""
    base = "model/_feature_extractor/classification_backbone"
    tensors = mobilenet_v2(base) if backbone == "mobilenet_v2" else resnet(base, 50)
    fpn = "model/_feature_extractor/_fpn_features_generator/top_layers/0"
    tensors += _head(fpn, 320, 128)
    predictor = "model/_box_predictor"
    tensors += _head(f"{predictor}/_base_tower_layers_for_heads/box_encodings/0", 128, 128)
    tensors += _head(f"{predictor}/_prediction_heads/box_encodings/_box_encoder_layers/0",
                     128, 6 * 4)
    tensors += _head(f"{predictor}/_prediction_heads/class_predictions_with_background/"
                     "_class_predictor_layers/0", 128, 6 * (num_classes + 1))
    return tensors


def faster_rcnn_detection(num_classes: int) -> list[Tensor]:
    """A model-zoo Faster R-CNN ResNet-50 detection checkpoint: conv1-4 and conv5 apart."""
    backbone = resnet("model/_feature_extractor_for_proposal_features", 50)
    split = next(i for i, t in enumerate(backbone) if "layer_with_weights-86/" in t[0])
    conv5 = [(name.replace("_for_proposal_features", "_for_box_classifier_features"), d, s)
             for name, d, s in backbone[split:]]
    return (backbone[:split] + conv5
            + _head("model/_first_stage_box_predictor/_box_prediction_heads/box_encodings/"
                    "_box_encoder_layers/0", 512, 12 * 4)
            + [("model/_mask_rcnn_box_predictor/_class_prediction_head/_class_predictor_layers/"
                f"1/kernel{_VALUE}", "float32", (2048, num_classes + 1))])


def center_net_detection(num_classes: int, backbone: str = "resnet50") -> list[Tensor]:
    """A model-zoo CenterNet detection checkpoint (ResNet-50 FPN or Hourglass)."""
    base = "model/_feature_extractor/_base_model"
    tensors = hourglass(base) if backbone == "hourglass" else resnet(base, 50)
    heads = "model/_prediction_head_dict/object_center/0/layer_with_weights-1"
    return tensors + _head(heads, 64, num_classes)


def classification(backbone: str = "mobilenet_v2") -> list[Tensor]:
    """An ImageNet backbone checkpoint: ``tf.train.Checkpoint(feature_extractor=model)``."""
    if backbone == "mobilenet_v2":
        return mobilenet_v2("feature_extractor")
    return resnet("feature_extractor", 50)


def tf1_ssd_mobilenet_v2(num_classes: int) -> list[Tensor]:
    """A TF1 model-zoo ``model.ckpt``: slim scope names, no object graph."""
    tensors: list[Tensor] = [("FeatureExtractor/MobilenetV2/Conv/weights", "float32",
                              (3, 3, 3, 32))]
    for i in range(1, 17):
        tensors.append((f"FeatureExtractor/MobilenetV2/expanded_conv_{i}/depthwise/"
                        "depthwise_weights", "float32", (3, 3, 96, 1)))
    tensors.append(("BoxPredictor_0/ClassPredictor/weights", "float32",
                    (1, 1, 576, 3 * (num_classes + 1))))
    tensors.append(("global_step", "int64", ()))
    return tensors


def detection_for(arch: str, num_classes: int) -> list[Tensor]:
    """The detection checkpoint that fits a generated config of ``arch``."""
    if arch == "faster_rcnn":
        return faster_rcnn_detection(num_classes)
    if arch == "center_net":
        return center_net_detection(num_classes)
    return ssd_detection(num_classes)
