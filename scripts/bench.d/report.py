#!/usr/bin/env python3
"""scripts/bench's report: folds the JSON of each run's phases into
result.json (the issue's shape: medians over the runs, plus every run and the
spread), summary.md, and the data files the gnuplot scripts draw.

usage: report.py OUT_DIR RUN_DIR...   (each RUN_DIR holds baseline.json,
closed.json, fixed.json, fixed.hist and meta.json written by scripts/bench)
       report.py --beside OUT_DIR KAFKA_DIR MOCK_DIR
                 (OUT_DIR/result.json: the real broker's result with the mock's
                 under "mock"; summary.md: the real broker's, then both side by side)
"""
import json
import os
import statistics
import sys

from knee import broker_requests_per_scan

SERVICES = ["ingest", "decrypt", "status-resolver", "audit", "revocation"]
INFRA = {"lindung-devbroker": "devbroker", "lindung-kafka": "kafka", "postgres": "postgres",
         "self": "loadgen"}
GOALS = {"ratio": 0.25, "p99_ms": 25.0, "p999_ms": 100.0, "peak_rss_mib": 64.0}


def load(path):
    with open(path) as f:
        return json.load(f)


def per_1000(cpu_ms, count):
    return round(cpu_ms * 1000.0 / count, 1) if count else None


def one_run(run_dir):
    meta = load(os.path.join(run_dir, "meta.json"))
    base = load(os.path.join(run_dir, "baseline.json"))
    closed = load(os.path.join(run_dir, "closed.json"))
    fixed = load(os.path.join(run_dir, "fixed.json"))
    services = {}
    infra = {}
    fixed_procs = fixed.get("cpu", {}).get("processes", {})
    closed_procs = closed.get("cpu", {}).get("processes", {})
    for name, proc in fixed_procs.items():
        short = name[len("lindung-"):] if name.startswith("lindung-") else name
        entry = {
            "cpu_ms_per_1000_scans": per_1000(proc["cpu_ms"], fixed["answered"]),
            "cpu_ms_per_1000_scans_at_max": per_1000(
                closed_procs.get(name, {}).get("cpu_ms", 0), closed["answered"]),
            # The fixed rate runs on a stack of its own: the peak is the
            # larger of the two stacks' peaks.
            "peak_rss_mib": round(max(proc["peak_rss_kib"],
                                      closed_procs.get(name, {}).get("peak_rss_kib", 0)) / 1024.0, 1),
        }
        if short in SERVICES:
            services[short] = entry
        elif name in INFRA:
            infra[INFRA[name]] = entry
    base_procs = base.get("cpu", {}).get("processes", {})
    relay_cpu = sum(p["cpu_ms"] for n, p in base_procs.items() if n.startswith("relay-"))
    broker_cpu = sum(base_procs.get(name, {}).get("cpu_ms", 0)
                     for name in ("lindung-devbroker", "lindung-kafka"))
    result = {
        "baseline": {
            "hops": base["hops"],
            "msgs_per_s": base["msgs_per_s"],
            "lost": base["lost"],
            "concurrency": base["concurrency"],
            "p50_ms": base["p50_ms"],
            "p99_ms": base["p99_ms"],
            "value_sizes": base["value_sizes"],
            "relays_cpu_ms_per_1000_msgs": per_1000(relay_cpu, base["received"]),
            "broker_cpu_ms_per_1000_msgs": per_1000(broker_cpu, base["received"]),
        },
        "pipeline": {
            "scans_per_s": closed["scans_per_s"],
            "wrong": closed["wrong"],
            "unanswered": closed["unanswered"],
            "concurrency": closed["concurrency"],
            "p50_ms": closed["p50_ms"],
            "p99_ms": closed["p99_ms"],
        },
        "ratio": round(closed["scans_per_s"] / base["msgs_per_s"], 4) if base["msgs_per_s"] else 0,
        "fixed_rate": {
            "rate": fixed["rate"],
            "duration_s": round(fixed["duration_s"], 1),
            "sent": fixed["sent"],
            "answered": fixed["answered"],
            "achieved_per_s": fixed["scans_per_s"],
            "p50_ms": fixed["p50_ms"],
            "p90_ms": fixed["p90_ms"],
            "p99_ms": fixed["p99_ms"],
            "p999_ms": fixed["p999_ms"],
            "max_ms": fixed["max_ms"],
            "wrong": fixed["wrong"],
            "unanswered": fixed["unanswered"],
        },
        "services": services,
        "infrastructure": infra,
        "broker_requests_per_scan": broker_requests_per_scan(
            os.path.join(run_dir, "fixed-broker-before.json"),
            os.path.join(run_dir, "fixed-broker-after.json"), fixed["answered"]),
        "machine": {
            "cpus": fixed.get("cpu", {}).get("cpus"),
            "loadavg_1m_before": meta.get("loadavg_before"),
            "other_busy_pct": {
                "baseline": base.get("cpu", {}).get("other_busy_pct"),
                "max": closed.get("cpu", {}).get("other_busy_pct"),
                "fixed_rate": fixed.get("cpu", {}).get("other_busy_pct"),
            },
            "machine_busy_pct": {
                "baseline": base.get("cpu", {}).get("machine_busy_pct"),
                "max": closed.get("cpu", {}).get("machine_busy_pct"),
                "fixed_rate": fixed.get("cpu", {}).get("machine_busy_pct"),
            },
        },
        "settings": meta.get("settings", {}),
        "broker": meta.get("broker", "mock"),
    }
    knee_path = os.path.join(run_dir, "knee.json")
    if os.path.exists(knee_path):
        knee = load(knee_path)
        relay, scan = knee["relay"]["knee"], knee["scan"]["knee"]
        result["knee"] = {"relay_msgs_per_s": relay, "pipeline_scans_per_s": scan,
                          "ratio": round(scan / relay, 4) if relay else 0,
                          "p99_bound_ms": knee["p99_bound_ms"],
                          "probes": {"relay": knee["relay"]["probes"], "scan": knee["scan"]["probes"]}}
        result["at_rate"] = knee["at_rate"]
        # CPU per scan at the lowest measured rate (1,000/s in a full run):
        # the goal is stated there.
        with_cpu = [a for a in knee["at_rate"] if "cpu_ms_per_scan" in a]
        if with_cpu:
            result["cpu_ms_per_scan"] = dict(with_cpu[0]["cpu_ms_per_scan"], at_rate=with_cpu[0]["rate"])
    return result, closed, fixed, base


def median_of(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    med = statistics.median(values)
    return {"median": med, "min": min(values), "max": max(values),
            "spread_pct": round(100.0 * (max(values) - min(values)) / med, 1) if med else None}


def largest_first(counts):
    """The numeric entries of counts, largest first (medians over runs can be
    None; nested objects are not counts)."""
    return sorted(((k, v) for k, v in counts.items() if isinstance(v, (int, float))),
                  key=lambda kv: -kv[1])


def path_get(d, path):
    for key in path:
        if d is None:
            return None
        d = d.get(key)
    return d


def merge(runs):
    """Medians over the runs, in the shape of one run; counts (wrong,
    unanswered, lost) are the worst run's, never a median."""
    first = runs[0]
    out = json.loads(json.dumps(first))

    def walk(node, path):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, path + [key])
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                values = [path_get(r, path + [key]) for r in runs]
                if key in ("wrong", "unanswered", "lost"):
                    node[key] = max(v for v in values if v is not None)
                else:
                    m = median_of(values)
                    node[key] = round(m, 4) if isinstance(m, float) else m
    walk(out, [])
    out["ratio"] = round(median_of([r["ratio"] for r in runs]), 4)
    # Lists are per rate: the median of each rate's figures over the runs.
    if all("at_rate" in r for r in runs):
        for i, entry in enumerate(out["at_rate"]):
            for key, value in entry.items():
                if key == "unanswered" or key == "wrong":
                    entry[key] = max(r["at_rate"][i][key] for r in runs)
                elif isinstance(value, (int, float)) and key != "rate":
                    entry[key] = median_of([r["at_rate"][i][key] for r in runs])
    return out


def write_series(out_dir, closeds, fixeds, bases):
    with open(os.path.join(out_dir, "throughput.dat"), "w") as f:
        f.write("# second  fixed_answered fixed_sent fixed_p50_ms fixed_p99_ms  "
                "max_answered baseline_msgs  (one block per run)\n")
        for i, (closed, fixed, base) in enumerate(zip(closeds, fixeds, bases)):
            f.write("# run %d\n" % (i + 1))
            n = max(len(fixed["per_second"]), len(closed["per_second"]), len(base["per_second"]))
            for s in range(n):
                lat = fixed["latency_per_second_ms"][s] if s < len(fixed["latency_per_second_ms"]) else ["NaN"] * 3
                row = [s + 1,
                       fixed["per_second"][s] if s < len(fixed["per_second"]) else "NaN",
                       fixed["sent_per_second"][s] if s < len(fixed["sent_per_second"]) else "NaN",
                       lat[0], lat[1],
                       closed["per_second"][s] if s < len(closed["per_second"]) else "NaN",
                       base["per_second"][s] if s < len(base["per_second"]) else "NaN"]
                f.write(" ".join(str(v) for v in row) + "\n")
            f.write("\n\n")
    with open(os.path.join(out_dir, "latency_cdf.dat"), "w") as f:
        f.write("# quantile latency_ms 1/(1-quantile)  (one block per run)\n")
        for i, fixed in enumerate(fixeds):
            f.write("# run %d\n" % (i + 1))
            for q, ms in fixed["latency_cdf_ms"]:
                x = 1.0 / (1.0 - q) if q < 1.0 else 1e5
                f.write("%s %s %s\n" % (q, ms, x))
            f.write("\n\n")


def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%%.%df" % digits) % v
    return str(v)


def mark(ok):
    return "yes" if ok else "**no**"


def broker_label(runs):
    broker = runs[0].get("broker", "mock") if runs else "mock"
    return ("Apache Kafka, single KRaft node, mutual TLS and ACLs" if broker == "kafka"
            else "lindung-devbroker, librdkafka's mock cluster")


def knee_summary(result):
    """The knee section of summary.md (empty without a knee search)."""
    if "knee" not in result:
        return []
    k = result["knee"]
    lines = ["", "## Knee: highest fixed rate with p99 <= %s ms and nothing lost" % fmt(k["p99_bound_ms"], 0), "",
             "| | rate/s | goal | met |", "|---|---|---|---|",
             "| relay chain | %s | | |" % fmt(k["relay_msgs_per_s"], 0),
             "| scan path | %s | >= 2000 | %s |" % (fmt(k["pipeline_scans_per_s"], 0),
                                                    mark(k["pipeline_scans_per_s"] >= 2000)),
             "| ratio | %s | >= 0.5 | %s |" % (fmt(k["ratio"], 3), mark(k["ratio"] >= 0.5)), "",
             "| offered scans/s | p50 ms | p99 ms | p99.9 ms | unanswered | CPU ms/scan (total) |",
             "|---|---|---|---|---|---|"]
    for a in result.get("at_rate", []):
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            fmt(a["rate"], 0), fmt(a["p50_ms"]), fmt(a["p99_ms"]), fmt(a["p999_ms"]), a["unanswered"],
            fmt(a.get("cpu_ms_per_scan", {}).get("total"), 3)))
    cpu = result.get("cpu_ms_per_scan")
    if cpu:
        lines += ["", "CPU ms per scan at %s/s: " % fmt(cpu["at_rate"], 0) + ", ".join(
            "%s %s" % (k2, fmt(v, 3)) for k2, v in sorted(cpu.items()) if k2 != "at_rate")]
    return lines


def summary(out_dir, result, runs, noise):
    fr = result["fixed_rate"]
    lines = []
    lines.append("# Lindung benchmark\n")
    lines.append("Embedded stack (%s, PostgreSQL, every service with audit), "
                 "%s run(s); figures are medians over the runs, counts of wrong/unanswered/lost "
                 "the worst run's.\n" % (broker_label(runs), len(runs)))
    lines.append("| goal | target | measured | met |")
    lines.append("| --- | --- | --- | --- |")
    lines.append("| ratio pipeline / relay chain | >= %.2f | %.3f | %s |" % (
        GOALS["ratio"], result["ratio"], mark(result["ratio"] >= GOALS["ratio"])))
    lines.append("| p99 at %d scans/s | <= %.0f ms | %s ms | %s |" % (
        fr["rate"], GOALS["p99_ms"], fmt(fr["p99_ms"]), mark(fr["p99_ms"] <= GOALS["p99_ms"])))
    lines.append("| p99.9 at %d scans/s | <= %.0f ms | %s ms | %s |" % (
        fr["rate"], GOALS["p999_ms"], fmt(fr["p999_ms"]), mark(fr["p999_ms"] <= GOALS["p999_ms"])))
    worst_wrong = result["pipeline"]["wrong"] + fr["wrong"]
    worst_unanswered = result["pipeline"]["unanswered"] + fr["unanswered"]
    lines.append("| wrong answers | 0 | %d | %s |" % (worst_wrong, mark(worst_wrong == 0)))
    lines.append("| unanswered | 0 | %d | %s |" % (worst_unanswered, mark(worst_unanswered == 0)))
    peak = max((s["peak_rss_mib"] for s in result["services"].values()), default=0)
    lines.append("| largest service peak RSS | <= %.0f MiB | %.1f MiB | %s |\n" % (
        GOALS["peak_rss_mib"], peak, mark(peak <= GOALS["peak_rss_mib"])))

    b = result["baseline"]
    p = result["pipeline"]
    lines.append("## Throughput (closed loop, %d in flight)\n" % p["concurrency"])
    lines.append("| | per second | p50 ms | p99 ms |")
    lines.append("| --- | --- | --- | --- |")
    lines.append("| relay chain, %d hops (values %s bytes) | %s | %s | %s |" % (
        b["hops"], "/".join(str(s) for s in b["value_sizes"]), fmt(b["msgs_per_s"], 0),
        fmt(b["p50_ms"]), fmt(b["p99_ms"])))
    lines.append("| scan path | %s | %s | %s |\n" % (fmt(p["scans_per_s"], 0), fmt(p["p50_ms"]),
                                                      fmt(p["p99_ms"])))
    lines.append("## Fixed rate: %d scans/s for %s s (Poisson arrivals)\n" % (fr["rate"], fr["duration_s"]))
    lines.append("| answered/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | wrong | unanswered |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    lines.append("| %s | %s | %s | %s | %s | %s | %d | %d |\n" % (
        fmt(fr["achieved_per_s"], 0), fmt(fr["p50_ms"]), fmt(fr["p90_ms"]), fmt(fr["p99_ms"]),
        fmt(fr["p999_ms"]), fmt(fr["max_ms"]), fr["wrong"], fr["unanswered"]))
    lines += knee_summary(result)
    lines.append("")
    lines.append("## CPU and memory per process\n")
    lines.append("CPU time (user + system, all threads) per 1000 scans, at the fixed rate and at "
                 "the maximum; peak RSS is VmHWM at the end.\n")
    lines.append("| process | CPU ms / 1000 scans (fixed) | (max) | peak RSS MiB |")
    lines.append("| --- | --- | --- | --- |")
    for name, s in sorted(result["services"].items()):
        lines.append("| %s | %s | %s | %s |" % (name, fmt(s["cpu_ms_per_1000_scans"]),
                                               fmt(s["cpu_ms_per_1000_scans_at_max"]),
                                               fmt(s["peak_rss_mib"])))
    for name, s in sorted(result["infrastructure"].items()):
        lines.append("| (%s) | %s | %s | %s |" % (name, fmt(s["cpu_ms_per_1000_scans"]),
                                                 fmt(s["cpu_ms_per_1000_scans_at_max"]),
                                                 fmt(s["peak_rss_mib"])))
    requests = result.get("broker_requests_per_scan")
    if requests:
        lines.append("\nBroker requests per scan at the fixed rate: %s total (%s); %s records "
                     "appended per scan (transaction markers and internal topics included)." % (
                         fmt(requests["total"], 2),
                         ", ".join("%s %s" % (k, fmt(v, 2)) for k, v in largest_first(requests)
                                   if k not in ("total", "records_appended") and v >= 0.01),
                         fmt(requests["records_appended"], 2)))
        lines.append("Error answers per scan: %s." % (", ".join(
            "%s %s" % (k, fmt(v, 3)) for k, v in largest_first(requests.get("error_answers") or {}))
            or "none"))
    lines.append("\nRelay chain: relays %s ms and the broker %s ms of CPU per 1000 messages.\n" % (
        fmt(b["relays_cpu_ms_per_1000_msgs"]), fmt(b["broker_cpu_ms_per_1000_msgs"])))
    lines.append("## Machine and noise\n")
    m = result["machine"]
    lines.append("%s CPUs. Share of all CPU time used by processes outside the benchmark "
                 "(other helpers, builds): baseline %s%%, maximum %s%%, fixed rate %s%% "
                 "(medians); load average before the runs: %s.\n" % (
                     m["cpus"], fmt(m["other_busy_pct"]["baseline"]), fmt(m["other_busy_pct"]["max"]),
                     fmt(m["other_busy_pct"]["fixed_rate"]),
                     ", ".join(fmt(r["machine"]["loadavg_1m_before"], 2) for r in runs)))
    if len(runs) > 1:
        lines.append("| figure | median | min | max | spread |")
        lines.append("| --- | --- | --- | --- | --- |")
        for name, s in noise.items():
            if s:
                lines.append("| %s | %s | %s | %s | %s%% |" % (name, fmt(s["median"], 3), fmt(s["min"], 3),
                                                            fmt(s["max"], 3), fmt(s["spread_pct"])))
        lines.append("")
    lines.append("Plots: latency.png (fixed-rate latency distribution), throughput.png (answers "
                 "per second and latency over time)%s." % (
                     ", knee.png (p99 against offered rate)" if "knee" in result else ""))
    with open(os.path.join(out_dir, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def beside(out_dir, kafka_dir, mock_dir):
    kafka = load(os.path.join(kafka_dir, "result.json"))
    mock = load(os.path.join(mock_dir, "result.json"))
    result = dict(kafka, mock=mock)
    with open(os.path.join(out_dir, "result.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    rows = [
        ("relay chain, msgs/s (closed loop)", ["baseline", "msgs_per_s"], 0),
        ("relay chain p99 ms", ["baseline", "p99_ms"], 1),
        ("broker CPU ms / 1000 relayed msgs", ["baseline", "broker_cpu_ms_per_1000_msgs"], 1),
        ("scan path, scans/s (closed loop)", ["pipeline", "scans_per_s"], 0),
        ("scan path p50 ms (closed loop)", ["pipeline", "p50_ms"], 1),
        ("scan path p99 ms (closed loop)", ["pipeline", "p99_ms"], 1),
        ("ratio scan path / relay chain", ["ratio"], 3),
        ("fixed rate: answered/s", ["fixed_rate", "achieved_per_s"], 0),
        ("fixed rate p50 ms", ["fixed_rate", "p50_ms"], 1),
        ("fixed rate p99 ms", ["fixed_rate", "p99_ms"], 1),
        ("fixed rate p99.9 ms", ["fixed_rate", "p999_ms"], 1),
        ("wrong / unanswered", None, 0),
    ]
    lines = [open(os.path.join(kafka_dir, "summary.md")).read().rstrip("\n"), "",
             "## Real broker beside the mock\n",
             "The same benchmark on Apache Kafka (single KRaft node, mutual TLS, ACLs) and on "
             "lindung-devbroker (librdkafka's mock cluster), %d run(s) each.\n"
             % len(kafka.get("runs", [])),
             "| figure | Apache Kafka | lindung-devbroker |", "| --- | --- | --- |"]
    for label, path, digits in rows:
        if path is None:
            cells = ["%d / %d" % (r["pipeline"]["wrong"] + r["fixed_rate"]["wrong"],
                                  r["pipeline"]["unanswered"] + r["fixed_rate"]["unanswered"])
                     for r in (kafka, mock)]
        else:
            cells = [fmt(path_get(r, path), digits) for r in (kafka, mock)]
        lines.append("| %s | %s | %s |" % (label, cells[0], cells[1]))
    procs = sorted(set(kafka["services"]) | set(kafka["infrastructure"]) |
                   set(mock["infrastructure"]))
    lines.append("\nCPU ms per 1000 scans at the fixed rate:\n")
    lines.append("| process | Apache Kafka | lindung-devbroker |")
    lines.append("| --- | --- | --- |")
    for name in procs:
        cells = []
        for r in (kafka, mock):
            entry = r["services"].get(name) or r["infrastructure"].get(name) or {}
            cells.append(fmt(entry.get("cpu_ms_per_1000_scans")))
        lines.append("| %s | %s | %s |" % (name, cells[0], cells[1]))
    with open(os.path.join(out_dir, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    bad = sum(r["pipeline"]["wrong"] + r["pipeline"]["unanswered"] + r["fixed_rate"]["wrong"] +
              r["fixed_rate"]["unanswered"] for r in (kafka, mock))
    return 1 if bad else 0


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--beside":
        return beside(*sys.argv[2:])
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    out_dir = sys.argv[1]
    runs, closeds, fixeds, bases = [], [], [], []
    for run_dir in sys.argv[2:]:
        r, c, f, b = one_run(run_dir)
        runs.append(r)
        closeds.append(c)
        fixeds.append(f)
        bases.append(b)
    result = merge(runs)
    noise = {
        "baseline.msgs_per_s": spread([r["baseline"]["msgs_per_s"] for r in runs]),
        "pipeline.scans_per_s": spread([r["pipeline"]["scans_per_s"] for r in runs]),
        "ratio": spread([r["ratio"] for r in runs]),
        "knee.relay_msgs_per_s": spread([path_get(r, ["knee", "relay_msgs_per_s"]) for r in runs]),
        "knee.pipeline_scans_per_s": spread([path_get(r, ["knee", "pipeline_scans_per_s"]) for r in runs]),
        "fixed_rate.p50_ms": spread([r["fixed_rate"]["p50_ms"] for r in runs]),
        "fixed_rate.p99_ms": spread([r["fixed_rate"]["p99_ms"] for r in runs]),
        "fixed_rate.p999_ms": spread([r["fixed_rate"]["p999_ms"] for r in runs]),
    }
    result["runs"] = runs
    result["noise"] = noise
    with open(os.path.join(out_dir, "result.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    write_series(out_dir, closeds, fixeds, bases)
    summary(out_dir, result, runs, noise)
    bad = result["pipeline"]["wrong"] + result["pipeline"]["unanswered"] + \
        result["fixed_rate"]["wrong"] + result["fixed_rate"]["unanswered"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
