#!/usr/bin/env python3
"""Where each thread of a command spends its life: running, waiting for a
core (runnable, on the run queue), or asleep (waiting for work, a lock, the
disk).

    python3 bench/threads.py -- tidings poll --config config.toml

A profile (`perf`, bench/stages.py) says what the CPU time is spent on; this
says whether a stage that bounds the run (the writer, in a cold poll) is held
back by the others taking the cores. It samples
/proc/PID/task/TID/schedstat every 10 ms while the command runs (Linux with
schedstats, as Debian's kernels are) and keeps each thread's last sample, so
a thread's last few milliseconds before it ends can be missed; the sampling
itself takes a few percent of one core. Threads are summed by name (tokio's
workers and its blocking pool share one)."""
import collections
import os
import subprocess
import sys
import time

INTERVAL = 0.01


def main():
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit(__doc__)
    start = time.monotonic()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    # tid -> (name, run s, runnable s, first seen, last seen)
    threads = {}
    while child.poll() is None:
        now = time.monotonic() - start
        sample(child.pid, now, threads)
        time.sleep(INTERVAL)
    wall = time.monotonic() - start
    report(wall, threads, child.returncode)


def sample(pid, now, threads):
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run, waited, _ = (int(x) for x in f.read().split())
        except (OSError, ValueError):
            continue
        first = threads[tid][3] if tid in threads else now
        threads[tid] = (name, run / 1e9, waited / 1e9, first, now)


def report(wall, threads, code):
    by_name = collections.defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    for name, run, waited, first, last in threads.values():
        total = by_name[name]
        total[0] += 1
        total[1] += run
        total[2] += waited
        total[3] += max(last - first, run + waited)
    print(f"wall {wall:.2f} s, exit {code}")
    print(f"{'thread':<18} {'count':>5} {'running':>8} {'waiting':>8} {'asleep':>8}  (seconds)")
    for name, (count, run, waited, life) in sorted(by_name.items(), key=lambda x: -x[1][1]):
        asleep = max(life - run - waited, 0.0)
        print(f"{name:<18} {count:>5} {run:>8.2f} {waited:>8.2f} {asleep:>8.2f}")
    run = sum(t[1] for t in by_name.values())
    print(f"CPU {run:.2f} s: {run / wall:.2f} cores busy on average")


if __name__ == "__main__":
    main()
