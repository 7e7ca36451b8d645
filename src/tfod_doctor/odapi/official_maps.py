"""The label maps the OD API ships (``object_detection/data``), recognised by their classes.

A dataset that uses some classes of an official map (COCO's 1..90 with its ten gaps, the 37 pets
breeds, Open Images' Freebase ids) is not wrong for leaving the others unused, and its ids must
stay as they are: they are the ids the official checkpoints were trained with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

COCO = "COCO"
PETS = "Oxford-IIIT Pets"
OPEN_IMAGES = "Open Images"

#: COCO's ids -> names, as ``mscoco_label_map.pbtxt`` has them (display names): 80 classes
#: numbered 1..90, ten ids without a class.
COCO_CLASSES: dict[int, str] = {
    1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus", 7: "train",
    8: "truck", 9: "boat", 10: "traffic light", 11: "fire hydrant", 13: "stop sign",
    14: "parking meter", 15: "bench", 16: "bird", 17: "cat", 18: "dog", 19: "horse", 20: "sheep",
    21: "cow", 22: "elephant", 23: "bear", 24: "zebra", 25: "giraffe", 27: "backpack",
    28: "umbrella", 31: "handbag", 32: "tie", 33: "suitcase", 34: "frisbee", 35: "skis",
    36: "snowboard", 37: "sports ball", 38: "kite", 39: "baseball bat", 40: "baseball glove",
    41: "skateboard", 42: "surfboard", 43: "tennis racket", 44: "bottle", 46: "wine glass",
    47: "cup", 48: "fork", 49: "knife", 50: "spoon", 51: "bowl", 52: "banana", 53: "apple",
    54: "sandwich", 55: "orange", 56: "broccoli", 57: "carrot", 58: "hot dog", 59: "pizza",
    60: "donut", 61: "cake", 62: "chair", 63: "couch", 64: "potted plant", 65: "bed",
    67: "dining table", 70: "toilet", 72: "tv", 73: "laptop", 74: "mouse", 75: "remote",
    76: "keyboard", 77: "cell phone", 78: "microwave", 79: "oven", 80: "toaster", 81: "sink",
    82: "refrigerator", 84: "book", 85: "clock", 86: "vase", 87: "scissors", 88: "teddy bear",
    89: "hair drier", 90: "toothbrush",
}
#: The 37 breeds of ``pet_label_map.pbtxt``, ids 1..37 in order.
PETS_CLASSES: tuple[str, ...] = (
    "Abyssinian", "american_bulldog", "american_pit_bull_terrier", "basset_hound", "beagle",
    "Bengal", "Birman", "Bombay", "boxer", "British_Shorthair", "chihuahua", "Egyptian_Mau",
    "english_cocker_spaniel", "english_setter", "german_shorthaired", "great_pyrenees", "havanese",
    "japanese_chin", "keeshond", "leonberger", "Maine_Coon", "miniature_pinscher", "newfoundland",
    "Persian", "pomeranian", "pug", "Ragdoll", "Russian_Blue", "saint_bernard", "samoyed",
    "scottish_terrier", "shiba_inu", "Siamese", "Sphynx", "staffordshire_bull_terrier",
    "wheaten_terrier", "yorkshire_terrier",
)
_MID = re.compile(r"/m/[0-9a-z_]+")


def official_map(classes: Mapping[int, str], names: Mapping[int, str] | None = None
                 ) -> str | None:
    """Which official label map ``classes`` (id -> display name, else name) is, or ``None``.

    ``names`` (id -> ``name`` field) tells Open Images' maps, whose names are Freebase ids.
    """
    ids = {class_id: text for class_id, text in classes.items() if class_id > 0}
    if not ids:
        return None
    coco = [i for i in ids if i in COCO_CLASSES]
    if len(coco) >= 70 and all(COCO_CLASSES[i] == ids[i] for i in coco):
        return COCO
    if ids == dict(enumerate(PETS_CLASSES, start=1)):
        return PETS
    mids = [i for i in ids if _MID.fullmatch((names or {}).get(i, ""))]
    if len(ids) >= 100 and len(mids) >= 0.9 * len(ids):
        return OPEN_IMAGES
    return None
