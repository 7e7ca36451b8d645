"""The feature extractor names each TF generation's model builder knows, as data.

Read from the OD API's ``builders/model_builder.py`` (the ``SSD_FEATURE_EXTRACTOR_CLASS_MAP``,
``SSD_KERAS_FEATURE_EXTRACTOR_CLASS_MAP``, ``FASTER_RCNN_FEATURE_EXTRACTOR_CLASS_MAP``,
``FASTER_RCNN_KERAS_FEATURE_EXTRACTOR_CLASS_MAP`` and ``CENTER_NET_EXTRACTOR_FUNCTION_MAP``
tables, release 2.8); ``tests/test_model_layer.py`` compares them with the installed source.
Under TF2 the builder only knows the Keras names; under TF1 only the slim names, and no CenterNet.
"""

from __future__ import annotations

import difflib

#: meta-architecture -> extractor types ``model_builder`` builds under TF2.
TF2: dict[str, frozenset[str]] = {
    "ssd": frozenset({
        "ssd_mobilenet_v1_keras", "ssd_mobilenet_v1_fpn_keras", "ssd_mobilenet_v2_keras",
        "ssd_mobilenet_v2_fpn_keras", "ssd_resnet50_v1_fpn_keras", "ssd_resnet101_v1_fpn_keras",
        "ssd_resnet152_v1_fpn_keras",
        *(f"ssd_efficientnet-b{i}_bifpn_keras" for i in range(8)),
    }),
    "faster_rcnn": frozenset({
        "faster_rcnn_resnet50_keras", "faster_rcnn_resnet101_keras",
        "faster_rcnn_resnet152_keras", "faster_rcnn_inception_resnet_v2_keras",
        "faster_rcnn_resnet50_fpn_keras", "faster_rcnn_resnet101_fpn_keras",
        "faster_rcnn_resnet152_fpn_keras",
    }),
    "center_net": frozenset({
        "resnet_v2_50", "resnet_v2_101", "resnet_v1_18_fpn", "resnet_v1_34_fpn",
        "resnet_v1_50_fpn", "resnet_v1_101_fpn", "hourglass_10", "hourglass_20", "hourglass_32",
        "hourglass_52", "hourglass_104", "mobilenet_v2", "mobilenet_v2_fpn",
        "mobilenet_v2_fpn_sep_conv",
    }),
}

#: meta-architecture -> extractor types ``model_builder`` builds under TF1 (CenterNet: none).
TF1: dict[str, frozenset[str]] = {
    "ssd": frozenset({
        "ssd_inception_v2", "ssd_inception_v3", "ssd_mobilenet_v1", "ssd_mobilenet_v1_fpn",
        "ssd_mobilenet_v1_ppn", "ssd_mobilenet_v2", "ssd_mobilenet_v2_fpn",
        "ssd_mobilenet_v2_mnasfpn", "ssd_mobilenet_v3_large", "ssd_mobilenet_v3_small",
        "ssd_mobilenet_edgetpu", "ssd_resnet50_v1_fpn", "ssd_resnet101_v1_fpn",
        "ssd_resnet152_v1_fpn", "ssd_resnet50_v1_ppn", "ssd_resnet101_v1_ppn",
        "ssd_resnet152_v1_ppn", "embedded_ssd_mobilenet_v1", "ssd_pnasnet", "ssd_mobiledet_cpu",
        "ssd_mobiledet_dsp", "ssd_mobiledet_edgetpu", "ssd_mobiledet_gpu", "ssd_spaghettinet",
    }),
    "faster_rcnn": frozenset({
        "faster_rcnn_nas", "faster_rcnn_pnas", "faster_rcnn_inception_resnet_v2",
        "faster_rcnn_inception_v2", "faster_rcnn_resnet50", "faster_rcnn_resnet101",
        "faster_rcnn_resnet152",
    }),
    "center_net": frozenset(),
}

TABLES = {1: TF1, 2: TF2}
#: TF1 extractors with no Keras port: the nearest TF2 extractor of the same meta-architecture
#: (a different network: its checkpoint and config come from the TF2 model zoo).
_NEAREST_TF2 = {
    "ssd_resnet50_v1_ppn": "ssd_resnet50_v1_fpn_keras",
    "ssd_resnet101_v1_ppn": "ssd_resnet101_v1_fpn_keras",
    "ssd_resnet152_v1_ppn": "ssd_resnet152_v1_fpn_keras",
    "faster_rcnn_nas": "faster_rcnn_inception_resnet_v2_keras",
    "faster_rcnn_pnas": "faster_rcnn_inception_resnet_v2_keras",
    "faster_rcnn_inception_v2": "faster_rcnn_resnet50_keras",
}
_DEFAULT_NEAREST_TF2 = {"ssd": "ssd_mobilenet_v2_keras",
                        "faster_rcnn": "faster_rcnn_resnet50_keras"}


def known(arch: str, name: str, generation: int) -> bool:
    """Whether ``model_builder`` of TF ``generation`` builds extractor ``name`` for ``arch``."""
    return name in TABLES[generation].get(arch, frozenset())


def in_any_map(name: str, generation: int) -> bool:
    """Whether ``name`` is in one of the generation's maps (the builder's first check)."""
    return any(name in names for names in TABLES[generation].values())


def replacement(arch: str, name: str, generation: int) -> tuple[str | None, bool]:
    """What to use instead of ``name`` under TF ``generation``: ``(name, exact)``, where
    ``exact`` says it is the same network ported to that generation (``None``: nothing)."""
    if generation == 2:
        if name + "_keras" in TF2.get(arch, ()):
            return name + "_keras", True
        if name in TF1.get(arch, ()):
            return _NEAREST_TF2.get(name, _DEFAULT_NEAREST_TF2.get(arch)), False
    elif name.endswith("_keras") and name[:-6] in TF1.get(arch, ()):
        return name[:-6], True
    close = difflib.get_close_matches(name, sorted(TABLES[generation].get(arch, ())), n=1)
    return (close[0], False) if close else (None, False)
