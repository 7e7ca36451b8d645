"""Do two versions of tfod-doctor give the same reports? For speed work: save, change, compare.

    python benchmarks/report_parity.py save              # on the version you start from
    python benchmarks/report_parity.py compare           # after your change: every report equal?
    python benchmarks/report_parity.py compare --quick   # the planted-defect datasets only

It runs ``check`` with and without ``--deep``, with 1 and 2 workers, on one small dataset per
planted defect of the dataset factory (plus a clean and a varied one), and ``scan`` on the
benchmark's ``tiny`` and ``large`` sets when they are built (``bench_check.py`` builds them). The
reports are compared as sorted JSON, with the dataset's folder written as ``ROOT``. Datasets and
the saved reports live in ``--cache`` (default ``benchmarks/.cache/parity``).
"""

from __future__ import annotations

import argparse
import difflib
import glob
import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from tfod_doctor import api  # noqa: E402
from tfod_doctor.testing.dataset import defect_names, make_dataset  # noqa: E402

BENCH_SETS = ("tiny", "large")


def _plain(report: Any, root: str | None = None) -> Any:
    """The report as sorted-JSON data, with ``root`` written as ``ROOT``."""
    text = json.dumps(report.to_dict(), sort_keys=True, default=str)
    if root:
        text = text.replace(json.dumps(root)[1:-1], "ROOT")
    return json.loads(text)


def _dataset(cache: Path, name: str, seed: int) -> Path:
    root = cache / "data" / name
    if not root.exists():
        if name == "varied":
            make_dataset(root, varied=True, n_train=40, negative_rate=0.2, seed=seed)
        else:
            make_dataset(root, [] if name == "clean" else [name], seed=seed)
    return root


def _checks(root: Path) -> dict[str, Any]:
    """Every check of one dataset (run from its folder, as training resolves paths)."""
    reports: dict[str, Any] = {}
    here = os.getcwd()
    os.chdir(root)
    try:
        for deep in (False, True):
            for workers in (1, 2):
                label = f"{root.name}/deep={deep}/workers={workers}"
                try:
                    report = api.check(root / "pipeline.config", deep=deep, workers=workers)
                    reports[label] = _plain(report, str(root))
                except Exception as exc:  # a difference worth seeing, not a crash of this tool
                    reports[label] = f"{type(exc).__name__}: {exc}"
    finally:
        os.chdir(here)
    return reports


def reports(cache: Path, quick: bool) -> dict[str, Any]:
    """Every report this tool compares, by label."""
    found: dict[str, Any] = {}
    for seed, name in enumerate([*defect_names(), "clean", "varied"]):
        found.update(_checks(_dataset(cache, name, seed)))
    if not quick:
        for name in BENCH_SETS:
            files = sorted(glob.glob(str(HERE / ".cache" / name / "*-of-*")))
            if files:
                found[f"bench-{name}"] = _plain(api.scan(files, workers=2))
    return found


def _show_difference(label: str, before: Any, after: Any) -> None:
    lines = [json.dumps(side, sort_keys=True, indent=1).splitlines() for side in (before, after)]
    print(f"differs: {label}")
    print("\n".join(list(difflib.unified_diff(*lines, "saved", "now", lineterm=""))[:40]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("save", "compare"))
    parser.add_argument("--cache", type=Path, default=HERE / ".cache" / "parity")
    parser.add_argument("--quick", action="store_true", help="leave the benchmark sets out")
    args = parser.parse_args()
    saved = args.cache / "reports.json"
    now = reports(args.cache, args.quick)
    if args.mode == "save":
        saved.write_text(json.dumps(now, sort_keys=True))
        print(f"{len(now)} reports saved to {saved}")
        return 0
    if not saved.exists():
        print(f"nothing saved yet: run `{Path(__file__).name} save` first", file=sys.stderr)
        return 2
    before = json.loads(saved.read_text())
    labels = [label for label in before if label in now]
    differ = [label for label in labels if before[label] != now[label]]
    for label in differ[:10]:
        _show_difference(label, before[label], now[label])
    print(f"{len(labels) - len(differ)}/{len(labels)} reports identical")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
