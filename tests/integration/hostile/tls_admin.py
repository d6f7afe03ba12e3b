#!/usr/bin/env python3
"""A stand-in for a TLS-terminating proxy in front of the admin API, on
loopback: answers every request 200 with a fixed JSON body and appends one
line per request it received to <log> (never the token itself).

  tls_admin.py <cert.pem> <key.pem> <port-file> <log>

Exits after 30 s at most (bounded, for tests)."""
import http.server
import ssl
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        with open(sys.argv[4], "a") as log:
            log.write(f"{self.command} {self.path} authorization={'yes' if self.headers.get('Authorization') else 'no'}\n")
        body = b'{"applied":"partner_reinstate","partner_id":"x","registry_version":1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(sys.argv[3], "w") as f:
    f.write(str(server.server_address[1]))
threading.Timer(30, server.shutdown).start()
server.serve_forever()
