#!/usr/bin/env python3
"""tools/faults/analyse.py on a made-up run whose figures are known: one
request lost, one answered twice differently, one wrong, two duplicate
deliveries, one answer without an audit record, one audit record forked."""
import json
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
analyse = os.path.join(here, "..", "..", "..", "tools", "faults", "analyse.py")
run = tempfile.mkdtemp()
ids = [f"{i:032x}" for i in range(1, 7)]
files = {
    "start_ms": "1000\n",
    "sent.tsv": "".join(f"{1000 + 100 * i}\t{rid}\tgojek\tin\t-\n" for i, rid in enumerate(ids)),
    # ids[0]: right, delivered 3 times; ids[1]: two different answers;
    # ids[2]: wrong; ids[3], ids[4]: right; ids[5]: never answered.
    "answers.tsv": "".join([
        f"1500\t{ids[0]}\tgojek\tscan:GREEN/ALLOW/STATUS_ALLOWED\tright\n",
        f"1600\t{ids[0]}\tgojek\tscan:GREEN/ALLOW/STATUS_ALLOWED\tright\n",
        f"1700\t{ids[0]}\tgojek\tscan:GREEN/ALLOW/STATUS_ALLOWED\tright\n",
        f"1600\t{ids[1]}\tgojek\terror:UNAVAILABLE\tunavailable\n",
        f"2600\t{ids[1]}\tgojek\tscan:GREEN/ALLOW/STATUS_ALLOWED\tright\n",
        f"1700\t{ids[2]}\tgojek\terror:UNKNOWN_TOKEN\twrong\n",
        f"1800\t{ids[3]}\tgojek\tscan:GREEN/ALLOW/STATUS_ALLOWED\tright\n",
        f"1900\t{ids[4]}\tgojek\tscan:GREEN/ALLOW/STATUS_ALLOWED\tright\n",
    ]),
    # ids[4] has no answering record in the database.
    "audit_db.tsv": "".join(f"{rid}\t3\t2\t{n}\n" for n, rid in enumerate(ids[:4])),
    # ids[3]'s resolve record appears under two sequence numbers.
    "audit_log.jsonl": "".join(
        json.dumps({"type": "record", "seq": n, "stage": "resolve", "outcome": "answered", "request_id": rid}) + "\n"
        for n, rid in list(enumerate(ids[:5])) + [(99, ids[3])]),
    "verify.txt": "0\n0\n",
    "faults.tsv": "kill\tlindung-decrypt\t1150\t1150\n",
}
for name, text in files.items():
    with open(os.path.join(run, name), "w") as f:
        f.write(text)
status = subprocess.run([sys.executable, analyse, run], capture_output=True, text=True).returncode
result = json.load(open(os.path.join(run, "result.json")))
expected = {"sent": 6, "answered": 5, "lost": 1, "inconsistent": 1, "wrong": 1, "duplicate_deliveries": 2,
            "audit_missing": 1, "audit_duplicate": 1, "chain_verified": True, "unavailable": 1}
failures = 0
for key, value in expected.items():
    if result.get(key) != value:
        print(f"FAIL {key}: expected {value}, got {result.get(key)}")
        failures += 1
if status != 1:
    print(f"FAIL exit status {status}, expected 1 (goals failed)")
    failures += 1
if [f["kind"] for f in result["faults"]] != ["kill"] or not os.path.exists(os.path.join(run, "answers.svg")):
    print("FAIL faults[] or answers.svg")
    failures += 1
print(f"{failures} failed")
sys.exit(1 if failures else 0)
