"""The DES simulator as its own process for the benchmarks, as DES is to the product: its CPU is
not the pipeline's, and on two cores the two run side by side instead of sharing one interpreter."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


class Running:
    """The simulator process: its URL, and its CPU time and peak memory read from /proc."""

    def __init__(self, process: subprocess.Popen, url: str) -> None:
        self.process, self.url = process, url

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0


@contextlib.contextmanager
def simulator_process(workdir: Path, *extra: str) -> Iterator[Running]:
    """``oks simulator`` on a free loopback port with insurer and transfer delays 0, until the block
    ends. ``extra`` are more command-line options (``--identity-register FILE``, ...)."""
    ready, log = workdir / "simulator.url", workdir / "simulator.log"
    oks = Path(sys.executable).parent / "oks"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(oks), "simulator", "--db", str(workdir / "des.sqlite"), "--port", "0", "--ready-file", str(ready),
             "--insurer-delay", "0", "--transfer-delay", "0", *extra],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        for _ in range(6000):  # a large identity register takes a while to load
            if ready.exists() or process.poll() is not None:
                break
            time.sleep(0.01)
        if not ready.exists():
            raise SystemExit(f"the simulator did not start: {log.read_text()}")
        yield Running(process, ready.read_text())
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

