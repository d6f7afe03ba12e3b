/* admin_http: the admin API's own HTTP/1.1 listener on the libuv loop.
 *
 * Unlike http_server.h (whose handlers answer at once), a request here is
 * answered later, with admin_http_respond(), because an admin change
 * answers only after PostgreSQL committed it and Kafka acknowledged its
 * events. One request per connection; the connection closes after the
 * answer. Limits: request head 8 KiB (431), body max_body bytes (413), the
 * whole request within 10 s of the connect (closed otherwise, however
 * slowly bytes keep coming), 256 open connections (one more closes the
 * oldest that has not sent a whole request). Parsing by Debian's libhttp-parser.
 *
 * With a certificate and key it speaks HTTPS only (admin_tls.h: TLS 1.2+
 * through OpenSSL memory BIOs; a client that does not complete the
 * handshake within the deadline is closed). Without them it serves plain
 * HTTP, and only on a loopback address: starting on any other address
 * fails, so a token never crosses a network in clear.
 * Prefix admin_http_. Nothing here logs or exits. */
#ifndef LINDUNG_ADMIN_HTTP_H
#define LINDUNG_ADMIN_HTTP_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef struct admin_http admin_http;
typedef struct admin_http_conn admin_http_conn;

typedef struct admin_http_request {
  char method[8];
  char path[256];
  char authorization[160]; /* "" if none (or too long to be a valid one) */
  char peer[64];
  char *body; /* NUL-terminated */
  size_t body_len;
  admin_http_conn *conn; /* private; NULL once the client went away */
} admin_http_request;

/* Called once per complete request; the handler owns req until it calls
 * admin_http_respond() (exactly once). */
typedef void (*admin_http_fn)(void *ctx, admin_http_request *req);

typedef struct admin_http_settings {
  const char *host; /* a numeric address */
  int port;         /* 0 picks a free one; see admin_http_port() */
  size_t max_body;  /* 0: 16 KiB */
  const char *cert_file; /* PEM certificate chain, NULL or "" for none */
  const char *key_file;  /* PEM private key, with cert_file */
} admin_http_settings;

int admin_http_start(uv_loop_t *loop, const admin_http_settings *settings, admin_http_fn handler,
                     void *ctx, admin_http **out, char *err, size_t err_len);
int admin_http_port(const admin_http *server);

/* Sends status and a JSON body (copied), closes the connection afterwards
 * and frees req. Fine when the client already went away. */
void admin_http_respond(admin_http_request *req, int status, const char *json);

/* The request parser of one connection, with no I/O (a connection feeds
 * it what it reads; the fuzz harness tests/fuzz/admin_http.c feeds it
 * directly). It fills req; once the request is whole, complete is set and
 * further bytes are ignored. The fields are private. */
typedef struct admin_http_reader {
  http_parser parser;
  admin_http_request *req;
  size_t max_body;
  size_t head_bytes;
  char field[16]; /* the header name being read (the first 16 bytes) */
  size_t field_len;
  bool in_value;
  int header;    /* which header the current value belongs to */
  unsigned seen;     /* the kept headers seen so far */
  unsigned too_long; /* the kept headers whose value was too long */
  bool too_large;
  bool complete;
} admin_http_reader;

void admin_http_reader_init(admin_http_reader *reader, admin_http_request *req, size_t max_body);
/* Feeds data[0..len); returns 0 (more needed, or complete), or the status
 * to refuse the request with: 400 (not HTTP), 413 (body over max_body) or
 * 431 (head over 8 KiB). */
int admin_http_reader_feed(admin_http_reader *reader, const char *data, size_t len);

/* Closes the listener and every connection (requests still held by the
 * handler stay valid until answered); frees once the handles closed. */
void admin_http_stop(admin_http *server);

#endif
