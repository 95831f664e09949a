"""Benchmark the synthetic payroll generator (`oks demo-data`): wall time and peak memory.

Each configuration runs in a fresh Python process, so its peak RSS (``ru_maxrss``) is its own and
not the largest of the runs before it. Memory should stay flat from 100,000 to 1,000,000
employees: the generator holds one chunk of rows, not the payroll.

    .venv/bin/python bench/bench_generate.py                       # 100k and 1M, sqlite and csv
    .venv/bin/python bench/bench_generate.py --sizes 20000 --formats xlsx
    .venv/bin/python bench/bench_generate.py --tracemalloc         # Python heap peak too (slower)

Employers are one per 1,000 employees (1M employees in 1,000 employers, ~1,700 contracts: the
scale docs/architecture.md §9 aims at).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run_one(args: argparse.Namespace) -> None:
    """Child process: generate once, print one JSON line of measurements."""
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    from oks.payroll.synthetic import generate

    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    manifest = generate(
        args.out,
        employers=max(1, args.employees // 1000),
        employees=args.employees,
        period="2026-10",
        seed=1,
        fmt=args.format,
        chunk_size=args.chunk_size,
    )
    wall = time.perf_counter() - started
    result = {
        "employees": args.employees,
        "format": args.format,
        "rows": manifest.rows,
        "contracts": manifest.contract_count,
        "wall_s": round(wall, 2),
        "rows_per_s": round(manifest.rows / wall),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),  # Linux: KiB
        "rss_after_imports_mib": round(baseline_kib / 1024, 1),
        "payroll_mib": round(manifest.payroll.stat().st_size / 2**20, 1),
    }
    if args.tracemalloc:
        import tracemalloc

        result["python_heap_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="employee counts")
    parser.add_argument("--formats", nargs="+", default=["sqlite", "csv"], choices=["sqlite", "csv", "xlsx"])
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--tracemalloc", action="store_true", help="also report the Python heap peak (slows the run)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--employees", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _run_one(args)
        return

    print(f"{'employees':>10} {'format':<7} {'rows':>10} {'wall s':>8} {'rows/s':>8} {'peak RSS MiB':>13} {'file MiB':>9}")
    for employees in args.sizes:
        for fmt in args.formats:
            with tempfile.TemporaryDirectory(prefix="oks-bench-") as out:
                command = [sys.executable, __file__, "--child", "--employees", str(employees), "--format", fmt,
                           "--out", out, "--chunk-size", str(args.chunk_size)]  # fmt: skip
                if args.tracemalloc:
                    command.append("--tracemalloc")
                line = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            r = json.loads(line)
            extra = f"  (heap peak {r['python_heap_peak_mib']} MiB)" if "python_heap_peak_mib" in r else ""
            print(
                f"{r['employees']:>10,} {r['format']:<7} {r['rows']:>10,} {r['wall_s']:>8} {r['rows_per_s']:>8,} "
                f"{r['peak_rss_mib']:>13} {r['payroll_mib']:>9}{extra}",
                flush=True,
            )


if __name__ == "__main__":
    main()
