#!/usr/bin/env python3
"""The tidings benchmark: the workload of `tidings workload`, side by side with
newsboat and the feedparser script, medians of several runs, each result checked
against truth.json.

  python3 bench/run.py [--feeds 1000] [--runs 3] [--scaling 100,1000,5000]
                       [--serve-articles 1000000] [--skip-peers] [--shared]
                       [--no-postgres] [--out bench/results.md]

--shared writes the workload with ../shared/bench/feedgen.py instead (set
TIDINGS_SHARED if shared/ lives elsewhere), an independent cross-check. The
peers (newsboat and the feedparser script) are run by the scripts of
../shared/bench/peers; without shared/, use --skip-peers.

Needs: a release build (cargo build --release), nginx (apt-get install nginx-light),
newsboat (apt-get install newsboat), feedparser (pip install feedparser), wrk
(apt-get install wrk) for the serving figures and PostgreSQL (apt-get install
postgresql) for its rows, on a throwaway cluster. Everything runs on 127.0.0.1.
"""
import argparse
import contextlib
import functools
import http.server
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
import urllib.parse
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


def serve(out, access_log=None):
    env = dict(os.environ, ACCESS_LOG=access_log) if access_log else None
    subprocess.run(["sh", os.path.join(HERE, "serve.sh"), "start", out, str(PORT)], check=True, env=env)


def unserve(out):
    subprocess.run(["sh", os.path.join(HERE, "serve.sh"), "stop", out], check=False)
    time.sleep(0.3)


@contextlib.contextmanager
def served_workload(feeds):
    """A fresh workload of `feeds` feeds in a temporary folder, served by nginx
    for the length of the block: (the folder, the workload in it, its truth)."""
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "workload")
        truth = feedgen(out, feeds)
        serve(out)
        try:
            yield work, out, truth
        finally:
            unserve(out)


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


def cold_poll(work, out, truth, what="tidings cold"):
    """A cold poll of the served workload into a fresh SQLite database in
    `work`, checked against truth.json: the poll's command and its timing."""
    db = os.path.join(work, "tidings.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    poll = [TIDINGS, "poll", "--config", tidings_config(work, out)]
    cold = timed(poll)
    check(what, count(db, "SELECT count(*) FROM articles"), truth)
    return poll, cold


def run_tidings(work, out, truth):
    poll, cold = cold_poll(work, out, truth)
    db = os.path.join(work, "tidings.db")
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
            with served_workload(feeds) as (work, out, truth):
                results[name].append(run(work, out, truth))
    return {name: medians(r) for name, r in results.items()}


def scaling(sizes, runs):
    """Cold and warm polls of workloads of each size: medians of `runs`,
    each run a fresh workload and database, checked against truth.json."""
    rows = []
    for feeds in sizes:
        measured = []
        for _ in range(runs):
            with served_workload(feeds) as (work, out, truth):
                measured.append(run_tidings(work, out, truth))
        cold, warm, _ = medians(measured)
        rows.append((feeds, cold, warm))
    return rows


# Sentences, companies and figures the synthetic articles of `serving` are made
# of, so that their trigrams are spread as in real finance news.
SENTENCES = [
    "证监会表示，将进一步深化资本市场改革，提高上市公司质量。",
    "沪深两市成交额连续第三个交易日突破万亿元。",
    "北向资金全天净买入超过五十亿元，电子、医药板块获加仓。",
    "央行今日开展逆回购操作，维护银行体系流动性合理充裕。",
    "国家统计局数据显示，工业增加值同比增长，消费市场稳步恢复。",
    "创业板指数午后拉升，半导体、光伏板块涨幅居前。",
    "多家券商发布研报认为，新能源汽车产业链景气度有望持续提升。",
    "基金发行市场回暖，权益类基金募集规模环比明显增长。",
    "两市融资余额小幅回升，市场情绪有所改善。",
    "公司公告称，前三季度营业收入同比增长，净利润稳步提升。",
    "分析人士指出，稳增长政策持续发力，经济修复态势不变。",
    "银保监会要求，金融机构加大对小微企业的信贷支持力度。",
    "人民币对美元汇率中间价小幅上调，外汇市场运行平稳。",
    "期货市场方面，螺纹钢、铁矿石主力合约震荡走弱。",
    "上市公司回购热情高涨，年内回购金额创出新高。",
    "交易所发布问询函，要求公司说明业绩大幅波动的原因。",
]
COMPANIES = ["宁德时代", "贵州茅台", "比亚迪", "招商银行", "中国平安", "隆基绿能", "药明康德", "东方财富",
             "中信证券", "万科", "美的集团", "海天味业", "立讯精密", "京东方", "紫金矿业", "长江电力"]


def big_database(db, articles):
    """Fills the tidings database `db` (migrated, empty) with `articles`
    synthetic articles, through the schema's own triggers."""
    sentences = " UNION ALL ".join(f"SELECT {k}, '{t}'" for k, t in enumerate(SENTENCES))
    companies = " UNION ALL ".join(f"SELECT {k}, '{t}'" for k, t in enumerate(COMPANIES))
    pick = lambda a, b: f"(SELECT t FROM s WHERE k = ({a} * i + {b}) % {len(SENTENCES)})"
    text = " || ".join([pick(7, 1), pick(11, 3), "(SELECT t FROM c WHERE k = i % 16) || '公告称，' ",
                        pick(13, 5), pick(3, 7), pick(5, 2), pick(17, 9), pick(1, 4),
                        "'报告期内实现营业收入' || (i % 997) || '亿元。'", pick(19, 6),
                        "'本文编号' || printf('%07d', i) || '。'"])
    with sqlite3.connect(db) as conn:
        conn.executescript(f"""
            INSERT INTO sources (url, name, category, channel) VALUES ('http://127.0.0.1/x.xml', '证券时报网', '金融', '要闻');
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {articles}),
                 s(k, t) AS ({sentences}), c(k, t) AS ({companies}),
                 body(i, text) AS (SELECT i, {text} FROM n)
            INSERT INTO articles (id, key, title, link, author, published, summary, content_html, plain_text,
                                  content_hash, first_seen, last_seen, story_id)
            SELECT i, 'https://bench.example/' || i, '第' || i || '号新闻 ' || substr(text, 1, 20),
                   'https://bench.example/' || i, '证券时报网',
                   strftime('%Y-%m-%dT%H:%M:%SZ', 1600000000 + i * 60, 'unixepoch'),
                   substr(text, 1, 200), '<p>' || text || '</p>', text,
                   'h' || i, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', i FROM body;
            INSERT INTO article_sources (article_id, source_id, content_hash, first_seen) SELECT id, 1, content_hash, first_seen FROM articles;
            INSERT INTO article_categories (article_id, category, position, published)
            SELECT a.id, c.category, c.position, a.published FROM articles a
              JOIN (SELECT '金融' AS category, 0 AS position UNION ALL SELECT '证券时报网', 1
                    UNION ALL SELECT '要闻', 2) c
            UNION ALL SELECT id, '股市', 3, published FROM articles WHERE id % 10 = 0;
            -- What tidings' writer counts as it inserts, a hand insert counts itself (docs/schema.md).
            INSERT INTO label_counts (category, articles)
            SELECT category, count(*) FROM article_categories GROUP BY category;
        """)


def serving(articles):
    """Builds a database of `articles` synthetic articles (each a few hundred
    characters of finance news, the last sentence naming the article's own
    number), then times the feeds, pages and searches served from it."""
    if not shutil.which("wrk"):
        return None
    with tempfile.TemporaryDirectory() as work:
        config = os.path.join(work, "config.toml")
        open(config, "w").write(f'[storage]\ndatabase = "big.db"\n[server]\nlisten = "127.0.0.1:{PORT + 1}"\n')
        subprocess.run([TIDINGS, "sources", "--config", config], check=True, stdout=subprocess.DEVNULL)
        db = os.path.join(work, "big.db")
        big_database(db, articles)
        index_mb = count(db, "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'articles_fts%'") / 1e6
        daemon = subprocess.Popen([TIDINGS, "run", "--config", config], stderr=subprocess.DEVNULL)
        try:
            root = f"http://127.0.0.1:{PORT + 1}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{root}/health")
                    break
                except OSError:
                    time.sleep(0.1)
            figures = {}
            # Each feed or page: its bytes, and what they must hold.
            served = (("all.atom", "/feeds/all.atom", b"<entry>", 100),
                      ("股市.atom (1 in 10 articles)", "/feeds/%E8%82%A1%E5%B8%82.atom", b"<entry>", 100),
                      ("all.json", "/feeds/all.json", b'"id": "urn:tidings:entry:', 100),
                      ("news page /", "/", b'<article class="story">', 50),
                      ("news page, 股市", "/c/%E8%82%A1%E5%B8%82", b'<article class="story">', 50),
                      (f"news page after article {articles // 2:,}", f"/?before={articles // 2}", b'<article class="story">', 50),
                      ("story page", f"/story/{articles // 3}", b"<li>", 1))
            for name, path, item, items in served:
                start = time.monotonic()
                body = urllib.request.urlopen(f"{root}{path}").read()
                first = time.monotonic() - start
                assert body.count(item) == items, f"{name}: {body.count(item)} items, not {items}"
                wrk = subprocess.run(["wrk", "-t2", "-c64", "-d5s", f"{root}{path}"], capture_output=True, text=True).stdout
                rps = next(l.split()[1] for l in wrk.splitlines() if l.startswith("Requests/sec"))
                figures[name] = (first, float(rps))
            searches = {}
            last = f"本文编号{articles // 3:07d}"
            for query, wanted in (("证监会", 20), ("资本市场改革", 20), ("宁德时代公告称", 20),
                                  (last, 1), ("营业收入996亿元", 20), ("不存在的词语", 0), ("央行", 20)):
                url = f"{root}/search?q={urllib.parse.quote(query)}&limit=20"
                times = []
                for _ in range(11):
                    start = time.monotonic()
                    body = urllib.request.urlopen(url).read()
                    times.append(time.monotonic() - start)
                    assert body.count(b"<entry>") == wanted, f"{query}: {body.count(b'<entry>')} results"
                searches[query] = (times[0], statistics.median(times[1:]))
            daemon.terminate()
            daemon.wait()
            return figures, searches, index_mb, stories_at_scale(config, db, articles)
        finally:
            daemon.terminate()
            daemon.wait()


def stories_at_scale(big_config, big_db, articles):
    """Stories must not cost more as the database grows: the last 20,000 of
    the big database's articles are made recent and fingerprinted (`tidings
    regroup`, timed over all of them), then the same 200-feed workload is
    polled into an empty database and into the big one, three times each."""
    recent = 20_000
    with sqlite3.connect(big_db) as conn:
        conn.execute("UPDATE articles SET first_seen = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id > ?",
                     (articles - recent,))
    regroup = timed([TIDINGS, "regroup", "--config", big_config])
    polls = {}
    with served_workload(200) as (work, out, truth):
        sources = open(os.path.join(out, "sources.toml")).read()
        for name, database in (("empty", os.path.join(work, "empty.db")), (f"{articles:,} articles", big_db)):
            times = []
            for _ in range(3):
                with sqlite3.connect(database) as conn:
                    if conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'articles'").fetchone()[0]:
                        conn.execute(f"DELETE FROM articles WHERE id > {articles if database == big_db else 0}")
                        conn.execute("UPDATE sources SET etag = NULL, last_modified = NULL, next_due = NULL")
                config = os.path.join(work, "poll.toml")
                open(config, "w").write(f'[storage]\ndatabase = "{database}"\n\n[poll]\nconcurrency = 16\nper_host = 16\n\n{sources}')
                seconds, rss, summary = timed([TIDINGS, "poll", "--config", config])
                new = int(summary.split("articles: ")[1].split(" new")[0])
                if new != truth["unique_articles"]:
                    sys.exit(f"stories at scale: {new} new articles, truth.json says {truth['unique_articles']}")
                times.append(seconds)
            polls[name] = statistics.median(times)
    return regroup[0], recent, polls


def postgres_programs():
    """The folder of PostgreSQL's server programs (initdb, pg_ctl), or None."""
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    for version in sorted(os.listdir("/usr/lib/postgresql"), reverse=True) if os.path.isdir("/usr/lib/postgresql") else []:
        folder = os.path.join("/usr/lib/postgresql", version, "bin")
        if os.path.exists(os.path.join(folder, "initdb")):
            return folder
    return None


class PostgresCluster:
    """A throwaway cluster in a temporary folder on 127.0.0.1:PORT+2 (as the
    postgres user when run as root: initdb refuses root)."""

    def __init__(self, programs):
        self.programs = programs
        self.dir = tempfile.mkdtemp(prefix="tidings-bench-pg")
        self.port = PORT + 2
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if as_postgres:
            shutil.chown(self.dir, "postgres")
        self.run = lambda program, *args: subprocess.run(
            as_postgres + [os.path.join(programs, program), *args], check=True, capture_output=True)
        data = os.path.join(self.dir, "data")
        self.run("initdb", "-D", data, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-U", "postgres")
        self.run("pg_ctl", "-D", data, "-l", os.path.join(self.dir, "log"), "-w", "start", "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200")

    def fresh_database(self):
        url = f"postgres://postgres@127.0.0.1:{self.port}/tidings"
        for sql in ("DROP DATABASE IF EXISTS tidings", "CREATE DATABASE tidings"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc", sql],
                           check=True, capture_output=True)
        return url

    def count(self, sql):
        out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "tidings",
                              "-tAc", sql], check=True, capture_output=True, text=True).stdout
        return int(out.strip())

    def stop(self):
        self.run("pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "fast", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def polls_at_once(configs):
    """Runs `tidings poll` on each config at once; the wall time of them all,
    the largest peak RSS, and their summaries."""
    os.sync()
    start = time.monotonic()
    procs = [subprocess.Popen([TIDINGS, "poll", "--config", c], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for c in configs]
    peaks, outs = [], []
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"tidings poll on PostgreSQL failed: {err[-2000:]}")
        peaks.append(usage.ru_maxrss / 1024)
        outs.append(out)
    return time.monotonic() - start, max(peaks), outs


def poller_configs(work, url, pollers, poll, sources):
    """The configs of `pollers` pollers sharing the database `url`: the same
    `[poll]` settings (`poll`, TOML lines) and sources (`sources`, TOML)."""
    configs = []
    for n in range(pollers):
        config = os.path.join(work, f"poller{n}.toml")
        with open(config, "w") as fh:
            fh.write(f'[storage]\ndatabase = "{url}"\n\n[poll]\n{poll}\n\n{sources}\n')
        configs.append(config)
    return configs


def postgres(cluster, feeds, runs):
    """Cold and warm polls of the workload into PostgreSQL by one and by two
    pollers (`tidings poll` processes started together, which share the
    sources through leases), each into a fresh database of `cluster`, each
    checked against truth.json. Each run of one poller also polls the same
    workload cold into SQLite, before or after by turns, so that the two
    databases are compared on the same minutes of a noisy machine."""
    results, beside = {}, []
    for pollers in (1, 2):
        cold_runs, warm_runs = [], []
        for run in range(runs):
            with served_workload(feeds) as (work, out, truth):
                if pollers == 1 and run % 2 == 1:
                    beside.append(cold_poll(work, out, truth, "SQLite beside PostgreSQL, cold")[1][0])
                configs = poller_configs(work, cluster.fresh_database(), pollers,
                                         "concurrency = 16\nper_host = 16",
                                         open(os.path.join(out, "sources.toml")).read())
                cold = polls_at_once(configs)
                check(f"PostgreSQL, {pollers} pollers, cold", cluster.count("SELECT count(*) FROM articles"), truth)
                fetched = cluster.count("SELECT count(*) FROM fetch_log")
                if fetched != feeds:
                    sys.exit(f"PostgreSQL, {pollers} pollers: {fetched} polls of {feeds} feeds")
                warm = polls_at_once(configs)
                if any("0 new, 0 updated" not in o for o in warm[2]):
                    sys.exit(f"a warm poll into PostgreSQL changed something: {warm[2]}")
                if pollers == 1 and run % 2 == 0:
                    beside.append(cold_poll(work, out, truth, "SQLite beside PostgreSQL, cold")[1][0])
                cold_runs.append(cold[:2])
                warm_runs.append(warm[:2])
        results[pollers] = tuple((statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
                                 for rs in (cold_runs, warm_runs))
    return results, statistics.median(beside)


class SlowHosts:
    """The workload's folder served by `hosts` hosts, 127.0.0.2 and up (all
    of 127.0.0.0/8 is loopback), each request answered after 0.8-1.6 s (the
    same for the same path): sites that are slow to answer, where fetching
    is the limit and several pollers pay. Counts the requests of each path."""

    def __init__(self, directory, hosts, port):
        self.requests = {}
        self.lock = threading.Lock()
        self.servers = []
        hosts_self = self

        class Slow(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                with hosts_self.lock:
                    hosts_self.requests[self.path] = hosts_self.requests.get(self.path, 0) + 1
                time.sleep(0.8 + (zlib.crc32(self.path.encode()) % 800) / 1000)
                super().do_GET()

            def log_message(self, *args):
                pass

        handler = functools.partial(Slow, directory=directory)
        for n in range(hosts):
            server = http.server.ThreadingHTTPServer((f"127.0.0.{2 + n}", port), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)

    def url(self, feed_url, n):
        """`feed_url` (the workload's, on 127.0.0.1:PORT) on host number `n`."""
        path = urllib.parse.urlsplit(feed_url).path
        return f"http://127.0.0.{2 + n % len(self.servers)}:{self.servers[0].server_address[1]}{path}"

    def stop(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()


def fetch_bound(cluster, feeds, hosts=50, runs=1):
    """Cold polls into PostgreSQL where fetching is the limit: the workload's
    feeds spread over `hosts` slow hosts (`SlowHosts`), `per_host = 2`,
    `concurrency = 32`, by one, two and three `tidings poll` processes
    started together. Each run checked: every article of truth.json stored,
    every feed polled once and requested once."""
    results = {}
    for pollers in (1, 2, 3):
        times = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as work:
                out = os.path.join(work, "workload")
                truth = feedgen(out, feeds)
                slow = SlowHosts(out, hosts, PORT + 3)
                try:
                    sources = open(os.path.join(out, "sources.toml")).read().splitlines()
                    n = 0
                    for i, line in enumerate(sources):
                        if line.startswith("url = "):
                            sources[i] = f'url = "{slow.url(line.split(chr(34))[1], n)}"'
                            n += 1
                    configs = poller_configs(work, cluster.fresh_database(), pollers,
                                             'concurrency = 32\nper_host = 2\ntimeout = "30s"',
                                             "\n".join(sources))
                    seconds, _, _ = polls_at_once(configs)
                    check(f"fetch-bound, {pollers} pollers", cluster.count("SELECT count(*) FROM articles"), truth)
                    polled = cluster.count("SELECT count(*) FROM fetch_log")
                    asked = sorted(set(slow.requests.values()))
                    if polled != feeds or len(slow.requests) != feeds or asked != [1]:
                        sys.exit(f"fetch-bound, {pollers} pollers: {polled} polls written, "
                                 f"{len(slow.requests)} feeds requested ({asked} times each), of {feeds}")
                    times.append(seconds)
                finally:
                    slow.stop()
        results[pollers] = statistics.median(times)
    return results


def daemons_on_postgres(cluster, feeds, lease_seconds=10):
    """The issue's check at full size: two `tidings run` pollers on one
    PostgreSQL database over the workload, with nginx logging each request;
    one is killed (SIGKILL) a second in, while it holds leases. Returns what
    was checked: the stored articles equal truth.json, every feed written
    once, fetched once by the pollers' own schedule, and a second time only if
    the killed poller held it (its lease ran out, the other took it)."""
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "workload")
        truth = feedgen(out, feeds)
        access_log = os.path.join(work, "access.log")
        serve(out, access_log)
        daemons = []
        try:
            url = cluster.fresh_database()
            for n in range(2):
                config = os.path.join(work, f"daemon{n}.toml")
                with open(config, "w") as fh:
                    fh.write(f'[storage]\ndatabase = "{url}"\nlease = "{lease_seconds}s"\n\n'
                             f'[server]\nlisten = "127.0.0.1:{PORT + 10 + n}"\n\n'
                             '[poll]\ninterval = "1h"\nconcurrency = 16\nper_host = 16\n\n')
                    fh.write(open(os.path.join(out, "sources.toml")).read())
                daemons.append(subprocess.Popen([TIDINGS, "run", "--config", config],
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            def written():
                try:
                    return cluster.count("SELECT count(*) FROM fetch_log")
                except subprocess.CalledProcessError:
                    return 0  # the pollers are still creating the tables

            start = time.monotonic()
            while written() < feeds // 10 and time.monotonic() - start < 60:
                time.sleep(0.05)
            held = cluster.count("SELECT count(*) FROM sources WHERE lease_until > now()")
            daemons[0].kill()
            killed_at = time.monotonic()
            while written() < feeds and time.monotonic() - start < 300:
                time.sleep(0.2)
            taken_over = time.monotonic() - killed_at
            time.sleep(2)
            written = cluster.count("SELECT count(*) FROM fetch_log")
            once = cluster.count("SELECT count(*) FROM (SELECT source_id FROM fetch_log GROUP BY source_id "
                                 "HAVING count(*) = 1) s")
            stored = cluster.count("SELECT count(*) FROM articles")
        finally:
            for daemon in daemons:
                daemon.kill()
                daemon.wait()
            unserve(out)
        requests = {}
        for line in open(access_log):
            path = line.split('"')[1].split()[1]
            if path.startswith("/feeds/"):
                requests[path] = requests.get(path, 0) + 1
    if stored != truth["unique_articles"] or written != feeds or once != feeds:
        sys.exit(f"two daemons on PostgreSQL: {stored} articles (truth {truth['unique_articles']}), "
                 f"{written} polls written, {once} sources written once, of {feeds}")
    twice = sum(1 for n in requests.values() if n == 2)
    more = sum(1 for n in requests.values() if n > 2)
    if len(requests) != feeds or more or twice > held:
        sys.exit(f"two daemons on PostgreSQL: {len(requests)} feeds requested, {twice} twice, {more} more "
                 f"often, while the killed poller held {held}")
    return {"held": held, "twice": twice, "taken_over": taken_over, "lease": lease_seconds}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scaling", default="100,1000,5000")
    ap.add_argument("--serve-articles", type=int, default=1_000_000)
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--postgres", action=argparse.BooleanOptionalAction, default=True,
                    help="also poll into PostgreSQL with one and two pollers (needs postgresql)")
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
    if args.postgres:
        # One throwaway cluster for the PostgreSQL sections, a fresh database a run.
        pg = slow = killed = None
        programs = postgres_programs()
        if programs is not None:
            cluster = PostgresCluster(programs)
            try:
                pg, sqlite_beside = postgres(cluster, args.feeds, args.runs)
                slow = fetch_bound(cluster, args.feeds, runs=args.runs)
                killed = daemons_on_postgres(cluster, args.feeds)
            finally:
                cluster.stop()
        lines += ["", "The same workload into PostgreSQL (`tidings poll` processes started together, "
                  "sharing the sources through leases; medians):", "",
                  "| database | cold | warm (all 304) | peak RSS cold / warm (per poller) |", "|---|---|---|---|"]
        sqlite = results["tidings"]
        lines.append(f"| SQLite, 1 poller | {sqlite[0][0]:.2f} s | {sqlite[1][0]:.2f} s | "
                     f"{sqlite[0][1]:.0f} / {sqlite[1][1]:.0f} MB |")
        if pg is None:
            lines.append("| PostgreSQL | (initdb not found: apt-get install postgresql) | | |")
        else:
            for pollers, (cold, warm) in pg.items():
                lines.append(f"| PostgreSQL, {pollers} poller{'s' if pollers > 1 else ''} | {cold[0]:.2f} s | "
                             f"{warm[0]:.2f} s | {cold[1]:.0f} / {warm[1]:.0f} MB |")
            lines += ["", f"PostgreSQL's cold poll by one poller against SQLite's cold poll of the same workloads, "
                      f"each run of one right before or after the other (medians of {args.runs}): "
                      f"{pg[1][0][0]:.2f} s against {sqlite_beside:.2f} s, {pg[1][0][0] / sqlite_beside:.2f}x."]
            lines += ["", f"Where fetching is the limit: the {args.feeds} feeds over 50 hosts (127.0.0.2-51) that "
                      "answer after 0.8-1.6 s, `per_host = 2`, `concurrency = 32`, cold into PostgreSQL, every "
                      "feed requested once:", "", "| pollers | cold | against one |", "|---|---|---|"]
            for pollers, seconds in slow.items():
                lines.append(f"| {pollers} | {seconds:.2f} s | {slow[1] / seconds:.2f}x |")
            lines += ["", f"Two `tidings run` pollers on one PostgreSQL over the {args.feeds} feeds, one killed "
                      f"(SIGKILL) while it held {killed['held']} leases ({killed['lease']} s): every article of "
                      "truth.json stored once, every feed written once; nginx saw every feed requested once, "
                      f"{killed['twice']} of them twice (the killed poller's, taken over when their leases "
                      f"ended); all written {killed['taken_over']:.1f} s after the kill."]
    lines += ["", f"Scaling (tidings, medians of {args.runs} runs):", "",
              "| feeds | cold | cold against 1,000 feeds | warm | peak RSS cold / warm |", "|---|---|---|---|---|"]
    rows = scaling([int(s) for s in args.scaling.split(",") if s], args.runs)
    thousand = next((cold[0] for feeds, cold, _ in rows if feeds == 1000), None)
    for feeds, cold, warm in rows:
        against = f"{cold[0] / thousand:.2f}x" if thousand else "-"
        lines.append(f"| {feeds} | {cold[0]:.2f} s | {against} | {warm[0]:.2f} s | {cold[1]:.0f} / {warm[1]:.0f} MB |")
    if args.serve_articles:
        served = serving(args.serve_articles)
        lines += ["", f"Serving from {args.serve_articles:,} articles:", ""]
        if served is None:
            lines.append("(wrk is not installed: apt-get install wrk)")
        else:
            figures, searches, index_mb, (regroup, recent, polls) = served
            lines += ["| feed or page | first request (built from the database) | requests/s (wrk -t2 -c64) |", "|---|---|---|"]
            for name, (first, rps) in figures.items():
                lines.append(f"| {name} | {first * 1000:.0f} ms | {rps:,.0f} |")
            lines += ["", f"Searching them (`GET /search?q=...&limit=20`; search index {index_mb:.0f} MB):", "",
                      "| query | first request | median of 10 more |", "|---|---|---|"]
            for query, (first, median) in searches.items():
                lines.append(f"| {query} | {first * 1000:.0f} ms | {median * 1000:.1f} ms |")
            lines += ["", f"Stories at that size: `tidings regroup` fingerprinted and grouped all {args.serve_articles:,} "
                      f"articles in {regroup:.1f} s; with the last {recent:,} of them in the 72-hour window, a cold poll of "
                      "200 feeds (median of 3) took:", "", "| into a database of | cold poll |", "|---|---|"]
            for name, seconds in polls.items():
                lines.append(f"| {name} | {seconds:.2f} s |")
    text = "\n".join(lines) + "\n"
    open(args.out, "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
