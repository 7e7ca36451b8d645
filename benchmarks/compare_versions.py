"""Is ``check`` as fast as in an earlier version? Runs both, alternating, on the same data.

    python benchmarks/compare_versions.py --base 37b03da     # large and tiny, 1 and 2 workers
    python benchmarks/compare_versions.py --base v0.4.0 --rounds 20 --datasets large --workers 2

The earlier version's ``src`` is taken out of git (``git archive``) into a temporary folder. Each
round runs ``check_plan`` + ``execute`` (what ``tfod-doctor check`` runs, without the interpreter's
start-up) in a fresh process per version, once to warm up and three times measured, the two
versions in turns (which one goes first alternates). It prints, per dataset and number of workers,
the median and best wall time of each version, the CPU time of the parent process and of the
workers, and the ratios: on a shared machine single runs vary by 20%, medians of many runs much
less. The datasets are the speed benchmark's (``bench_check.py``), built once in ``--cache``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_data as datasets  # noqa: E402

_CHILD = """
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
os.chdir(sys.argv[2])
from tfod_doctor import api
from tfod_doctor.engine import execute
workers = int(sys.argv[3])

def cpu():
    own, workers_ = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime, workers_.ru_utime + workers_.ru_stime

def once():
    plan, ctx = api.check_plan("pipeline.config")
    return execute(plan, ctx, workers=workers)

once()
runs = []
for _ in range(3):
    before, start = cpu(), time.perf_counter()
    once()
    wall, after = time.perf_counter() - start, cpu()
    runs.append([wall, after[0] - before[0], after[1] - before[1]])
print(json.dumps(runs))
"""


def export_source(rev: str, into: Path) -> Path:
    """The ``src`` folder of ``rev``, written under ``into``."""
    archive = subprocess.run(["git", "archive", "--format=tar", rev, "src"], cwd=HERE.parent,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def measure(source: Path, data: Path, workers: int) -> list[list[float]]:
    """Three measured runs of one fresh process: ``[wall, parent CPU, workers' CPU]`` each."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(source), str(data), str(workers)],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{source}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def compare(sources: dict[str, Path], data: Path, workers: int, rounds: int
            ) -> dict[str, list[list[float]]]:
    runs: dict[str, list[list[float]]] = {name: [] for name in sources}
    for round_ in range(rounds):
        order = list(sources.items())
        for name, source in order if round_ % 2 == 0 else reversed(order):
            runs[name] += measure(source, data, workers)
    return runs


def report(title: str, runs: dict[str, list[list[float]]]) -> None:
    def median(name: str, column: int) -> float:
        return statistics.median(run[column] for run in runs[name])

    print(f"\n{title}")
    for name in runs:
        best = min(run[0] for run in runs[name])
        print(f"  {name:8} wall median {median(name, 0):.3f} s, best {best:.3f} s | CPU: parent "
              f"{median(name, 1):.3f} s, workers {median(name, 2):.3f} s")
    base, new = runs
    print(f"  {new} / {base}: wall median {median(new, 0) / median(base, 0):.3f}, "
          f"CPU {(median(new, 1) + median(new, 2)) / (median(base, 1) + median(base, 2)):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the earlier version: a git revision")
    parser.add_argument("--cache", type=Path, default=HERE / ".cache")
    parser.add_argument("--datasets", nargs="+", choices=("large", "tiny"),
                        default=["large", "tiny"])
    parser.add_argument("--workers", nargs="+", type=int, default=[2, 1])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sources = {args.base: export_source(args.base, Path(tmp)),
                   "this": HERE.parent / "src"}
        for name in args.datasets:
            data = getattr(datasets, name)(args.cache)
            for workers in args.workers:
                runs = compare(sources, data.root, workers, args.rounds)
                report(f"{name}: {data.records:,} records, {data.bytes / 1e6:,.0f} MB, "
                       f"{workers} worker{'s' if workers > 1 else ''}", runs)


if __name__ == "__main__":
    main()
