#!/usr/bin/env python3
"""The colour each person's health facts give under the rule set in force,
evaluated from the tables of ../shared/design/STATUS-RULES.md independently
of the C code that the status-resolver runs (services/common/health_rules.c),
so that tests and the benchmark can check one against the other.

usage: colours.py [--at EPOCH_MS] [--without-source S]... < people.csv
  people.csv: lines "nik,..." (a header line is skipped). Reads
  LINDUNG_DB_URL (psql) and LINDUNG_NIK_KEY_FILE (the keyed NIK hash is
  computed here with hashlib, not with lindungctl). Prints "nik,colour" per
  line, colour one of green, yellow, red, black, none (no health record).
  --without-source leaves out the facts a source recorded (e.g. the
  positives scripts/bench-positive published and the close contacts they
  flagged: "bench-lab", "exposure"), to evaluate the population as seeded.
"""
import argparse
import datetime as dt
import hashlib
import os
import subprocess
import sys

DAY, HOUR = 86400000, 3600000


def psql(sql, stdin=None):
    out = subprocess.run(["psql", os.environ["LINDUNG_DB_URL"], "-X", "-q", "-tA", "-F", "\t", "-c", sql],
                         input=stdin, capture_output=True, text=True, check=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def age_years(birth_ms, now_ms):
    b = dt.datetime.fromtimestamp(birth_ms / 1000, dt.timezone.utc).date()
    n = dt.datetime.fromtimestamp(now_ms / 1000, dt.timezone.utc).date()
    return n.year - b.year - ((n.month, n.day) < (b.month, b.day))


def colour(facts, birth_ms, rs, now):
    """facts: [(kind, at_ms, until_ms or None)]; rs: the rule_sets row."""
    held = [(k, at) for k, at, until in facts if at <= now and (until is None or until > now)]
    if not held:
        return "none"
    latest = {}
    for k, at in held:
        latest[k] = max(latest.get(k, at), at)
    doses = sum(1 for k, _ in held if k in ("dose", "booster"))
    boosted = any(k == "booster" for k, _ in held)
    birth = latest.get("birth_date", birth_ms)
    # BLACK wins over every other fact: positive within positive_days; a
    # close contact until a negative PCR from day contact_pcr_clear_day, or
    # day contact_clear_day (never past contact_days).
    pos = latest.get("positive")
    if pos is not None and now - pos < rs["positive_days"] * DAY:
        return "black"
    con = latest.get("close_contact")
    if con is not None and now - con < min(rs["contact_clear_day"], rs["contact_days"]) * DAY:
        pcr = latest.get("pcr_negative")
        if not (pcr is not None and pcr >= con + rs["contact_pcr_clear_day"] * DAY):
            return "black"
    if rs["scheme"] == "sept2021":
        return "green" if doses >= 2 else "yellow" if doses == 1 or "recovered" in latest else "red"
    adult = birth is None or birth > now or age_years(birth, now) >= rs["adult_age"]
    if not adult:
        return "green" if doses >= 2 else "yellow" if doses == 1 else "red"
    fresh = lambda k, span: k in latest and 0 <= now - latest[k] <= span
    if boosted or fresh("antigen_negative", rs["antigen_valid_hours"] * HOUR) or \
            fresh("pcr_negative", rs["pcr_valid_hours"] * HOUR) or \
            (doses >= 2 and fresh("recovered", rs["recovered_valid_days"] * DAY)):
        return "green"
    return "yellow" if doses >= 2 else "red"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--at", type=int, default=None)
    ap.add_argument("--without-source", action="append", default=[])
    args = ap.parse_args()
    now = args.at if args.at is not None else int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    key = bytes.fromhex(open(os.environ["LINDUNG_NIK_KEY_FILE"]).read().strip())
    niks = []
    for line in sys.stdin:
        nik = line.strip().split(",")[0]
        if len(nik) == 16 and nik.isdigit():
            niks.append(nik)
    hashes = {hashlib.blake2b(n.encode(), key=key, digest_size=32).hexdigest(): n for n in niks}
    cols = ["scheme", "antigen_valid_hours", "pcr_valid_hours", "recovered_valid_days", "positive_days",
            "contact_days", "contact_pcr_clear_day", "contact_clear_day", "adult_age"]
    rows = psql("SELECT %s FROM rule_sets WHERE effective_from <= to_timestamp(%d / 1000.0)"
                " ORDER BY effective_from DESC LIMIT 1" % (", ".join(cols), now))
    rs = {c: (v if c == "scheme" else int(v)) for c, v in zip(cols, rows[0])}
    facts = {h: [] for h in hashes}
    births = {}
    facts_sql = ("SELECT encode(f.nik_hash, 'hex'), f.fact, (extract(epoch FROM f.at) * 1000)::bigint,"
                 " (extract(epoch FROM f.until) * 1000)::bigint"
                 " FROM health_facts f JOIN wanted w ON w.h = f.nik_hash")
    for source in args.without_source:
        if not source.replace("-", "").replace("_", "").replace(".", "").isalnum():
            sys.exit("colours.py: bad --without-source")
        facts_sql += " AND f.source <> '%s'" % source
    # COPY through one psql session: stdin carries the hashes.
    proc = subprocess.run(["psql", os.environ["LINDUNG_DB_URL"], "-X", "-q", "-tA", "-F", "\t",
                           "-c", "CREATE TEMP TABLE wanted (h bytea)",
                           "-c", "COPY wanted FROM STDIN",
                           "-c", facts_sql,
                           "-c", "SELECT encode(p.nik_hash, 'hex'), (extract(epoch FROM"
                                 " p.birth_date::timestamp AT TIME ZONE 'UTC') * 1000)::bigint"
                                 " FROM people p JOIN wanted w ON w.h = p.nik_hash"
                                 " WHERE p.birth_date IS NOT NULL"],
                          input="".join("\\\\x%s\n" % h for h in hashes) + "\\.\n",
                          capture_output=True, text=True, check=True)
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 4:
            facts[parts[0]].append((parts[1], int(parts[2]), int(parts[3]) if parts[3] else None))
        elif len(parts) == 2:
            births[parts[0]] = int(parts[1])
    for h, nik in hashes.items():
        print("%s,%s" % (nik, colour(facts[h], births.get(h), rs, now)))


if __name__ == "__main__":
    main()
