#!/usr/bin/env python3
"""Compares the sets of a scripts/faults run and writes result.json and plot.svg.

Reads, in the run's folder: start_ms, sent.tsv and answers.tsv (lindung-faults),
faults.tsv (the schedule: kind, target, at_ms, end_ms), audit_db.tsv (request id,
stage, outcome, seq of every record in the audit database), audit_log.jsonl
(lindung-audit-tail as the analyst), verify.txt (exit status of `lindung-audit
verify` on the database and on a capture of audit.log, one per line), and
stack.log (the supervisor's restarts). Exit status 1 when a goal fails.
"""
import collections
import json
import math
import os
import sys

ANSWERING_OUTCOMES = {"2", "3", "answered", "rejected"}


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def recovery(fault, sent_times, first_answer):
    """Seconds from the fault until answers flow as before it: until every
    request sent in the second after it ended (at least 5) was answered, less
    the usual delay then (the median latency of the 5 s before the fault), so
    that a backlog the stack was already working off does not count as the
    fault's. None if one of those requests never got an answer, or if no
    request was sent after the fault."""
    at, end = fault["at_ms"], fault["end_ms"]
    window = [(t, rid) for t, rid in sent_times if end <= t < end + 1000]
    if len(window) < 5:
        window = [(t, rid) for t, rid in sent_times if t >= end][:5]
    if not window or any(rid not in first_answer for _, rid in window):
        return None
    before = [first_answer[rid] - t for t, rid in sent_times if at - 5000 <= t < at and rid in first_answer]
    usual = percentile(before, 0.5) or 0
    slowest = max(first_answer[rid] - t for t, rid in window)
    return round(max(end - at, end - at + slowest - usual) / 1000, 3)


def supervisor_restarts(path, start_ms):
    """(ms, instance) of every restart the supervisor logged."""
    import datetime
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) > 2 and parts[1] == "restart":
                stamp = datetime.datetime.strptime(parts[0], "%Y-%m-%dT%H:%M:%S.%fZ")
                ms = int(stamp.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
                if ms >= start_ms:
                    out.append((ms, parts[2]))
    return out


def svg_plot(path, start_ms, sent_times, first_answer, answers, faults):
    seconds = 1 + max([int((t - start_ms) / 1000) for t in [s for s, _ in sent_times] + list(first_answer.values())] or [0])
    sent_ps = [0] * seconds
    first_ps = [0] * seconds
    all_ps = [0] * seconds
    for t, _ in sent_times:
        sent_ps[max(0, int((t - start_ms) / 1000))] += 1
    for t in first_answer.values():
        first_ps[max(0, int((t - start_ms) / 1000))] += 1
    for row in answers:
        all_ps[max(0, min(seconds - 1, int((int(row[0]) - start_ms) / 1000)))] += 1
    width, height, left, bottom, top = 1200, 420, 60, 40, 60
    peak = max(all_ps + sent_ps + [1])
    sx = (width - left - 20) / max(seconds, 1)
    sy = (height - bottom - top) / peak

    def pt(i, v):
        return f"{left + (i + 0.5) * sx:.1f},{height - bottom - v * sy:.1f}"

    colours = {"kill": "#d62728", "broker_kill": "#9467bd", "pg_restart": "#8c564b",
               "pg_outage": "#e377c2", "broker_pause": "#ff7f0e"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14">Answers per second under faults (first answers, all deliveries, requests sent)</text>']
    for f in faults:
        x0 = left + (f["at_ms"] - start_ms) / 1000 * sx
        x1 = left + (f["end_ms"] - start_ms) / 1000 * sx
        c = colours.get(f["kind"], "#7f7f7f")
        if x1 - x0 > 1:
            out.append(f'<rect x="{x0:.1f}" y="{top}" width="{x1 - x0:.1f}" height="{height - bottom - top}" fill="{c}" opacity="0.15"/>')
        out.append(f'<line x1="{x0:.1f}" y1="{top}" x2="{x0:.1f}" y2="{height - bottom}" stroke="{c}" stroke-dasharray="3,2"/>')
        label = f["target"].replace("lindung-", "")
        out.append(f'<text transform="translate({x0 + 3:.1f},{top - 4}) rotate(-45)" fill="{c}">{f["kind"]} {label}</text>')
    for series, colour, name in ((sent_ps, "#1f77b4", "sent"), (all_ps, "#bbbbbb", "all deliveries"), (first_ps, "#2ca02c", "first answers")):
        points = " ".join(pt(i, v) for i, v in enumerate(series))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"><title>{name}</title></polyline>')
    out.append(f'<line x1="{left}" y1="{height - bottom}" x2="{width - 20}" y2="{height - bottom}" stroke="black"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>')
    for k in range(0, 6):
        v = peak * k / 5
        y = height - bottom - v * sy
        out.append(f'<text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end">{v:.0f}</text>')
    step = max(1, seconds // 12)
    for s in range(0, seconds, step):
        out.append(f'<text x="{left + s * sx:.1f}" y="{height - bottom + 15}" text-anchor="middle">{s} s</text>')
    legend = [("sent", "#1f77b4"), ("all deliveries", "#bbbbbb"), ("first answers", "#2ca02c")]
    for i, (name, colour) in enumerate(legend):
        out.append(f'<text x="{width - 300 + i * 100}" y="{height - 8}" fill="{colour}">— {name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    run = sys.argv[1]
    start_ms = int(open(os.path.join(run, "start_ms")).read())
    sent = read_tsv(os.path.join(run, "sent.tsv"))
    answers = read_tsv(os.path.join(run, "answers.tsv"))
    sent_ids = {row[1] for row in sent}
    sent_times = sorted((int(row[0]), row[1]) for row in sent)

    texts = collections.defaultdict(list)
    first_answer = {}
    judgements = {}
    for row in answers:
        t, rid, text, judgement = int(row[0]), row[1], row[3], row[4]
        texts[rid].append(text)
        if rid not in first_answer:
            first_answer[rid] = t
        judgements.setdefault(rid, set()).add(judgement)
    answered = sent_ids & set(texts)
    inconsistent = sum(1 for rid in answered if len(set(texts[rid])) > 1)
    wrong = sum(1 for rid in answered if "wrong" in judgements[rid])
    unavailable = sum(1 for rid in answered if "unavailable" in judgements[rid])
    duplicates = sum(len(texts[rid]) - len(set(texts[rid])) for rid in answered)  # copies of the same answer

    # The audit trail: one answering record per request id, in the database
    # and on audit.log, and never two records for one (request id, stage).
    db_answering = set()
    for row in read_tsv(os.path.join(run, "audit_db.tsv")):
        if len(row) >= 3 and row[2] in ANSWERING_OUTCOMES:
            db_answering.add(row[0])
    log_answering = set()
    log_seqs = collections.defaultdict(set)
    log_path = os.path.join(run, "audit_log.jsonl")
    if os.path.exists(log_path):
        with open(log_path) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                rid = record.get("request_id")
                if record.get("type") != "record" or rid not in sent_ids:
                    continue
                log_seqs[(rid, record.get("stage"))].add(record.get("seq"))
                if record.get("outcome") in ANSWERING_OUTCOMES:
                    log_answering.add(rid)
    audit_missing_db = len(answered - db_answering)
    audit_missing_log = len(answered - log_answering)
    audit_missing = len(answered - (db_answering & log_answering))
    audit_duplicate = len({rid for (rid, _), seqs in log_seqs.items() if len(seqs) > 1})
    verify = [line.strip() for line in open(os.path.join(run, "verify.txt"))] if os.path.exists(os.path.join(run, "verify.txt")) else []
    chain_verified = len(verify) == 2 and all(v == "0" for v in verify)

    # Where each wrong answer came from: its kind and answer, and for a
    # token Lindung no longer knows, when the Link that issued it was answered.
    wrong_kinds = collections.Counter()
    token_origin_s = []
    kind_of = {row[1]: row for row in sent}
    for row in answers:
        if row[4] != "wrong":
            continue
        request = kind_of.get(row[1])
        if not request:
            continue
        wrong_kinds[f"{request[3]} -> {row[3]}"] += 1
        if row[3] == "error:UNKNOWN_TOKEN" and len(request) > 4 and request[4] in first_answer:
            token_origin_s.append(round((first_answer[request[4]] - start_ms) / 1000, 3))

    faults = []
    for row in read_tsv(os.path.join(run, "faults.tsv")):
        faults.append({"kind": row[0], "target": row[1], "at_ms": int(row[2]), "end_ms": int(row[3])})
    restarts = supervisor_restarts(os.path.join(run, "stack.log"), start_ms)
    kill_resume = []
    out_faults = []
    for f in faults:
        f["recovered_s"] = recovery(f, sent_times, first_answer)
        out_faults.append({"kind": f["kind"], "target": f["target"],
                           "at_s": round((f["at_ms"] - start_ms) / 1000, 3), "recovered_s": f["recovered_s"]})
    # A service killed while the broker or the database is still away cannot
    # answer before they are back: such a kill's resumption is counted from
    # the moment the outage it fell into had recovered (both figures kept).
    outages = [(f["at_ms"], f["at_ms"] + f["recovered_s"] * 1000, f["kind"]) for f in faults
               if f["kind"] != "kill" and f["recovered_s"] is not None]
    for f in faults:
        if f["kind"] != "kill":
            continue
        recovered = f["recovered_s"]
        restarted = next((ms for ms, inst in restarts if inst == f["target"] and ms >= f["at_ms"]), None)
        entry = {"target": f["target"], "at_s": round((f["at_ms"] - start_ms) / 1000, 3),
                 "restarted_after_s": None if restarted is None else round((restarted - f["at_ms"]) / 1000, 3),
                 "answers_resume_s": recovered}
        within = [o for o in outages if o[0] <= f["at_ms"] < o[1]]
        if within and recovered is not None:
            back_ms = max(o[1] for o in within)
            entry["during"] = sorted({o[2] for o in within})
            entry["answers_resume_raw_s"] = recovered
            entry["answers_resume_s"] = round(max(0.0, f["at_ms"] + recovered * 1000 - back_ms) / 1000, 3)
        kill_resume.append(entry)
    resume = [k["answers_resume_s"] for k in kill_resume if k["answers_resume_s"] is not None]
    resume_raw = [k.get("answers_resume_raw_s", k["answers_resume_s"]) for k in kill_resume
                  if k["answers_resume_s"] is not None]
    result = {
        "sent": len(sent_ids), "answered": len(answered), "lost": len(sent_ids - answered),
        "inconsistent": inconsistent, "wrong": wrong, "duplicate_deliveries": duplicates,
        "audit_missing": audit_missing, "audit_duplicate": audit_duplicate, "chain_verified": chain_verified,
        "faults": out_faults,
        "unavailable": unavailable,
        "audit_missing_db": audit_missing_db, "audit_missing_log": audit_missing_log,
        "kills": len(kill_resume),
        "answers_resume_p50_s": percentile(resume, 0.5), "answers_resume_p99_s": percentile(resume, 0.99),
        "answers_resume_raw_p99_s": percentile(resume_raw, 0.99),
        "kills_during_outage": sum(1 for k in kill_resume if "during" in k),
        "answers_resume_unmeasured": len(kill_resume) - len(resume),
        "wrong_by_kind": dict(wrong_kinds),
        "wrong_tokens_linked_at_s": sorted(set(token_origin_s)),
        "kill_resume": kill_resume,
        "supervisor_restarts": len(restarts),
    }
    with open(os.path.join(run, "result.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    svg_plot(os.path.join(run, "answers.svg"), start_ms, sent_times, first_answer, answers, faults)
    summary = {k: v for k, v in result.items() if k not in ("faults", "kill_resume", "wrong_tokens_linked_at_s")}
    print(json.dumps(summary))
    goals = [("lost", result["lost"] == 0), ("inconsistent", inconsistent == 0), ("wrong", wrong == 0),
             ("audit_missing", audit_missing == 0), ("audit_duplicate", audit_duplicate == 0),
             ("chain_verified", chain_verified)]
    failed = [name for name, ok in goals if not ok]
    for name in failed:
        print(f"faults: goal failed: {name}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
