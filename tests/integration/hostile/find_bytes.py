#!/usr/bin/env python3
"""find_bytes.py PATTERNS DIR: byte search for secrets that are not text.

PATTERNS holds one hex string per line (a response pad); DIR is the broker's
data directory (<topic>-<partition>/ folders). Any 32-byte window of a pad is
enough to recognise it, so its first and its last 32 bytes are searched for
in every log segment (*.log: the records; indexes hold offsets only).
Prints the topics where one was found and exits 1; exits 0 when none was.
"""
import os
import sys


def main():
    patterns, data = sys.argv[1], sys.argv[2]
    needles = []
    with open(patterns) as f:
        for line in f:
            raw = bytes.fromhex(line.strip())
            if len(raw) >= 64:
                needles += [raw[:32], raw[-32:]]
    hits = set()
    for folder, _dirs, files in os.walk(data):
        for name in files:
            if not name.endswith(".log"):
                continue
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as f:
                    content = f.read()
            except OSError:
                continue
            if any(n in content for n in needles):
                topic = os.path.relpath(folder, data).split(os.sep)[0].rsplit("-", 1)[0]
                hits.add(topic)
    if hits:
        print(" ".join(sorted(hits)))
        return 1
    return 0


sys.exit(main())
