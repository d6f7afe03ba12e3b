#!/usr/bin/env python3
"""scripts/bench.d/report.py: three runs fold into result.json in the issue's
shape, with medians of the figures, the worst run's wrong/unanswered counts,
every run kept and the spread; summary.md and the plot data are written; the
exit status says whether any answer was wrong or missing."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(HERE, "..", "..", "..", "scripts", "bench.d", "report.py")
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures += 1


def cpu(procs):
    return {"elapsed_s": 10, "cpus": 2, "machine_busy_pct": 90.0, "other_busy_pct": 10.0,
            "loadavg_1m": 1.0,
            "processes": {n: {"cpu_ms": ms, "peak_rss_kib": 20480} for n, ms in procs.items()}}


def write_run(root, i, base_rate, scan_rate, p99, unanswered):
    d = os.path.join(root, "run-%d" % i)
    os.makedirs(d)
    seconds = [100, 100]
    lat = [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    cdf = [[0.5, 5.0], [0.99, p99], [1.0, p99 * 2]]
    json.dump({"run": i, "loadavg_before": 0.5, "settings": {"partitions": 4}},
              open(os.path.join(d, "meta.json"), "w"))
    json.dump({"hops": 3, "mode": "closed", "concurrency": 512, "sent": 100, "received": 100,
               "lost": 0, "msgs_per_s": base_rate, "p50_ms": 1, "p99_ms": 2,
               "value_sizes": [160, 175, 616, 120], "per_second": seconds,
               "cpu": cpu({"relay-1": 100, "relay-2": 100, "relay-3": 100,
                           "lindung-devbroker": 50})},
              open(os.path.join(d, "baseline.json"), "w"))
    for name, extra in (("closed", {"scans_per_s": scan_rate, "unanswered": 0}),
                        ("fixed", {"scans_per_s": 2000, "unanswered": unanswered})):
        doc = {"mode": name, "rate": 2000 if name == "fixed" else 0, "concurrency": 512,
               "duration_s": 10.0, "sent": 20000, "answered": 20000, "wrong": 0,
               "p50_ms": 5.0, "p90_ms": 8.0, "p99_ms": p99, "p999_ms": p99 * 2, "max_ms": p99 * 3,
               "per_second": seconds, "sent_per_second": seconds,
               "latency_per_second_ms": lat, "latency_cdf_ms": cdf,
               "cpu": cpu({"lindung-ingest": 1000, "lindung-decrypt": 2000,
                           "lindung-status-resolver": 3000, "lindung-audit": 4000,
                           "lindung-devbroker": 5000, "postgres": 6000, "self": 700})}
        doc.update(extra)
        json.dump(doc, open(os.path.join(d, name + ".json"), "w"))
    open(os.path.join(d, "fixed.hist"), "w").write("5000 10\n20000 1\n")
    return d


def write_broker_requests(d, produce, refused):
    """BrokerRequests snapshots around the fixed rate (20,000 scans); the
    'before' one in the older shape, without error meters."""
    json.dump({"records_in": 100, "requests": {"Produce": 10, "FetchConsumer": 5, "Fetch": 5}},
              open(os.path.join(d, "fixed-broker-before.json"), "w"))
    json.dump({"records_in": 100 + 20000 * 10,
               "requests": {"Produce": 10 + produce, "FetchConsumer": 9, "Fetch": 9},
               "errors": {"AddPartitionsToTxn/CONCURRENT_TRANSACTIONS": refused}},
              open(os.path.join(d, "fixed-broker-after.json"), "w"))


with tempfile.TemporaryDirectory() as root:
    runs = [write_run(root, 1, 10000.0, 3000.0, 20.0, 0),
            write_run(root, 2, 12000.0, 2000.0, 30.0, 0),
            write_run(root, 3, 11000.0, 4000.0, 25.0, 0)]
    for d, produce, refused in zip(runs, (40000, 60000, 80000), (2000, 4000, 6000)):
        write_broker_requests(d, produce, refused)
    rc = subprocess.run([sys.executable, REPORT, root] + runs).returncode
    check(rc == 0, "exit 0 when every answer came and was right")
    result = json.load(open(os.path.join(root, "result.json")))
    check(result["baseline"]["hops"] == 3 and result["baseline"]["msgs_per_s"] == 11000.0,
          "baseline: hops and the median rate")
    check(result["pipeline"]["scans_per_s"] == 3000.0, "pipeline: the median rate")
    check(abs(result["ratio"] - 0.3) < 1e-9, "ratio: the median of the runs' ratios (0.3, 0.1667, 0.3636)")
    fr = result["fixed_rate"]
    check(fr["rate"] == 2000 and fr["p99_ms"] == 25.0 and fr["p999_ms"] == 50.0,
          "fixed_rate: rate and median quantiles")
    check(result["services"]["status-resolver"]["cpu_ms_per_1000_scans"] == 150.0,
          "services: CPU ms per 1000 scans (3000 ms / 20000 scans)")
    check(result["services"]["audit"]["peak_rss_mib"] == 20.0, "services: peak RSS in MiB")
    check(set(result["services"]) == {"ingest", "decrypt", "status-resolver", "audit"},
          "services named without the lindung- prefix; broker and PostgreSQL kept apart")
    check(result["infrastructure"]["devbroker"]["cpu_ms_per_1000_scans"] == 250.0,
          "infrastructure: the broker's CPU per 1000 scans")
    check(len(result["runs"]) == 3 and result["noise"]["pipeline.scans_per_s"]["min"] == 2000.0,
          "every run kept, with the spread")
    requests = result["broker_requests_per_scan"]
    check(requests["Produce"] == 3.0 and requests["records_appended"] == 10.0
          and "FetchConsumer" not in requests,
          "broker requests per scan: medians by type (Fetch's parts left out)")
    check(requests["error_answers"] == {"AddPartitionsToTxn/CONCURRENT_TRANSACTIONS": 0.2},
          "broker error answers per scan: the median, from snapshots with and without error meters")
    summary = open(os.path.join(root, "summary.md")).read()
    check("Error answers per scan: AddPartitionsToTxn/CONCURRENT_TRANSACTIONS 0.2" in summary,
          "summary.md names the error answers")
    check(os.path.getsize(os.path.join(root, "summary.md")) > 500, "summary.md written")
    check(open(os.path.join(root, "latency_cdf.dat")).read().count("# run") == 3,
          "plot data: one block per run")

with tempfile.TemporaryDirectory() as root:
    runs = [write_run(root, 1, 10000.0, 3000.0, 20.0, 0), write_run(root, 2, 10000.0, 3000.0, 20.0, 7)]
    rc = subprocess.run([sys.executable, REPORT, root] + runs, stdout=subprocess.DEVNULL).returncode
    result = json.load(open(os.path.join(root, "result.json")))
    check(result["fixed_rate"]["unanswered"] == 7, "unanswered: the worst run's count, not a median")
    check(rc == 1, "exit 1 when a scan went unanswered")

sys.exit(1 if failures else 0)
