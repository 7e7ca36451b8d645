"""R: the record files themselves: framing, CRCs, compression, and finding the files."""

from tfod_doctor.catalogue import Rule, define
from tfod_doctor.findings import Severity

NOT_A_TFRECORD = define(Rule(
    id="R001",
    name="not-a-tfrecord",
    severity=Severity.ERROR,
    summary="The file is not a TFRecord file at all (it is a JPEG, PNG, CSV, JSON, ...).",
    why="TensorFlow stops at the first byte: `corrupted record at 0 (Is this even a TFRecord "
        "file?)`. A glob such as `data/*` often picks up images, CSVs or a label map by mistake.",
    fix="Point input_path at the record files only (for example `data/train-*.tfrecord`), or "
        "create the records with `tfod-doctor convert`.",
    example="input_path: \"data/*\"   # matches data/labels.csv as well as data/train.tfrecord",
    defect="not_tfrecord_file",
    tf_message="DataLossError: corrupted record at 0 (Is this even a TFRecord file?)",
))

COMPRESSED = define(Rule(
    id="R002",
    name="compressed-tfrecord",
    severity=Severity.ERROR,
    summary="The TFRecord file is GZIP- or ZLIB-compressed; the OD API reads uncompressed files "
            "only.",
    why="The OD API's input reader has no compression option, so TensorFlow reads the compressed "
        "bytes as framing and stops: `corrupted record at 0`.",
    fix="Write an uncompressed copy: `tfod-doctor fix FILE --out DIR --apply` (decompresses), or "
        "write records with `tf.io.TFRecordWriter(path)` without `options`.",
    example="tf.io.TFRecordWriter('train.tfrecord', options='GZIP')",
    defect="gzip_file",
    tf_message="DataLossError: corrupted record at 0 (Is this even a TFRecord file?)",
    fixable=True,
))

CORRUPTED_LENGTH = define(Rule(
    id="R003",
    name="corrupted-length",
    severity=Severity.ERROR,
    summary="A record's length header fails its CRC: the framing is damaged here.",
    why="TensorFlow raises `DataLossError: corrupted record at N` and training stops; every record "
        "after this point is unreachable to it, even the intact ones.",
    fix="Salvage the intact records into a new file: `tfod-doctor fix FILE --out DIR --apply`. "
        "Better, re-create the file from its source: partial copies and bit-rot cause this.",
    example="A byte flipped inside the 8-byte length field of record 41.",
    defect="bad_length_crc",
    tf_message="DataLossError: corrupted record at N",
    fixable=True,
))

CORRUPTED_PAYLOAD = define(Rule(
    id="R004",
    name="corrupted-payload",
    severity=Severity.ERROR,
    summary="A record's data fails its CRC: its bytes were changed after it was written.",
    why="TensorFlow raises `DataLossError: corrupted record at N` (N is the record's start + 12) "
        "and "
        "training stops; the rest of the file is never read.",
    fix="Salvage the intact records: `tfod-doctor fix FILE --out DIR --apply`; re-create the file "
        "from its source if you can.",
    example="A byte flipped inside the serialized tf.train.Example of record 7.",
    defect="bad_payload_crc",
    tf_message="DataLossError: corrupted record at N",
    fixable=True,
))

TRUNCATED = define(Rule(
    id="R005",
    name="truncated-record",
    severity=Severity.ERROR,
    summary="The file ends in the middle of a record: it was cut short (incomplete copy or "
            "download, or a writer that was never closed).",
    why="TensorFlow raises `DataLossError: truncated record at N` when it reaches the end, after "
        "training has already run on the records before it. A header that announces an "
        "impossible length is worse: TensorFlow reserves that much memory first and can crash "
        "(gigabytes), or says `Can't read a negative number of bytes` (2**63 and more).",
    fix="Copy or download the file again, or close the TFRecordWriter (use `with`). To keep the "
        "complete records: `tfod-doctor fix FILE --out DIR --apply`.",
    example="A 1 GB file copied to a full disk: the last record has its header but only half "
            "its data.",
    defect="truncated_payload",
    tf_message="DataLossError: truncated record at N",
    fixable=True,
))

CUT_IN_HEADER = define(Rule(
    id="R006",
    name="cut-in-header",
    severity=Severity.DATA_LOSS,
    summary="The file ends with 1-11 stray bytes: a record was cut inside its 12-byte header.",
    why="TensorFlow treats a partial header as the end of the file and says nothing, so the record "
        "that started there (and anything after it in the original) is silently missing.",
    fix="Re-create or re-copy the file from its source; the intact records are all readable.",
    example="A file cut 5 bytes into the header of its last record.",
    defect="cut_in_header",
    fixable=True,
    tf_message=None,
))

EMPTY_FILE = define(Rule(
    id="R007",
    name="empty-file",
    severity=Severity.WARNING,
    summary="The record file holds no records (0 bytes); one finding per shard set.",
    why="An empty file is valid TFRecord, so TensorFlow reads nothing from it without a word. If "
        "all files of an input reader are empty, training waits forever (R025). Empty shards of "
        "a set whose other shards hold the records are information: a writer that deals few "
        "records out over many shards (the OD API's COCO tool writes 100) leaves the rest empty.",
    fix="Check the script that wrote it (a writer that was never flushed or closed writes "
        "nothing).",
    example="train.tfrecord, 0 bytes.",
    defect="empty_file",
))

NOT_AN_EXAMPLE = define(Rule(
    id="R008",
    name="not-an-example",
    severity=Severity.ERROR,
    summary="A record's CRCs verify but its data is not a serialized tf.train.Example.",
    why="The OD API parses every record with `parse_single_example`, which stops training with "
        "`Could not parse example input`. Often a tf.train.SequenceExample, or raw bytes written "
        "with `writer.write(image_bytes)`.",
    fix="Write `example.SerializeToString()` of a tf.train.Example, or create the records with "
        "`tfod-doctor convert`.",
    example="writer.write(open('img.jpg', 'rb').read())",
    defect="not_an_example",
    tf_message="InvalidArgumentError: Could not parse example input, value: '...'",
))

INPUT_NOT_FOUND = define(Rule(
    id="R020",
    name="input-not-found",
    severity=Severity.ERROR,
    summary="A path given as input does not exist.",
    why="Nothing can be read from it; with a pipeline.config TensorFlow fails with `Did not find "
        "any input files matching the glob pattern`.",
    fix="Check the path and the working directory it is relative to.",
    example="tfod-doctor scan data/trian.tfrecord",
    defect="missing_input",
    tf_message="RuntimeError: Did not find any input files matching the glob pattern [...]",
))

GLOB_MATCHES_NOTHING = define(Rule(
    id="R021",
    name="glob-matches-nothing",
    severity=Severity.ERROR,
    summary="A glob pattern matches no file.",
    why="TensorFlow drops a pattern that matches nothing without a word as long as another "
        "pattern matches; when none does it fails with `Did not find any input files`.",
    fix="Check the pattern: shard patterns such as `train.record-?????-of-00010` match nothing "
        "when the data was written as one file.",
    example="input_path: \"data/train.record-?????-of-00010\"",
    defect="glob_matches_nothing",
    tf_message="RuntimeError: Did not find any input files matching the glob pattern [...]",
))

NO_RECORD_FILES = define(Rule(
    id="R022",
    name="no-record-files",
    severity=Severity.ERROR,
    summary="A directory given as input holds no TFRecord files.",
    why="There is nothing to train on there.",
    fix="Name the record files, or the directory that holds them.",
    example="tfod-doctor scan images/",
    defect="directory_without_records",
))

UNREADABLE = define(Rule(
    id="R023",
    name="unreadable-input",
    severity=Severity.ERROR,
    summary="A file exists but cannot be read (permissions, I/O error, a directory where a file "
            "was expected, a remote store that refused access), or it changed while it was "
            "read.",
    why="TensorFlow fails on it with PermissionDenied or an I/O error; a file another program "
        "is still writing is not what training will read.",
    fix="Fix the permissions or the storage; the message says what the system answered. A file "
        "that changed during the run: check again once nothing writes to it.",
    example="chmod 000 train.tfrecord",
    defect="unreadable_file",
))

MISSING_SHARDS = define(Rule(
    id="R024",
    name="missing-shards",
    severity=Severity.DATA_LOSS,
    summary="A sharded set (NAME-0000k-of-0000N) is missing some of its shards.",
    why="A glob over the shards silently reads only those that exist: part of the dataset is gone "
        "and training does not notice. A shard counts as missing only when its file does not "
        "exist: a pattern that names some shards on purpose (shard 0 for eval) is fine.",
    fix="Copy the missing shards, or re-create the set.",
    example="train-00000-of-00004.tfrecord .. train-00003-of-00004.tfrecord with 00002 missing",
    defect="missing_shard",
))

READER_WITHOUT_RECORDS = define(Rule(
    id="R025",
    name="reader-without-records",
    severity=Severity.ERROR,
    summary="An input reader's record files exist but hold not one record (every file is empty).",
    why="The OD API repeats the list of files forever and reads records from them: with files "
        "that hold nothing, the train input never yields a batch and training waits on its first "
        "step without a word; the eval input ends at once and evaluation has nothing to measure. "
        "The OD API's KITTI tool does this to a small dataset: its default validation_set_size "
        "of 500 puts every image into the val file and leaves the train file empty.",
    fix="Write the records again so that this split gets some (for the KITTI tool, a "
        "--validation_set_size below the number of images), or point input_path at the files "
        "that hold them.",
    example="train_input_reader { tf_record_input_reader { input_path: 'kitti_train.tfrecord' } }"
            "   # 0 bytes",
    defect="reader_without_records",
))
