"""How fast is tfod-doctor next to TensorFlow's own read + parse, and how much memory does it use?

    python benchmarks/bench_check.py                      # build the datasets once, measure
    python benchmarks/bench_check.py --grow-gb 20         # also a 20 GB dataset (hard links)
    python benchmarks/bench_check.py --quick --skip-tf    # a fast look while optimising
    python benchmarks/bench_check.py --large-records 600 --tiny-records 5000 --grow-gb 0
                                                          # smaller datasets, every measurement

Datasets (``bench_data.py``, written once into ``--cache``): ``large`` — 3,000 640×480 JPEG records
with 1–20 boxes (~270 MB, 8 shards, and the same records as one file); ``tiny`` — 20,000 32×32
records (4 shards); ``grown`` — the large shards repeated with hard links up to ``--grow-gb``.
``--large-records`` and ``--tiny-records`` make smaller (or larger) ones; on small ones the
worker pool's start-up weighs on the multi-worker rows (below 8 MB, ``check`` runs in one process).

Every measurement runs in a fresh process (so peak memory is its own), reads from the page cache
(each is run ``--repeat`` times; the best time counts) and prints MB/s and records/s:

- ``read``: the files read in 8 MB chunks — the ceiling;
- ``no rules``: what ``check`` does before any rule, on as many processes (one file each): the
  framing and both CRCs, the protobuf parse, and taking out the lists the OD API's decoder reads.
  No check can be faster than this row; its ratio to TensorFlow bounds every ratio of ``check``;
- ``tf single``: ``TFRecordDataset`` → ``map(parse_single_example, OD API spec)`` → ``batch`` →
  ``prefetch``, in-graph, iterated to the end; ``tf batched``: ``batch`` → ``map(parse_example)``
  (TensorFlow's fastest parse); the better of the two is "TensorFlow's best";
- ``scan``, ``check`` and ``check --deep`` through the engine (every registered rule), with
  ``--workers`` processes, and ``check`` with 1 worker and on the one-file copy (byte-range pieces);
- the JPEG decoders' own rates on the same images: simplejpeg and Pillow on as many processes,
  and TensorFlow's ``decode_jpeg`` in-graph (``map(..., num_parallel_calls=AUTOTUNE)`` over the
  records; its read + parse of ``image/encoded`` is included, a small part of the time);
- the ``tfod-doctor`` command line once (interpreter start-up included).

Peak memory: the most the process tree held at once, sampled from /proc (PSS: shared pages
counted once), and the largest single process (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import bench_data as datasets  # noqa: E402

# -- what one measurement does (in its own process) ----------------------------------------------


def _best(run, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def _files(spec: dict) -> list[str]:
    return spec["files"]


def measure_read(spec: dict) -> dict:
    def run():
        for name in _files(spec):
            with open(name, "rb", buffering=0) as handle:
                while handle.read(8 << 20):
                    pass
        return spec["records"]

    seconds, _ = _best(run, spec["repeat"])
    return {"seconds": seconds, "records": spec["records"]}


def measure_tf(spec: dict) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    from tfod_doctor.testing.tf_oracle import od_feature_spec

    features = od_feature_spec()
    files = _files(spec)

    def dataset():
        data = tf.data.TFRecordDataset(files, buffer_size=8 << 20,
                                       num_parallel_reads=min(len(files), tf.data.AUTOTUNE))
        if spec["variant"] == "single":
            data = data.map(lambda r: tf.io.parse_single_example(r, features),
                            num_parallel_calls=tf.data.AUTOTUNE).batch(64)
        else:
            data = data.batch(256).map(lambda r: tf.io.parse_example(r, features),
                                      num_parallel_calls=tf.data.AUTOTUNE)
        return data.prefetch(tf.data.AUTOTUNE)

    def run():
        count = 0
        for batch in dataset():
            count += int(batch["image/height"].shape[0])
        return count

    seconds, records = _best(run, spec["repeat"])
    return {"seconds": seconds, "records": records}


def measure_tf_decode(spec: dict) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    image = {"image/encoded": tf.io.FixedLenFeature([], tf.string)}

    def decode(record):
        encoded = tf.io.parse_single_example(record, image)["image/encoded"]
        return tf.shape(tf.io.decode_jpeg(encoded, channels=3))[0]

    def run():
        data = tf.data.TFRecordDataset(_files(spec), buffer_size=8 << 20)
        data = data.map(decode, num_parallel_calls=tf.data.AUTOTUNE).batch(64)
        return sum(int(batch.shape[0]) for batch in data.prefetch(tf.data.AUTOTUNE))

    seconds, records = _best(run, spec["repeat"])
    return {"seconds": seconds, "records": records}


def _check_run(spec: dict):
    from tfod_doctor import api
    from tfod_doctor.checks.context import LabelTable
    from tfod_doctor.engine import execute, scan_plan

    files, workers, deep = _files(spec), spec["workers"], spec.get("deep", False)
    if spec["what"] == "scan":
        return lambda: execute(scan_plan(files), api.context(deep=deep), workers=workers)
    check_plan = getattr(api, "check_plan", None)
    if check_plan is not None and spec.get("config"):
        def run():
            plan, ctx = check_plan(spec["config"], deep=deep)
            return execute(plan, ctx, workers=workers)
        return run
    # Before `check` reads configs: the context it would build from this dataset's config.
    names = {name: i + 1 for i, name in enumerate(datasets.CLASSES)}
    labels = LabelTable(names=names, display_names={}, ids={i: n for n, i in names.items()})
    ctx = api.context(label_map=labels, num_classes=len(names), deep=deep)
    return lambda: execute(scan_plan(files), ctx, workers=workers)


def measure_check(spec: dict) -> dict:
    seconds, report = _best(_check_run(spec), spec["repeat"])
    totals = report.stats["totals"]
    return {"seconds": seconds, "records": totals["records"], "findings": len(report),
            "rules": report.rule_counts}


def _decode_shard(args: tuple[str, str]) -> int:
    """Decode every JPEG of one record file with one decoder; returns how many."""
    import io

    import simplejpeg
    from PIL import Image

    from tfod_doctor.records import FeatureView, Record, RecordReader

    path, decoder = args
    count = 0
    with open(path, "rb") as handle:
        for record in RecordReader(handle, os.path.getsize(path), path):
            if not isinstance(record, Record):
                continue
            image = FeatureView.from_payload(record.payload).first_bytes("image/encoded")
            if decoder == "simplejpeg":
                simplejpeg.decode_jpeg(image)
            else:
                Image.open(io.BytesIO(image)).load()
            count += 1
    return count


def measure_decode(spec: dict) -> dict:
    work = [(path, spec["decoder"]) for path in _files(spec)]
    with multiprocessing.get_context("fork").Pool(spec["workers"]) as pool:
        seconds, counts = _best(lambda: pool.map(_decode_shard, work, chunksize=1),
                                spec["repeat"])
    return {"seconds": seconds, "records": sum(counts)}


def _floor_shard(path: str) -> int:
    """Read one record file as ``check`` does before any rule: framing and both CRCs, the
    protobuf parse, and the lists the OD API's decoder reads (``ODRecord``); returns how many."""
    from tfod_doctor.odapi.record import ODRecord
    from tfod_doctor.records import FeatureView, Record, RecordReader

    count = 0
    with open(path, "rb") as handle:
        for record in RecordReader(handle, os.path.getsize(path), path):
            if isinstance(record, Record):
                ODRecord(FeatureView.from_payload(record.payload))
                count += 1
    return count


def measure_floor(spec: dict) -> dict:
    with multiprocessing.get_context("fork").Pool(spec["workers"]) as pool:
        seconds, counts = _best(lambda: pool.map(_floor_shard, _files(spec), chunksize=1),
                                spec["repeat"])
    return {"seconds": seconds, "records": sum(counts)}


def measure_cli(spec: dict) -> dict:
    exe = shutil.which("tfod-doctor", path=str(Path(sys.executable).parent)) or "tfod-doctor"
    command = [exe, "scan", *spec["files"], "--format", "json", "-o", os.devnull]
    if spec.get("workers"):
        command += ["--workers", str(spec["workers"])]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    seconds, _ = _best(lambda: subprocess.run(command, env=env, capture_output=True), 1)
    return {"seconds": seconds, "records": spec["records"]}


MEASURES = {"read": measure_read, "tf": measure_tf, "scan": measure_check,
            "check": measure_check, "decode": measure_decode, "tf-decode": measure_tf_decode,
            "cli": measure_cli, "floor": measure_floor}


def child_main(spec: dict) -> None:
    import resource

    result = MEASURES[spec["what"]](spec)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["maxrss_mb"] = max(own, kids) / 1024
    print("RESULT " + json.dumps(result))


# -- the driver ----------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (from ``/proc/PID/task/*/children``: no scan of /proc)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
    except OSError:
        pass
    return found


def _tree_pss_mb(root: int) -> float:
    """PSS of a process and all its descendants, in MB (shared pages counted once)."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(_children(pid))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total / 1024


def run_child(spec: dict) -> dict:
    """Run one measurement in a fresh interpreter, sampling the memory of its process tree."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = [0.0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_pss_mb(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    sampler.join()
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{spec['label']} failed:\n{err[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    result["peak_pss_mb"] = peak[0]
    return result


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores, {model}, Python {platform.python_version()}, {platform.system()}"


def _row(label: str, data_bytes: int, result: dict) -> dict:
    seconds = result["seconds"]
    return {"label": label, "MB/s": data_bytes / seconds / 1e6,
            "rec/s": result["records"] / seconds, "seconds": seconds, **result}


def _print_table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(f"  {'':34} {'MB/s':>8} {'records/s':>10} {'seconds':>8} {'peak MB':>8}")
    for row in rows:
        print(f"  {row['label']:34} {row['MB/s']:8.0f} {row['rec/s']:10.0f} "
              f"{row['seconds']:8.2f} {row.get('peak_pss_mb', 0):8.0f}")


def bench_dataset(data: datasets.BenchData, args, workers: int, deep_and_decoders: bool,
                  single: datasets.BenchData | None) -> list[dict]:
    files = [str(f) for f in data.files]
    base = {"files": files, "records": data.records, "repeat": args.repeat}
    config = str(data.config) if data.config.exists() else None
    plan: list[tuple[str, dict]] = [("read (8 MB chunks)", {"what": "read"})]
    if not args.skip_tf:
        plan += [("tf parse_single_example", {"what": "tf", "variant": "single"}),
                 ("tf batch(256) + parse_example", {"what": "tf", "variant": "batched"})]
    plan += [
        (f"no rules: read + parse ({workers} procs)", {"what": "floor", "workers": workers}),
        (f"tfod-doctor scan ({workers} workers)", {"what": "scan", "workers": workers}),
        (f"tfod-doctor check ({workers} workers)",
         {"what": "check", "workers": workers, "config": config}),
        ("tfod-doctor check (1 worker)", {"what": "check", "workers": 1, "config": config}),
    ]
    if deep_and_decoders:
        plan += [
            (f"tfod-doctor check --deep ({workers} w.)",
             {"what": "check", "workers": workers, "deep": True, "config": config}),
            (f"simplejpeg decode ({workers} procs)",
             {"what": "decode", "decoder": "simplejpeg", "workers": workers}),
            (f"Pillow decode ({workers} procs)",
             {"what": "decode", "decoder": "pil", "workers": workers}),
        ]
        if not args.skip_tf:
            plan.append(("tf decode_jpeg (in-graph)", {"what": "tf-decode"}))
    if single is not None:
        one_file = [str(f) for f in single.files]
        plan.append((f"check, one {single.bytes >> 20} MB file ({workers} w.)",
                     {"what": "check", "workers": workers, "files": one_file}))
    if not args.quick:
        plan.append((f"tfod-doctor scan CLI ({workers} workers)",
                     {"what": "cli", "workers": workers}))
    rows = []
    for label, extra in plan:
        spec = {**base, "label": label, **extra}
        print(f"  ... {label}", file=sys.stderr, flush=True)
        rows.append(_row(label, data.bytes, run_child(spec)))
    return rows


def _find(rows: list[dict], prefix: str) -> dict | None:
    return next((r for r in rows if r["label"].startswith(prefix)), None)


def _versus_tf(rows: list[dict], what: str, check: dict) -> dict[str, float]:
    out = {}
    for prefix, name in (("tf parse_single_example", "read + parse_single_example"),
                         ("tf batch(256) + parse_example", "batch + parse_example")):
        tf_row = _find(rows, prefix)
        if tf_row:
            target = " [>= 5]" if "single" in prefix else ""
            out[f"check ÷ TensorFlow {name}, {what}{target}"] = check["MB/s"] / tf_row["MB/s"]
    floor, tf_single = _find(rows, "no rules:"), _find(rows, "tf parse_single_example")
    if floor and tf_single:
        out[f"no rules ÷ TensorFlow read + parse_single_example, {what} (check's ceiling)"] = (
            floor["MB/s"] / tf_single["MB/s"])
    return out


def ratios(large: list[dict], tiny: list[dict] | None) -> dict[str, float]:
    """The numbers the targets are about (target in brackets), all from this one run."""
    out: dict[str, float] = {}
    check = _find(large, "tfod-doctor check (")
    if check:
        out["check, large records: MB/s [>= 1000]"] = check["MB/s"]
        out.update(_versus_tf(large, "large", check))
    tiny_check = _find(tiny or [], "tfod-doctor check (")
    if tiny_check:
        out["check, tiny records: records/s [>= 40000]"] = tiny_check["rec/s"]
        out.update(_versus_tf(tiny or [], "tiny", tiny_check))
    deep = _find(large, "tfod-doctor check --deep")
    decoders = [r for r in large if "decode" in r["label"]]
    if deep and decoders:
        fastest = max(decoders, key=lambda r: r["rec/s"])
        out[f"check --deep ÷ fastest decoder ({fastest['label'].split(' ')[0]}) [>= 0.67]"] = (
            deep["rec/s"] / fastest["rec/s"])
    for name, rows in (("large", large), ("tiny", tiny or [])):
        row = _find(rows, "tfod-doctor check (")
        if row:
            out[f"check peak memory, {name} (MB) [< 300]"] = row["peak_pss_mb"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, default=HERE / ".cache",
                        help="where the datasets are written once (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=None, help="default: one per CPU")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best)")
    parser.add_argument("--grow-gb", type=float, default=20.0,
                        help="size of the grown dataset for the memory check (0: skip)")
    parser.add_argument("--grow-copy", action="store_true",
                        help="grow with real copies instead of hard links (needs the disk)")
    parser.add_argument("--skip-tf", action="store_true", help="leave TensorFlow out")
    parser.add_argument("--large-records", type=int, default=datasets.LARGE_RECORDS,
                        help="records in the large dataset (default: %(default)s)")
    parser.add_argument("--tiny-records", type=int, default=datasets.TINY_RECORDS,
                        help="records in the tiny dataset (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="large dataset only, no CLI, no grown dataset, 1 repeat")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.child:
        child_main(json.loads(args.child))
        return
    if args.quick:
        args.repeat, args.grow_gb = 1, 0
    workers = args.workers or (len(os.sched_getaffinity(0))
                               if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    print(f"machine: {machine()}")
    print(f"building datasets in {args.cache} (once)", file=sys.stderr)
    large = datasets.large(args.cache, args.large_records)
    results: dict[str, list[dict]] = {}
    rows = bench_dataset(large, args, workers, True, datasets.single_file(large))
    results["large"] = rows
    _print_table(f"large: {large.records} records of 640×480 JPEG, {large.bytes / 1e6:.0f} MB, "
                 f"{len(large.files)} files", rows)
    if not args.quick:
        tiny = datasets.tiny(args.cache, args.tiny_records)
        results["tiny"] = bench_dataset(tiny, args, workers, False, None)
        _print_table(f"tiny: {tiny.records} records of 32×32 JPEG, {tiny.bytes / 1e6:.0f} MB",
                     results["tiny"])
    summary = ratios(rows, results.get("tiny"))
    if args.grow_gb > 0:
        grown = datasets.grown(args.cache, large, int(args.grow_gb * 1e9), copy=args.grow_copy)
        spec = {"what": "check", "files": [str(f) for f in grown.files], "workers": workers,
                "records": grown.records, "repeat": 1, "label": "grown"}
        row = _row(f"check ({workers} workers)", grown.bytes, run_child(spec))
        results["grown"] = [row]
        _print_table(f"grown: {grown.records} records, {grown.bytes / 1e9:.1f} GB "
                     f"({'copies' if args.grow_copy else 'hard links'} of the large shards)",
                     [row])
        summary[f"check peak memory at {grown.bytes / 1e9:.0f} GB (MB) [< 300]"] = (
            row["peak_pss_mb"])
    print("\ntargets (ratios compare rows of this run; on a shared machine absolute numbers vary)")
    for name, value in summary.items():
        print(f"  {name:66} {value:10.2f}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results,
                                         "summary": summary}, indent=2, default=str))


if __name__ == "__main__":
    main()
