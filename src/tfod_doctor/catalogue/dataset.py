"""D: the dataset as a whole: ids, duplicates, leakage, classes, emptiness."""

from tfod_doctor.catalogue import Rule, define
from tfod_doctor.findings import Severity

DUPLICATE_SOURCE_ID = define(Rule(
    id="D001",
    name="duplicate-source-id",
    severity=Severity.DATA_LOSS,
    summary="Two records of one split share an image/source_id.",
    why="Eval identifies images by a hash of image/source_id. The COCO evaluator keeps the "
        "first image with an id and skips every later one (`Ignoring ground truth with image id "
        "... since it was previously added`, a log line), so metrics silently leave them out. In "
        "a training split it is only suspicious (a warning when the split is unknown).",
    fix="Give every image a unique source_id (its file name or a running number); when the "
        "records are true duplicates, drop them (D003).",
    example="two eval records with image/source_id=b'0001.jpg'",
    defect="duplicate_source_id",
    fixable=True,
    tf_message="WARNING: Ignoring ground truth with image id 1234 since it was previously added",
))

EMPTY_SOURCE_ID = define(Rule(
    id="D002",
    name="empty-source-id",
    severity=Severity.INFO,
    summary="A record has no image/source_id (missing or empty).",
    why="Eval replaces an empty source_id with a random number, so evaluation works, but its "
        "per-image results and logs cannot be traced back to an image. Some exporters (Datumaro, "
        "Roboflow) leave it empty.",
    fix="Write a unique image/source_id per image, for example the file name.",
    example="{'image/source_id': b''}",
    defect="empty_source_id",
    fixable=True,
))

DUPLICATE_IMAGE = define(Rule(
    id="D003",
    name="duplicate-image",
    severity=Severity.WARNING,
    summary="The same image bytes appear in more than one record of a split.",
    why="Duplicates weigh some images more than others in training and inflate or skew eval "
        "metrics; they usually come from a script run twice over the same folder or a merge of "
        "overlapping exports.",
    fix="Keep one record per image (merge their boxes if they differ).",
    example="train record 12 and train record 480 hold identical JPEG bytes",
    defect="duplicate_image",
    fixable=False,
))

TRAIN_EVAL_LEAK = define(Rule(
    id="D004",
    name="train-eval-leak",
    severity=Severity.WARNING,
    summary="An image of the eval split is also in the train split (identical bytes).",
    why="The model is evaluated on images it trained on, so eval metrics overstate how well it "
        "does on new images, and nothing in training or eval says so.",
    fix="Remove the shared images from one of the splits (usually from train) and split by "
        "source before writing records.",
    example="eval record 3 holds the same JPEG bytes as train record 1041",
    defect="train_eval_leak",
))

UNUSED_CLASS = define(Rule(
    id="D005",
    name="unused-class",
    severity=Severity.WARNING,
    summary="A label-map class has no box anywhere in the records.",
    why="The model gets an output for a class it never sees: it never predicts it, and eval "
        "lists it with no ground truth. Usually a stale label map or a typo on one side (see "
        "L004). A subset of an official OD API label map (COCO, pets, Open Images) is one "
        "information finding: keep the official ids.",
    fix="Remove the class from the label map (renumbering the rest consistently), or add "
        "annotated images of it.",
    example="label map: cat, dog, bird; no record has a bird",
    defect="unused_class",
))

EMPTY_DATASET = define(Rule(
    id="D006",
    name="empty-dataset",
    severity=Severity.ERROR,
    summary="No readable tf.train.Example in the inputs at all.",
    why="There is nothing to train on: with the OD API's default `drop_remainder: true`, an "
        "empty dataset gives no batches and training or eval waits or ends at once.",
    fix="Check that the record files were written (closed writers, right paths) and hold "
        "tf.train.Example records.",
    example="train.tfrecord of 0 bytes",
    defect="empty_dataset",
))

NO_BOXES = define(Rule(
    id="D007",
    name="no-boxes",
    severity=Severity.WARNING,
    summary="The records hold images but not a single box.",
    why="Negative images are fine, but a dataset of only negatives teaches the model nothing to "
        "detect. Usually the box keys are misspelled (F002), the boxes are one flat list "
        "under another key (F008), or the annotations were not joined to the images.",
    fix="Check the box keys (image/object/bbox/xmin...) and the annotation export.",
    example="1000 records, image/object/bbox/* empty in every one",
    defect="no_boxes",
))
