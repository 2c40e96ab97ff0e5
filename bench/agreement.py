#!/usr/bin/env python3
"""How often `tidings parse` reads a feed the way Python's feedparser does.

  python3 bench/agreement.py DIR_OR_FILES... [--mutate SRC_DIR --out DIR [--seed N]]

For each feed file: the number of entries, and per entry (in order) the title,
the link and the date, compared with feedparser's; prints the share of feeds
with the same number of entries, of titles, links and dates that agree, and
the files where they differ. Titles are compared as text (tags dropped,
whitespace collapsed), links after the canonical form tidings stores (tracking
parameters and fragment dropped, parameters sorted, http = https), dates to
the second in UTC.

With --mutate, first writes a sloppy corpus into --out: each feed of SRC_DIR
(the shared workload's feeds, or any feeds) damaged the way careless
publishers do (a bare '&', an unclosed <br> or <b>, well-formed inline markup, a body cut mid-item, an
unclosed CDATA, a PHP warning before the document, no RSS version or 0.93,
dc:title instead of title, guid instead of link, unknown Atom types, a
gb2312 label on UTF-8 bytes, HTML entities), one damage per file, round robin.

Needs a release build (cargo build --release) and feedparser (pip install feedparser).
"""
import argparse
import calendar
import html
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.parse

import feedparser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIDINGS = os.path.join(ROOT, "target", "release", "tidings")
TRACKING = re.compile(r"^(utm_.*|spm|from|fbclid|gclid|yclid|mc_cid|mc_eid)$", re.I)


def text(value):
    value = re.sub(r"<[^>]*>", " ", value or "")
    return " ".join(html.unescape(value).split())


def canonical(link):
    if not link:
        return None
    try:
        parts = urllib.parse.urlsplit(link.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    query = sorted((k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
                   if not TRACKING.match(k))
    return (parts.hostname.lower(), parts.port, parts.path or "/", query)


def feedparser_entries(path):
    feed = feedparser.parse(open(path, "rb").read())
    out = []
    for entry in feed.entries:
        date = entry.get("published_parsed") or entry.get("updated_parsed")
        out.append({
            "title": text(entry.get("title")),
            "link": canonical(entry.get("link")),
            "date": calendar.timegm(date) if date else None,
        })
    return out


def tidings_entries(path):
    run = subprocess.run([TIDINGS, "parse", path, "--config", os.devnull + ".toml"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        return None, run.stderr.strip().splitlines()[-1:] or ["failed"]
    parsed = json.loads(run.stdout)
    out = []
    for article in parsed["articles"]:
        date = article.get("published")
        out.append({
            "title": text(article["title"]),
            "link": canonical(article.get("link")),
            "date": calendar.timegm(time.strptime(date, "%Y-%m-%dT%H:%M:%SZ")) if date else None,
        })
    return out, parsed["warnings"]


def compare(files):
    same_count = refused = 0
    agree = {"title": [0, 0], "link": [0, 0], "date": [0, 0]}
    differences = []
    for path in files:
        theirs = feedparser_entries(path)
        ours, warnings = tidings_entries(path)
        if ours is None:
            if theirs:
                refused += 1
                differences.append(f"{path}: refused ({warnings[0]}), feedparser read {len(theirs)}")
            continue
        if len(ours) == len(theirs):
            same_count += 1
        else:
            differences.append(f"{path}: {len(ours)} entries, feedparser {len(theirs)}; {warnings}")
        for a, b in zip(ours, theirs):
            for field in agree:
                # A field feedparser lacks is not a disagreement tidings can fix.
                if b[field] is None or b[field] == "":
                    continue
                agree[field][1] += 1
                if a[field] == b[field]:
                    agree[field][0] += 1
                elif len(differences) < 200:
                    differences.append(f"{path}: {field} {a[field]!r} vs feedparser {b[field]!r}")
    n = len(files)
    print(f"{n} feeds: same number of entries {same_count / n:.1%}, refused while feedparser reads {refused}")
    for field, (ok, total) in agree.items():
        print(f"  {field}s agree: {ok}/{total} = {ok / max(total, 1):.1%}")
    return differences


DAMAGES = []


def damage(fn):
    DAMAGES.append(fn)
    return fn


@damage
def bare_ampersand(xml, rnd):
    xml = xml.replace("&amp;", "&")
    return re.sub(r"(<link>[^<?]+)(</link>)", r"\1?from=rss&id=1\2", xml, count=3)


@damage
def unclosed_br_in_title(xml, rnd):
    xml = re.sub(r"<title><!\[CDATA\[(.*?)\]\]></title>", r"<title>\1</title>", xml)
    return re.sub(r"(<title>)([^<]{4})", r"\1\2<br>", xml, count=4)


@damage
def truncated(xml, rnd):
    starts = [m.start() for m in re.finditer(r"<(item|entry)>", xml)]
    if len(starts) < 3:
        return xml[: len(xml) * 2 // 3]
    at = rnd.randrange(starts[2], len(xml) - 20)
    return xml[:at]


@damage
def inline_markup(xml, rnd):
    xml = re.sub(r"<(title|description)><!\[CDATA\[(.*?)\]\]></\1>",
                 lambda m: f"<{m[1]}>{m[2].replace('&', '&amp;')}</{m[1]}>", xml, flags=re.S)
    return re.sub(r"(<title>)([^<]{2})([^<]{2})", r"\1\2<b>\3</b>", xml, count=5)


@damage
def unclosed_cdata(xml, rnd):
    ends = [m.start() for m in re.finditer(r"\]\]></description>", xml)]
    if not ends:
        return xml
    at = ends[len(ends) // 2]
    return xml[:at] + xml[at + 3:]


@damage
def php_warning(xml, rnd):
    return ("<br />\n<b>Warning</b>:  Cannot modify header information - headers already sent by "
            "(output started at /var/www/rss.php:2) in <b>/var/www/rss.php</b> on line <b>9</b><br />\n") + xml


@damage
def rss_version(xml, rnd):
    return re.sub(r'<rss version="2.0"', rnd.choice(['<rss', '<rss version="0.93"', '<rss version="0.94"']), xml)


@damage
def dc_title(xml, rnd):
    if "<rss" not in xml:
        return xml
    xml = xml.replace("<rss ", '<rss xmlns:dc="http://purl.org/dc/elements/1.1/" ', 1)
    return re.sub(r"<item><title>(.*?)</title>", r"<item><dc:title>\1</dc:title>", xml)


@damage
def guid_only(xml, rnd):
    return re.sub(r"<link>([^<]*)</link>(.*?)(</item>)", r"<guid>\1</guid>\2\3", xml, flags=re.S)


@damage
def unknown_type(xml, rnd):
    return xml.replace("<title>", '<title type="text/x-unknown">').replace("<rss ", "<rss ")


@damage
def lying_label(xml, rnd):
    return re.sub(r'encoding="[^"]*"', 'encoding="gb2312"', xml, count=1)


@damage
def html_entities(xml, rnd):
    xml = re.sub(r"<title><!\[CDATA\[(.*?)\]\]></title>", r"<title>\1</title>", xml)
    return re.sub(r"(<title>[^<]{3})", r"\1&nbsp;&mdash;", xml)


def mutate(src, out, seed):
    rnd = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    names = sorted(n for n in os.listdir(src) if n.endswith(".xml"))
    for i, name in enumerate(names):
        raw = open(os.path.join(src, name), "rb").read()
        try:
            xml = raw.decode("utf-8")
        except UnicodeDecodeError:
            # Legacy-encoded feeds keep their bytes and label: damage only ASCII syntax.
            xml = None
        fn = DAMAGES[i % len(DAMAGES)]
        if xml is None:
            data = raw if fn is lying_label else fn(raw.decode("latin-1"), rnd).encode("latin-1")
        else:
            data = fn(xml, rnd).encode("utf-8")
        open(os.path.join(out, f"{fn.__name__}-{name}"), "wb").write(data)
    return [os.path.join(out, n) for n in sorted(os.listdir(out))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--mutate")
    ap.add_argument("--out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show", type=int, default=20, help="differences to print")
    args = ap.parse_args()
    files = []
    if args.mutate:
        files += mutate(args.mutate, args.out, args.seed)
    for path in args.paths:
        if os.path.isdir(path):
            files += [os.path.join(path, n) for n in sorted(os.listdir(path))
                      if os.path.isfile(os.path.join(path, n))]
        else:
            files.append(path)
    if not files:
        sys.exit("no feeds")
    differences = compare(files)
    for line in differences[: args.show]:
        print("  " + line)


if __name__ == "__main__":
    main()
