#!/usr/bin/env python3
"""The tidings benchmark: the workload of `tidings workload`, side by side with
newsboat and the feedparser script, medians of several runs, each result checked
against truth.json.

  python3 bench/run.py [--feeds 1000] [--runs 3] [--scaling 100,1000,5000]
                       [--serve-articles 1000000] [--skip-peers] [--shared]
                       [--out bench/results.md]

--shared writes the workload with ../shared/bench/feedgen.py instead (set
TIDINGS_SHARED if shared/ lives elsewhere), an independent cross-check. The
peers (newsboat and the feedparser script) are run by the scripts of
../shared/bench/peers; without shared/, use --skip-peers.

Needs: a release build (cargo build --release), nginx (apt-get install nginx-light),
newsboat (apt-get install newsboat), feedparser (pip install feedparser) and wrk
(apt-get install wrk) for the serving figures. Everything runs on 127.0.0.1.
"""
import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("TIDINGS_SHARED", os.path.join(ROOT, "..", "shared"))
BENCH = os.path.join(SHARED, "bench")
HERE = os.path.dirname(os.path.abspath(__file__))
USE_SHARED = False
TIDINGS = os.path.join(ROOT, "target", "release", "tidings")
PORT = 8088


def timed(cmd, **kw):
    """Wall time and peak RSS (MB) of one command, via GNU time-like wait4.

    Each command starts with the disk quiet: the workload generator has just
    written tens of megabytes, and the kernel would otherwise flush them while
    the command under test writes and syncs its own files."""
    os.sync()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed: {err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def feedgen(out, feeds, update=False):
    """Writes the workload (or its next update round) and returns its truth."""
    if USE_SHARED:
        cmd = [sys.executable, os.path.join(BENCH, "feedgen.py"), out, "--feeds", str(feeds)]
    else:
        cmd = [TIDINGS, "workload", out, "--feeds", str(feeds), "--base", f"http://127.0.0.1:{PORT}"]
    if update:
        cmd += ["--update", "0.1"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.load(open(os.path.join(out, "truth.json")))


def serve(out):
    subprocess.run(["sh", os.path.join(HERE, "serve.sh"), "start", out, str(PORT)], check=True)


def unserve(out):
    subprocess.run(["sh", os.path.join(HERE, "serve.sh"), "stop", out], check=False)
    time.sleep(0.3)


def tidings_config(work, out):
    config = os.path.join(work, "config.toml")
    with open(config, "w") as fh:
        fh.write('[storage]\ndatabase = "tidings.db"\n\n[poll]\nconcurrency = 16\nper_host = 16\n\n')
        fh.write(open(os.path.join(out, "sources.toml")).read())
    return config


def count(db, sql):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchone()[0]


def check(what, got, truth):
    want = truth["unique_articles"]
    if got != want:
        sys.exit(f"{what}: stored {got} articles, truth.json says {want}")


def run_tidings(work, out, truth):
    config = tidings_config(work, out)
    db = os.path.join(work, "tidings.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    poll = [TIDINGS, "poll", "--config", config]
    cold = timed(poll)
    check("tidings cold", count(db, "SELECT count(*) FROM articles"), truth)
    warm = timed(poll)
    if "0 new, 0 updated" not in warm[2]:
        sys.exit(f"tidings warm poll changed something: {warm[2]}")
    updated_truth = feedgen(out, truth["feeds"], update=True)
    update = timed(poll)
    check("tidings update", count(db, "SELECT count(*) FROM articles"), updated_truth)
    return cold[:2], warm[:2], update[:2]


def run_newsboat(work, out, truth):
    cache = os.path.join(work, "newsboat.db")
    if os.path.exists(cache):
        os.remove(cache)
    cmd = ["sh", os.path.join(BENCH, "peers", "newsboat.sh"), os.path.join(out, "urls.txt"), cache]
    cold = timed(cmd)
    warm = timed(cmd)
    feedgen(out, truth["feeds"], update=True)
    update = timed(cmd)
    return cold[:2], warm[:2], update[:2]


def run_feedparser(work, out, truth):
    db = os.path.join(work, "feedparser.db")
    if os.path.exists(db):
        os.remove(db)
    cmd = [sys.executable, os.path.join(BENCH, "peers", "feedparser_sqlite.py"), os.path.join(out, "urls.txt"), db]
    cold = timed(cmd)
    warm = timed(cmd)
    feedgen(out, truth["feeds"], update=True)
    update = timed(cmd)
    return cold[:2], warm[:2], update[:2]


def medians(runs):
    """runs: list of (cold, warm, update), each (seconds, MB) -> the same shape, medians."""
    return tuple(
        (statistics.median(r[i][0] for r in runs), statistics.median(r[i][1] for r in runs))
        for i in range(3)
    )


def side_by_side(feeds, runs, peers):
    contenders = {"tidings": run_tidings}
    if peers:
        contenders.update({"newsboat": run_newsboat, "feedparser script": run_feedparser})
    results = {name: [] for name in contenders}
    for _ in range(runs):
        for name, run in contenders.items():
            with tempfile.TemporaryDirectory() as work:
                out = os.path.join(work, "workload")
                truth = feedgen(out, feeds)
                serve(out)
                try:
                    results[name].append(run(work, out, truth))
                finally:
                    unserve(out)
    return {name: medians(r) for name, r in results.items()}


def scaling(sizes):
    rows = []
    for feeds in sizes:
        with tempfile.TemporaryDirectory() as work:
            out = os.path.join(work, "workload")
            truth = feedgen(out, feeds)
            serve(out)
            try:
                cold, warm, _ = run_tidings(work, out, truth)
            finally:
                unserve(out)
        rows.append((feeds, cold, warm))
    return rows


def serving(articles):
    """Builds a database of `articles` synthetic articles, then times the feeds."""
    if not shutil.which("wrk"):
        return None
    with tempfile.TemporaryDirectory() as work:
        config = os.path.join(work, "config.toml")
        open(config, "w").write(f'[storage]\ndatabase = "big.db"\n[server]\nlisten = "127.0.0.1:{PORT + 1}"\n')
        subprocess.run([TIDINGS, "sources", "--config", config], check=True, stdout=subprocess.DEVNULL)
        db = os.path.join(work, "big.db")
        with sqlite3.connect(db) as conn:
            conn.executescript(f"""
                INSERT INTO sources (url, name, category, channel) VALUES ('http://127.0.0.1/x.xml', '证券时报网', '金融', '要闻');
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {articles})
                INSERT INTO articles (id, key, title, link, author, published, summary, content_html, content_hash, first_seen, last_seen)
                SELECT i, 'https://bench.example/' || i, '第' || i || '号新闻 证监会表示将进一步深化资本市场改革',
                       'https://bench.example/' || i, '证券时报网',
                       strftime('%Y-%m-%dT%H:%M:%SZ', 1600000000 + i * 60, 'unixepoch'),
                       '沪深两市成交额连续第三个交易日突破万亿元。', '<p>沪深两市成交额连续第三个交易日突破万亿元，北向资金净买入超过五十亿元。</p>',
                       'h' || i, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n;
                INSERT INTO article_sources (article_id, source_id, content_hash, first_seen) SELECT id, 1, content_hash, first_seen FROM articles;
                INSERT INTO article_categories (article_id, category, position, published)
                SELECT a.id, c.category, c.position, a.published FROM articles a
                  JOIN (SELECT '金融' AS category, 0 AS position UNION ALL SELECT '证券时报网', 1
                        UNION ALL SELECT '要闻', 2) c
                UNION ALL SELECT id, '股市', 3, published FROM articles WHERE id % 10 = 0;
            """)
        daemon = subprocess.Popen([TIDINGS, "run", "--config", config], stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{PORT + 1}/feeds/"
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{PORT + 1}/health")
                    break
                except OSError:
                    time.sleep(0.1)
            figures = {}
            for name, path in (("all.atom", "all.atom"), ("股市.atom (1 in 10 articles)", "%E8%82%A1%E5%B8%82.atom")):
                start = time.monotonic()
                body = urllib.request.urlopen(base + path).read()
                first = time.monotonic() - start
                assert body.count(b"<entry>") == 100, "a feed of 100 entries"
                wrk = subprocess.run(["wrk", "-t2", "-c64", "-d5s", base + path], capture_output=True, text=True).stdout
                rps = next(l.split()[1] for l in wrk.splitlines() if l.startswith("Requests/sec"))
                figures[name] = (first, float(rps))
            return figures
        finally:
            daemon.terminate()
            daemon.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scaling", default="100,1000,5000")
    ap.add_argument("--serve-articles", type=int, default=1_000_000)
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--shared", action="store_true", help="the workload of ../shared/bench/feedgen.py")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results.md"))
    args = ap.parse_args()
    global USE_SHARED
    USE_SHARED = args.shared
    if (args.shared or not args.skip_peers) and not os.path.isdir(BENCH):
        sys.exit(f"{BENCH} is missing: set TIDINGS_SHARED, or run with --skip-peers and without --shared")
    if not os.path.exists(TIDINGS):
        sys.exit("build first: cargo build --release")

    lines = [f"# tidings benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)", "",
             f"{'Shared workload (feedgen.py)' if args.shared else 'Workload of tidings workload'}, "
             f"{args.feeds} feeds x 30 entries; medians of {args.runs} runs; "
             "every tidings run checked against truth.json.", "",
             "| | cold | warm (all 304) | update (10% of feeds) | peak RSS cold / warm / update |",
             "|---|---|---|---|---|"]
    results = side_by_side(args.feeds, args.runs, not args.skip_peers)
    base = results["tidings"]
    for name, (cold, warm, update) in results.items():
        ratio = "" if name == "tidings" else " ({:.1f}x / {:.1f}x / {:.1f}x tidings)".format(
            cold[0] / base[0][0], warm[0] / base[1][0], update[0] / base[2][0])
        lines.append(f"| {name} | {cold[0]:.2f} s | {warm[0]:.2f} s | {update[0]:.2f} s | "
                     f"{cold[1]:.0f} / {warm[1]:.0f} / {update[1]:.0f} MB{ratio} |")
    lines += ["", "Scaling (tidings, one run each):", "", "| feeds | cold | warm | peak RSS cold / warm |", "|---|---|---|---|"]
    for feeds, cold, warm in scaling([int(s) for s in args.scaling.split(",") if s]):
        lines.append(f"| {feeds} | {cold[0]:.2f} s | {warm[0]:.2f} s | {cold[1]:.0f} / {warm[1]:.0f} MB |")
    if args.serve_articles:
        figures = serving(args.serve_articles)
        lines += ["", f"Serving from {args.serve_articles:,} articles:", ""]
        if figures is None:
            lines.append("(wrk is not installed: apt-get install wrk)")
        else:
            lines += ["| feed | first request (built from the database) | requests/s (wrk -t2 -c64) |", "|---|---|---|"]
            for name, (first, rps) in figures.items():
                lines.append(f"| {name} | {first * 1000:.0f} ms | {rps:,.0f} |")
    text = "\n".join(lines) + "\n"
    open(args.out, "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
