/* http_server: a small HTTP/1.1 listener on a libuv loop, parsing with
 * Debian's libhttp-parser. Serves /healthz, /readyz and /metrics for every
 * service, and any other route through an optional handler (the admin API).
 *
 * Limits: request head 8 KiB, body max_body bytes (413 above it), one
 * request per connection at a time, idle connections closed after 30 s.
 *
 * Prefix http_. Nothing here logs or exits. */
#ifndef LINDUNG_HTTP_SERVER_H
#define LINDUNG_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "metrics.h"

typedef struct http_server http_server;

typedef struct http_request {
  const char *method;        /* "GET", "POST", ... */
  const char *path;          /* without the query string */
  const char *query;         /* after '?', "" if none */
  const char *authorization; /* Authorization header value, "" if none */
  const char *content_type;  /* "" if none */
  const char *body;          /* NUL-terminated copy, "" if none */
  size_t body_len;
  const char *peer;          /* "ip:port" of the client */
} http_request;

typedef struct http_response {
  int status;               /* e.g. 200 */
  const char *content_type; /* default "application/json" */
  char *body;               /* malloc'd by the handler; freed by the server */
  size_t body_len;
} http_response;

/* Returns true when it handled the route, false for 404. */
typedef bool (*http_handler_fn)(void *ctx, const http_request *request, http_response *response);

/* Readiness: true when ready; reason is a short fixed text ("kafka", "postgres"). */
typedef bool (*http_ready_fn)(void *ctx, const char **reason);

typedef struct http_settings {
  const char *host;  /* e.g. "127.0.0.1" or "0.0.0.0" */
  int port;          /* 0 picks a free port; see http_server_port() */
  size_t max_body;   /* 0 means 64 KiB */
  metrics_registry *metrics;   /* rendered at /metrics */
  http_ready_fn ready;         /* /readyz: 200 "ready" or 503 with the reason */
  http_handler_fn handler;     /* other routes, may be NULL */
  void *ctx;
} http_settings;

int http_server_start(uv_loop_t *loop, const http_settings *settings, http_server **out,
                      char *err, size_t err_len);

int http_server_port(const http_server *server);

/* Closes the listener and every connection; frees once the handles closed. */
void http_server_stop(http_server *server);

/* Helpers for handlers. */
void http_respond_json(http_response *response, int status, const char *json);
void http_respond_error(http_response *response, int status, const char *code,
                        const char *message);

#endif
