#!/usr/bin/env python3
"""Every file path and link in the docs exists.

Reads README.md, docs/*.md, tools/*/README.md and deploy/**/README.md, and
checks:
  - markdown links [text](target): a relative target must exist (relative to
    the document), and its #anchor must be a heading of the target;
  - paths in backticks that name something in the repository (they start
    with a top-level folder, or are a root file such as README.md): they
    must exist, from the repository root or from the document's folder.
    Spans with placeholders (<id>, *, $VAR, ...) are commands, not paths;
  - the runbook_url of every alert rule: docs/operations.md has its anchor.
Prints each broken reference as FILE:LINE: reason.
"""
import os
import re
import sys

root = os.environ.get("LINDUNG_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TOP = ("services/", "tools/", "deploy/", "docs/", "scripts/", "tests/", "db/", "proto/",
       "cmake/", ".ci/")
ROOT_FILES = ("README.md", "CMakeLists.txt", ".clang-format", ".gitignore")


def docs():
    found = [os.path.join(root, "README.md")]
    for folder, pattern in (("docs", None), ("tools", "README.md"), ("deploy", "README.md")):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, folder)):
            dirnames[:] = [d for d in dirnames if d != "node_modules"]
            depth_ok = folder != "tools" or os.path.dirname(dirpath) == os.path.join(root, "tools")
            for name in filenames:
                if pattern is None and name.endswith(".md") and dirpath == os.path.join(root, "docs"):
                    found.append(os.path.join(dirpath, name))
                elif pattern == name and depth_ok:
                    found.append(os.path.join(dirpath, name))
    return sorted(set(found))


def slug(heading):
    # GitHub's anchors: lowercase, punctuation dropped, spaces to hyphens.
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    result = set()
    in_code = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                in_code = not in_code
            elif not in_code and line.startswith("#"):
                result.add(slug(line.lstrip("#")))
    return result


def prose_lines(path):
    """(number, text) of the lines outside fenced code blocks."""
    in_code = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.startswith("```"):
                in_code = not in_code
                continue
            if not in_code:
                yield number, line


problems = []
checked = 0
documents = docs()
for doc in documents:
    rel_doc = os.path.relpath(doc, root)
    here = os.path.dirname(doc)
    for number, line in prose_lines(doc):
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            checked += 1
            path, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(here, path)) if path else doc
            if not os.path.exists(full):
                problems.append(f"{rel_doc}:{number}: link to {target}: no such file")
            elif anchor and full.endswith(".md") and anchor not in anchors(full):
                problems.append(f"{rel_doc}:{number}: link to {target}: no such heading")
        for span in re.findall(r"`([^`]+)`", line):
            candidate = span.strip().rstrip(".,:;")
            candidate = re.sub(r":\d+$", "", candidate)  # file:line
            if " " in candidate or re.search(r"[<>*$?{}\[\]|=]", candidate):
                continue
            if not (candidate.startswith(TOP) or candidate in ROOT_FILES):
                continue
            checked += 1
            if not (os.path.exists(os.path.join(root, candidate)) or os.path.exists(os.path.join(here, candidate))):
                problems.append(f"{rel_doc}:{number}: `{span}`: no such file or folder")

# Alert rules point at the runbook.
operations = os.path.join(root, "docs", "operations.md")
rules = os.path.join(root, "deploy", "prometheus", "lindung.rules.yml")
runbook = anchors(operations)
with open(rules, encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
        m = re.search(r"runbook_url:\s*docs/operations\.md#(\S+)", line)
        if m:
            checked += 1
            if m.group(1) not in runbook:
                problems.append(f"deploy/prometheus/lindung.rules.yml:{number}: runbook_url #{m.group(1)}: "
                                "no such heading in docs/operations.md")

for p in problems:
    print(p)
print(f"links: {len(documents)} documents, {checked} references checked, {len(problems)} broken")
if checked < 25:
    print("links: fewer references than the docs hold: the checker lost them")
    sys.exit(1)
sys.exit(1 if problems else 0)
