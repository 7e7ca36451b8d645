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

SPLIT_SKEW = define(Rule(
    id="D008",
    name="split-skew",
    severity=Severity.WARNING,
    summary="Eval is drawn from another distribution than train: class frequencies, image "
            "sizes, boxes per image, box sizes or shapes differ beyond chance.",
    why="Eval then measures the model on data unlike what it learned from: mAP says little "
        "about how it will do, and a class or size band that eval over-weights dominates the "
        "score. TFDV calls this skew; it is measured the same way (L-infinity distance for "
        "categories, Jensen-Shannon divergence for histograms).",
    fix="Split the data at random (or stratified by class and source), not by date, camera or "
        "annotator; or accept it knowingly and raise the threshold in the project file "
        "(`[thresholds] skew-linf`, `skew-js`).",
    example="train: 70% cars, 30% people; eval: 20% cars, 80% people (L-infinity 0.5)",
    defect="split_skew",
))

RARE_CLASS = define(Rule(
    id="D009",
    name="rare-class",
    severity=Severity.WARNING,
    summary="A class has too few train boxes to learn (under 50, and a fifth or less of the "
            "median class, which has at least 10).",
    why="A detector needs tens to hundreds of examples per class; a class with a handful is "
        "barely learned, and its AP in eval is noise.",
    fix="Label more images of the class, merge it into a related class, or drop it from the "
        "label map; the limits are `[thresholds] min-boxes-per-class` and `rare-factor`.",
    example="cat: 400 boxes, dog: 380 boxes, fox: 6 boxes",
    defect="rare_class",
))

DOMINANT_CLASS = define(Rule(
    id="D010",
    name="dominant-class",
    severity=Severity.INFO,
    summary="One class holds most of the train boxes (over 80%).",
    why="The loss is dominated by that class: the others are learned slowly and detected with "
        "low confidence, and the mean AP hides it.",
    fix="Balance the data (more images of the other classes, fewer of this one), or weigh the "
        "classes; the limit is `[thresholds] dominant-share`.",
    example="person: 9,000 boxes; bicycle: 600; dog: 400",
    defect="dominant_class",
))

CLASS_MISSING_FROM_SPLIT = define(Rule(
    id="D011",
    name="class-missing-from-eval",
    severity=Severity.WARNING,
    summary="A class has boxes in train and none in eval.",
    why="Eval never measures the class: its AP is missing (or counted as 0 or NaN, depending on "
        "the metric), so nobody sees how well it is learned.",
    fix="Move some images of the class into eval (split stratified by class).",
    example="train: cat, dog, fox; eval: cat, dog",
    defect="class_missing_from_eval",
))

IMAGE_SIZE_OUTLIER = define(Rule(
    id="D012",
    name="image-size-outlier",
    severity=Severity.INFO,
    summary="Some images are far larger or smaller (over 10x the area) than the dataset's "
            "usual size.",
    why="Every image is resized to the model's input: a huge image shrinks its objects to a few "
        "pixels, a tiny one blows them up. It is often a thumbnail or a panorama that slipped "
        "in, or a different camera whose images deserve their own look.",
    fix="Look at the images of the sizes listed (`tfod-doctor show`), crop or drop the odd "
        "ones; the limit is `[thresholds] outlier-factor`.",
    example="2,000 images of 640x480 and 3 of 6000x4000",
    defect="image_size_outlier",
))

CROWDED_IMAGE = define(Rule(
    id="D013",
    name="crowded-image",
    severity=Severity.INFO,
    summary="Some images have far more boxes than the rest (over 10x the median, and over 20).",
    why="Usually a labelling accident (a box drawn many times, a grid of boxes) or a crowd "
        "scene that deserves its own look; above `max_number_of_boxes` (100) the boxes are "
        "dropped silently.",
    fix="Look at those images (`tfod-doctor show`) and fix their labels; the limits are "
        "`[thresholds] outlier-factor` and `crowded-min-boxes`.",
    example="most images: 2-4 boxes; 5 images: 80 boxes",
    defect="crowded_image",
))

EXPECTED_CLASS_ABSENT = define(Rule(
    id="D014",
    name="expected-class-absent",
    severity=Severity.ERROR,
    summary="A class that the project file expects (`[expect] classes`) has no box in a split.",
    why="The team said the dataset must hold this class: without it the model never learns it "
        "(train) or eval never measures it (eval).",
    fix="Add the class's images to the split, or correct the expectation in the project file.",
    example="[expect] classes = [\"helmet\"]; no helmet box in eval",
    defect="expected_class_absent",
))

IMAGE_SIZE_UNEXPECTED = define(Rule(
    id="D015",
    name="image-size-unexpected",
    severity=Severity.WARNING,
    summary="Images outside the size range the project file expects (`[expect] min-image-size`, "
            "`max-image-size`).",
    why="The team said which image sizes belong in the dataset; others are usually from "
        "another source (thumbnails, another camera, an export at another scale).",
    fix="Look at the images of the sizes listed, or widen the range in the project file.",
    example="[expect] min-image-size = [320, 240]; 12 images of 160x120",
    defect="image_size_unexpected",
))

TOO_MANY_BOXES_EXPECTED = define(Rule(
    id="D016",
    name="boxes-above-expected",
    severity=Severity.WARNING,
    summary="Images with more boxes than the project file expects (`[expect] "
            "max-boxes-per-image`).",
    why="The team said how many objects an image holds at most; more is usually a labelling "
        "accident, and above the reader's `max_number_of_boxes` boxes are dropped silently.",
    fix="Look at those images and fix their labels, or raise the limit in the project file.",
    example="[expect] max-boxes-per-image = 10; an image with 37 boxes",
    defect="boxes_above_expected",
))

NEAR_DUPLICATE = define(Rule(
    id="D017",
    name="near-duplicate-across-splits",
    severity=Severity.WARNING,
    summary="An eval image is a re-encoded, resized or recompressed copy of a train image "
            "(with `--near-duplicates` or `--deep`).",
    why="The model is evaluated on a photo it trained on, only saved again: eval metrics "
        "overstate how well it does on new images. D004 sees identical bytes only, but the usual "
        "leak is the same photo exported twice (another quality, size or format), which changes "
        "every byte. The images' perceptual hashes (256 bits) are compared; copies differ in a "
        "few bits, other photos of the same scene in a hundred.",
    fix="Remove the copies from one of the splits (usually from train), and split by source "
        "photo before resizing or exporting; the limit is `[thresholds] near-duplicate-bits`.",
    example="eval record 7 holds train record 312's photo at half size and JPEG quality 60 "
            "(3 of 256 bits differ)",
    defect="near_duplicate_across_splits",
))

BOX_SIZE_OUTLIER = define(Rule(
    id="D018",
    name="box-size-outlier",
    severity=Severity.INFO,
    summary="Boxes far larger than their class's usual size (over 10x the median area), or far "
            "smaller (under 1/100 of it), in classes of at least 20 boxes.",
    why="A box many times the size of every other box of its class is usually a label on the "
        "wrong object, a box around the whole image, or a record whose boxes were written in "
        "pixels; the model learns that class at the wrong scale from it. Classes do vary in "
        "size (a car near the camera and one far away), so the limit for small boxes is wider "
        "and the rule only informs.",
    fix="Look at the boxes listed (`tfod-doctor show`) and correct their labels; "
        "the limit is `[thresholds] outlier-factor` (the area ratio above the median; its "
        "square below).",
    example="car boxes: median 48x30 pixels; record 214's car box is 620x410 (176x the area)",
    defect="box_size_outlier",
))

BOX_SHAPE_OUTLIER = define(Rule(
    id="D019",
    name="box-shape-outlier",
    severity=Severity.INFO,
    summary="Boxes far wider or taller than their class's usual shape (over 5x the median "
            "width:height either way, and far outside the spread of the class's shapes), in "
            "classes of at least 20 boxes.",
    why="A box whose shape is unlike every other box of its class is usually a record whose "
        "coordinates were written in the wrong order (x and y swapped turn a standing person "
        "into a lying one), a box around a row of objects, or a label on the wrong object. The "
        "model learns the class's shape from it, and an anchor-based model may have no anchor "
        "of that shape to match it with. Some classes do vary in shape (a car from the side "
        "and from the front), so the rule only informs.",
    fix="Look at the boxes listed (`tfod-doctor show`): correct the coordinates or the label; "
        "the limit is `[thresholds] shape-factor` (how many times wider or taller than the "
        "class's median width:height). A box must also lie beyond the class's far-out fences "
        "(3 interquartile ranges of log width:height outside its quartiles), so that classes "
        "whose shapes vary widely stay quiet; boxes touching the image's edge (truncated "
        "objects) are not judged.",
    example="person boxes: median 1:2.4 (width:height); record 88's person box is 5.2:1, 12x "
            "wider",
    defect="box_shape_outlier",
))
