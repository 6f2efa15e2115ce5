"""Run a command; write its exit code, wall time, CPU and peak RSS as JSON to REPORT.

    python -S benchmarks/launch.py REPORT TIMEOUT COMMAND [ARG ...]

Linux carries a process's peak RSS across exec, so a child forked straight from the
benchmark (which holds the simulator's logs) would report the benchmark's peak as its own.
Started as a fresh small process, this launcher gives the command a clean account. The
command inherits stdin, stdout and stderr; it is killed after TIMEOUT seconds.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time


def main(argv: list[str]) -> int:
    report, timeout, command = argv[0], float(argv[1]), argv[2:]
    start = time.perf_counter()
    pid = os.posix_spawn(command[0], command, os.environ)
    timer = threading.Timer(timeout, os.kill, (pid, signal.SIGKILL))
    timer.start()
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    timer.cancel()
    code = os.waitstatus_to_exitcode(status)
    result = {
        "code": code,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
    }
    with open(report, "w") as out:
        json.dump(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
