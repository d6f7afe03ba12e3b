#!/usr/bin/env python3
"""The knee search's judge and summary, for scripts/bench.

A probe is one fixed-rate (Poisson) run of lindung-relay or lindung-loadgen;
it "holds" when the generator offered the rate (a sender that falls behind
measures nothing), p99 <= the bound, and nothing was lost, unanswered or
wrong.

usage: knee.py holds PROBE.json P99_MS      exit 0 if the probe held
       knee.py summary RUN_DIR              writes RUN_DIR/knee.json from the
                                            knee-*.json probes found there
"""
import glob
import json
import os
import re
import sys

# The generator must have sent at least this share of the offered rate.
OFFERED_SHARE = 0.9


def load(path):
    with open(path) as f:
        return json.load(f)


def probe_counts(p):
    """(sent, done, missing) of a relay or loadgen probe."""
    if "received" in p:  # lindung-relay
        return p["sent"], p["received"], p["lost"]
    return p["sent"], p["answered"], p["unanswered"] + p.get("wrong", 0)


def holds(p, p99_bound):
    sent, _, missing = probe_counts(p)
    offered = p["rate"] * p["duration_s"]
    return (missing == 0 and p["p99_ms"] <= p99_bound and offered > 0
            and sent >= OFFERED_SHARE * offered)


def cpu_per_scan(p):
    """CPU ms per answered scan by process, plus postgres, broker, total."""
    _, done, _ = probe_counts(p)
    procs = p.get("cpu", {}).get("processes", {})
    if not done or not procs:
        return None
    out = {}
    for name, proc in procs.items():
        if name == "self":
            continue
        short = name[len("lindung-"):] if name.startswith("lindung-") else name
        key = "broker" if short in ("kafka", "devbroker") else short
        out[key] = round(out.get(key, 0) + proc["cpu_ms"] / done, 4)
    out["services"] = round(sum(v for k, v in out.items() if k not in ("broker", "postgres")), 4)
    out["total"] = round(out["services"] + out.get("broker", 0) + out.get("postgres", 0), 4)
    return out


def per_scan(after, before, scans, skip=()):
    """What each counter grew by, per scan; counters that did not grow left out."""
    out = {}
    for name, count in after.items():
        delta = count - before.get(name, 0)
        if name not in skip and delta > 0:
            out[name] = round(delta / scans, 3)
    return out


def broker_requests_per_scan(before_path, after_path, scans):
    """Requests the real broker handled per answered scan, by type, between
    two BrokerRequests snapshots (deploy/kafka/BrokerRequests.java); None
    without both (the devbroker has no such counters)."""
    if not scans or not (os.path.exists(before_path) and os.path.exists(after_path)):
        return None
    before, after = load(before_path), load(after_path)
    # Kafka meters FetchConsumer and FetchFollower besides their sum, Fetch.
    out = per_scan(after["requests"], before["requests"], scans, skip=("FetchConsumer", "FetchFollower"))
    out["total"] = round(sum(out.values()), 3)
    out["records_appended"] = round((after["records_in"] - before["records_in"]) / scans, 3)
    # Error answers by "request/ERROR" (CONCURRENT_TRANSACTIONS costs a
    # transactional client a 20 ms back-off); older snapshots have none.
    out["error_answers"] = per_scan(after.get("errors", {}), before.get("errors", {}), scans)
    return out


def summary(run_dir, p99_bound):
    result = {"p99_bound_ms": p99_bound}
    for kind in ("relay", "scan"):
        probes = []
        for path in glob.glob(os.path.join(run_dir, "knee-%s-*.json" % kind)):
            p = load(path)
            sent, done, missing = probe_counts(p)
            probes.append({"rate": p["rate"], "sent": sent, "done": done, "missing": missing,
                           "p50_ms": p["p50_ms"], "p99_ms": p["p99_ms"], "p999_ms": p["p999_ms"],
                           "holds": holds(p, p99_bound)})
        probes.sort(key=lambda x: x["rate"])
        held = [x["rate"] for x in probes if x["holds"]]
        result[kind] = {"knee": max(held) if held else 0, "probes": probes}
    at_rate = []
    for path in sorted(glob.glob(os.path.join(run_dir, "at-[0-9]*[0-9].json")),
                       key=lambda s: int(re.findall(r"at-(\d+)", s)[0])):
        p = load(path)
        entry = {"rate": p["rate"], "p50_ms": p["p50_ms"], "p99_ms": p["p99_ms"],
                 "p999_ms": p["p999_ms"], "unanswered": p["unanswered"], "wrong": p["wrong"],
                 "achieved_per_s": p["scans_per_s"]}
        cpu = cpu_per_scan(p)
        if cpu:
            entry["cpu_ms_per_scan"] = cpu
        stem = path[:-len(".json")]
        requests = broker_requests_per_scan(stem + "-broker-before.json", stem + "-broker-after.json",
                                            probe_counts(p)[1])
        if requests:
            entry["broker_requests_per_scan"] = requests
        at_rate.append(entry)
    result["at_rate"] = at_rate
    with open(os.path.join(run_dir, "knee.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    # Offered rate against p99, one block per kind, for knee.gp.
    with open(os.path.join(run_dir, "knee.dat"), "w") as f:
        for kind in ("relay", "scan"):
            f.write("# %s: offered_rate p99_ms holds\n" % kind)
            for x in result[kind]["probes"]:
                f.write("%s %s %d\n" % (x["rate"], x["p99_ms"], 1 if x["holds"] else 0))
            f.write("\n\n")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "holds":
        return 0 if holds(load(sys.argv[2]), float(sys.argv[3])) else 1
    if len(sys.argv) == 4 and sys.argv[1] == "summary":
        summary(sys.argv[2], float(sys.argv[3]))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
