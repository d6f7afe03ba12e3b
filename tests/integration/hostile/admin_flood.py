#!/usr/bin/env python3
"""Strangers at the admin API: while 200 slowloris connections trickle a
byte each second and 1,000 unauthenticated requests arrive from 20 threads,
an authorised revoke is sent; prints how long it took and exits 1 unless it
was applied (HTTP 200) and every stranger got 401 or was shut out.

  admin_flood.py <admin-url> <token-file> <partner-id>

An https URL is spoken with TLS, trusting only LINDUNG_ADMIN_CACERT (the
slowloris connections complete the handshake, then trickle inside TLS).

Loopback only, bounded in count and time (the slowloris connections are
held for at most 15 s). The 1 s goal is printed as a figure, not asserted:
the machine is shared."""
import http.client
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse

SLOWLORIS = 200
STRANGERS = 1000
THREADS = 20
HOLD_S = 15


def main():
    url = urllib.parse.urlparse(sys.argv[1])
    token = open(sys.argv[2]).read().strip()
    partner = sys.argv[3]
    host, port = url.hostname, url.port
    if host not in ("127.0.0.1", "localhost", "::1"):
        print("refusing to flood a non-loopback address", file=sys.stderr)
        return 2

    tls = None
    if url.scheme == "https":
        tls = ssl.create_default_context(cafile=os.environ["LINDUNG_ADMIN_CACERT"])

    def connect(timeout):
        if tls:
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=tls)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    slow = []
    for _ in range(SLOWLORIS):
        s = socket.create_connection((host, port), timeout=5)
        if tls:
            s = tls.wrap_socket(s, server_hostname=host)
        s.sendall(b"POST /v1/partners/x/revoke HTTP/1.1\r\nHost: a\r\n")
        slow.append(s)
    stop = threading.Event()
    slow_closed = [0]

    def trickle():
        # One header byte a second: an idle timer reset per byte never fires.
        while not stop.wait(1.0):
            for s in list(slow):
                try:
                    s.sendall(b"X")
                except OSError:
                    slow.remove(s)
                    slow_closed[0] += 1

    statuses = {}
    lock = threading.Lock()

    def stranger(n):
        for i in range(n):
            try:
                c = connect(10)
                c.request("POST", f"/v1/partners/{partner}/revoke", body=b'{"reason":"x"}',
                          headers={"Authorization": f"Bearer wrong-{i}", "Content-Type": "application/json"})
                status = c.getresponse().status
                c.close()
            except OSError:
                status = "closed"
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

    trickler = threading.Thread(target=trickle)
    trickler.start()
    workers = [threading.Thread(target=stranger, args=(STRANGERS // THREADS,)) for _ in range(THREADS)]
    for w in workers:
        w.start()
    time.sleep(0.3)  # the flood is under way
    began = time.monotonic()
    c = connect(30)
    c.request("POST", f"/v1/partners/{partner}/revoke", body=b'{"reason":"hostile test: revoke under a flood"}',
              headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = c.getresponse()
    body = response.read()
    took_ms = (time.monotonic() - began) * 1000
    for w in workers:
        w.join(timeout=120)
    # Slowloris connections must be closed by the server's whole-request
    # deadline (10 s) while they keep trickling.
    deadline = time.monotonic() + HOLD_S
    while slow and time.monotonic() < deadline:
        time.sleep(0.5)
    stop.set()
    trickler.join()
    held = len(slow)
    for s in slow:
        s.close()

    print(f"figure: authorised revoke answered {response.status} in {took_ms:.0f} ms under "
          f"{STRANGERS} unauthenticated requests and {SLOWLORIS} slowloris connections (goal 1000 ms)")
    print(f"figure: strangers' answers {statuses}; slowloris closed by the server {slow_closed[0]}, "
          f"still open after {HOLD_S} s: {held}")
    ok = True
    if response.status != 200:
        print(f"FAIL: the authorised revoke got {response.status}: {body[:200]!r}", file=sys.stderr)
        ok = False
    if sum(statuses.values()) != STRANGERS or set(statuses) - {401, "closed"}:
        print(f"FAIL: a stranger got something other than 401: {statuses}", file=sys.stderr)
        ok = False
    if held:
        print(f"FAIL: {held} slowloris connections outlived the request deadline", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
