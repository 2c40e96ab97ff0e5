#!/usr/bin/env python3
"""Where a profiled tidings run spends its CPU time, by thread and by stage.

    perf record -F 999 -g -o run.perf tidings poll --config ...   (a build with
        frame pointers and line tables: see docs/performance.md)
    perf script -i run.perf | inferno-collapse-perf > run.folded
    python3 bench/stages.py run.folded

Each sample is put in the stage of the innermost frame that names one (the
leaf side first), so that SQLite's own functions count for the statement
that called them, and the search index (FTS5) apart from the rest of the
write."""
import collections
import sys

# (stage, substrings of a frame), tried from the leaf up; the first frame that
# matches any decides.
STAGES = [
    ("search index (FTS5)", ["fts5", "Fts5"]),
    ("checkpoint", ["sqlite3WalCheckpoint", "walCheckpoint"]),
    ("fingerprint", ["tidings::cluster::fingerprint", "tidings::cluster::text"]),
    ("stories (window, matching)", ["tidings::cluster::"]),
    ("sanitize", ["ammonia", "tidings::article::sanitize"]),
    ("plain text", ["tidings::text::"]),
    ("normalize, dedup", ["tidings::article::"]),
    ("decode (charset)", ["tidings::read::charset", "encoding_rs", "chardetng"]),
    ("parse", ["feed_rs", "quick_xml", "tidings::read::"]),
    ("write (SQLite)", ["sqlite3", "rusqlite", "tidings::store::"]),
    ("fetch (HTTP, gzip)", ["reqwest", "hyper", "h2::", "flate2", "miniz", "zlib", "inflate", "tidings::fetch::"]),
    ("schedule, runtime", ["tokio::", "tidings::run::"]),
    ("allocator", ["je_", "jemalloc", "malloc", "free"]),
]


def stage_of(frames):
    for frame in reversed(frames):
        for stage, needles in STAGES:
            if any(needle in frame for needle in needles):
                return stage
    return "other"


def main(path):
    by_thread = collections.Counter()
    by_stage = collections.Counter()
    cells = collections.Counter()
    total = 0
    for line in open(path):
        stack, _, count = line.rstrip().rpartition(" ")
        count = int(count)
        frames = stack.split(";")
        thread = frames[0].rstrip()
        thread = "tidings-writer" if thread.startswith("tidings-writer") else thread
        stage = stage_of(frames[1:])
        by_thread[thread] += count
        by_stage[stage] += count
        cells[(stage, thread)] += count
        total += count
    threads = [t for t, _ in by_thread.most_common()]
    print("| stage | " + " | ".join(threads) + " | all |")
    print("|---" * (len(threads) + 2) + "|")
    for stage, count in by_stage.most_common():
        row = [f"{100 * cells[(stage, t)] / total:.1f}%" for t in threads]
        print(f"| {stage} | " + " | ".join(row) + f" | {100 * count / total:.1f}% |")
    print("| all | " + " | ".join(f"{100 * by_thread[t] / total:.1f}%" for t in threads) + " | 100% |")
    print(f"\n{total / 1e9:.2f} s of CPU time")


if __name__ == "__main__":
    main(sys.argv[1])
