"""I: the encoded images, decoded the way the OD API decodes them (spec §4)."""

from tfod_doctor.catalogue import Rule, define
from tfod_doctor.findings import Severity

UNDECODABLE = define(Rule(
    id="I001",
    name="image-undecodable",
    severity=Severity.ERROR,
    summary="The image bytes are not an image TensorFlow can decode: TIFF, an unknown format, "
            "damaged data, or a BMP of an unsupported depth.",
    why="The decoder sniffs the bytes and uses decode_jpeg or decode_image; TIFF and unknown "
        "bytes stop training with `Unknown image file format. One of JPEG, JPEG XL, PNG, GIF, "
        "BMP, WebP required.` (older TF: `Unable to decode bytes as JPEG, PNG, GIF, or BMP`), "
        "damaged JPEG/PNG data with `jpeg::Uncompress failed` / `Invalid PNG data`.",
    fix="Re-encode the image as JPEG or PNG (`PIL.Image.open(p).convert('RGB').save(out, "
        "'JPEG')`).",
    example="'image/encoded': open('scan.tif', 'rb').read()",
    defect="tiff_image",
    tf_message="InvalidArgumentError: Unknown image file format. One of JPEG, JPEG XL, PNG, GIF, "
               "BMP, WebP required.",
    fixable=True,
))

FOUR_D = define(Rule(
    id="I002",
    name="image-animated-or-4d",
    severity=Severity.ERROR,
    summary="The image is a GIF or WebP, which TensorFlow decodes as a 4-D stack of frames.",
    why="`decode_image` returns [frames, H, W, 3] for GIF and WebP, even for one frame. The "
        "decoder's shape check passes, and the pipeline fails later, for example "
        "`input must be 4-dimensional[1,1,H,W,3]` while resizing.",
    fix="Convert the image to JPEG or PNG before writing the record.",
    example="'image/encoded': open('photo.webp', 'rb').read()",
    defect="gif_image",
    tf_message="InvalidArgumentError: input must be 4-dimensional[1,1,H,W,3]",
    fixable=True,
))

TRUNCATED = define(Rule(
    id="I003",
    name="image-truncated",
    severity=Severity.ERROR,
    summary="The image bytes end early: a JPEG without its end, a PNG cut inside a chunk, a BMP "
            "shorter than its header says.",
    why="TensorFlow's decoders refuse partial images: `jpeg::Uncompress failed. Invalid JPEG "
        "data or crop window.` / `Invalid PNG data, size N` stops training, often hours in. "
        "Image viewers show such files with a grey bottom, so they go unnoticed.",
    fix="Copy or download the image again and re-create the record; drop it if the original is "
        "lost.",
    example="a 50 KB JPEG written from a download that stopped at 31 KB",
    defect="truncated_jpeg",
    tf_message="InvalidArgumentError: jpeg::Uncompress failed. Invalid JPEG data or crop window.",
))

SIZE_MISMATCH = define(Rule(
    id="I004",
    name="image-size-mismatch",
    severity=Severity.WARNING,
    summary="image/height or image/width differ from the size of the encoded image.",
    why="The decoder takes the real size from the pixels, so boxes are not affected; but a wrong "
        "stored size usually means the creation script normalized boxes against the wrong "
        "size. When the stored size is a proportional resize of the image (the images were "
        "resized after annotation, as with the pets dataset's XML sizes), normalized boxes are "
        "the same either way and it is only information; the finding says which of the two it "
        "is. With numerical masks it is an error: masks are reshaped with the stored size.",
    fix="Write the decoded image's size (`PIL.Image.open(...).size`), and check the boxes were "
        "normalized with it.",
    example="a 640×480 JPEG with image/width=480, image/height=640",
    defect="wrong_stored_size",
    fixable=True,
))

EXIF_ORIENTATION = define(Rule(
    id="I005",
    name="exif-orientation",
    severity=Severity.WARNING,
    summary="The JPEG has an EXIF orientation other than 1 (it is shown rotated or mirrored).",
    why="TensorFlow ignores EXIF orientation and decodes the stored pixels; viewers and most "
        "labelling tools apply it. Boxes drawn on the rotated view are then wrong for the image "
        "the model sees, with width and height swapped (#1754). Very hard to notice.",
    fix="Apply the rotation to the pixels before writing (`PIL.ImageOps.exif_transpose`) and "
        "make sure the boxes were drawn on that upright image.",
    example="a phone photo with EXIF Orientation=6 (rotate 90° CW)",
    defect="exif_rotated",
    fixable=True,
))

FORMAT_MISMATCH = define(Rule(
    id="I006",
    name="image-format-mismatch",
    severity=Severity.INFO,
    summary="image/format names another format than the bytes are (for example 'jpeg' for PNG "
            "bytes).",
    why="Harmless to the OD API, which sniffs the bytes and ignores image/format (except "
        "'raw'); but other readers trust the field, and it points to a script that re-encodes "
        "nothing (the OD API's own writers hard-code 'jpeg').",
    fix="Write the format the bytes have: `image_format(bytes)`.",
    example="'image/format': b'jpeg', 'image/encoded': <PNG bytes>",
    defect="png_declared_jpeg",
    fixable=True,
))

RAW_FORMAT = define(Rule(
    id="I007",
    name="raw-image-format",
    severity=Severity.ERROR,
    summary="image/format is 'raw': the decoder reads the bytes as a flat array, not an image.",
    why="For 'raw'/'RAW' the decoder uses `decode_raw` instead of an image decoder: a flat 1-D "
        "array of bytes that has no height, width or channels, so the [H, W, 3] image the "
        "pipeline expects never exists.",
    fix="Encode the pixels as JPEG or PNG and set image/format accordingly.",
    example="'image/format': b'raw', 'image/encoded': pixels.tobytes()",
    defect="raw_format",
    fixable=True,
))
