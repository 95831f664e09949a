"""What importing a DAG file costs beyond importing Airflow's Task SDK (docs/architecture.md §9).

Each measurement is a fresh interpreter; the minimum of ``--repeat`` runs is reported (the least
disturbed one). Run on a quiet machine:

    .venv/bin/python bench/bench_dag_import.py --repeat 7
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def seconds(statement: str, repeat: int) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout)
            for _ in range(repeat)]  # fmt: skip
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = seconds("import airflow.sdk", args.repeat)
    print(f"{'import':<28} {'seconds':>8} {'beyond airflow.sdk':>19}")
    print(f"{'airflow.sdk':<28} {base:>8.2f}")
    for dag_file in sorted((REPO / "dags").glob("*.py")):
        total = seconds(f"import airflow.sdk, runpy; runpy.run_path('dags/{dag_file.name}')", args.repeat)
        print(f"{dag_file.name:<28} {total:>8.2f} {total - base:>+19.2f}")


if __name__ == "__main__":
    main()
