/* http_server: the HTTP/1.1 listener every service runs for /healthz, /readyz
 * and /metrics, and the admin API runs its routes through.
 *
 * One request per connection at a time: when a request is complete the
 * parser is paused and reading stops until its response is written, so
 * pipelined bytes wait in a small buffer and a client that never reads cannot
 * make the server queue responses. Only the URL and the two headers the
 * handlers use are kept, inside a fixed buffer bounded by the 8 KiB head
 * limit; bodies are bounded by max_body. Every response has a Content-Length. */
#include "http_server.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_request_reader.h"
#include "json_write.h"

#define HTTP_DEFAULT_MAX_BODY 65536
#define HTTP_MAX_CONNECTIONS 256
#define HTTP_IDLE_TIMEOUT_MS 30000
/* After a response that closes the connection, unread input is drained this
 * long, so closing does not reset the connection before the client read the
 * response. */
#define HTTP_LINGER_MS 2000
#define HTTP_READ_BUFFER 65536

typedef struct http_conn http_conn;

struct http_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  bool listener_open;
  bool stopping;
  int port;
  size_t max_body;
  metrics_registry *metrics;
  http_ready_fn ready;
  http_handler_fn handler;
  void *ctx;
  http_conn *connections;
  size_t connection_count;
  char read_buffer[HTTP_READ_BUFFER]; /* shared: reads are consumed synchronously */
};

struct http_conn {
  http_server *server;
  http_conn *prev, *next;
  uv_tcp_t tcp;
  uv_timer_t timer;
  int open_handles;
  bool closing;
  bool lingering; /* response sent, draining input until EOF or timeout */
  bool writing;   /* a response write is in flight; reading is stopped */
  bool close_after_write;
  bool eof;
  uv_write_t write_req;
  uv_shutdown_t shutdown_req;
  char *out; /* the response being written */
  char peer[64];

  http_request_reader reader;
  /* Bytes read but not parsed yet because the reader paused on a complete
   * request (pipelining). */
  char *pending;
  size_t pending_len;
};

static void conn_close(http_conn *conn);
static void conn_process(http_conn *conn, const char *data, size_t len);

static void set_err(char *err, size_t err_len, const char *message) {
  if (err && err_len > 0) snprintf(err, err_len, "http: %s", message);
}

static void response_set_body(http_response *response, int status, const char *content_type,
                              char *body, size_t body_len) {
  free(response->body);
  response->status = body || body_len == 0 ? status : 500;
  response->content_type = content_type;
  response->body = body;
  response->body_len = body ? body_len : 0;
}

void http_respond_json(http_response *response, int status, const char *json) {
  if (!response) return;
  if (!json) json = "";
  size_t len = strlen(json);
  char *body = malloc(len + 1);
  if (body) memcpy(body, json, len + 1);
  response_set_body(response, status, "application/json", body, len);
}

void http_respond_error(http_response *response, int status, const char *code,
                        const char *message) {
  if (!response) return;
  if (!code) code = "error";
  if (!message) message = "";
  buffer body = {0};
  buffer_puts(&body, "{\"error\":");
  json_write_string(&body, code, strlen(code));
  buffer_puts(&body, ",\"message\":");
  json_write_string(&body, message, strlen(message));
  buffer_puts(&body, "}");
  if (body.failed) buffer_free(&body);
  response_set_body(response, status, "application/json", body.data, body.len);
}

/* ---- connection lifetime --------------------------------------------- */

static void server_maybe_free(http_server *server) {
  if (server->stopping && !server->listener_open && server->connections == NULL) free(server);
}

static void conn_handle_closed(uv_handle_t *handle) {
  http_conn *conn = handle->data;
  if (--conn->open_handles > 0) return;
  http_server *server = conn->server;
  if (conn->prev) {
    conn->prev->next = conn->next;
  } else {
    server->connections = conn->next;
  }
  if (conn->next) conn->next->prev = conn->prev;
  server->connection_count--;
  free(conn->out);
  free(conn->pending);
  http_request_reader_free(&conn->reader);
  free(conn);
  server_maybe_free(server);
}

static void conn_close(http_conn *conn) {
  if (conn->closing) return;
  conn->closing = true;
  uv_close((uv_handle_t *)&conn->tcp, conn_handle_closed);
  uv_close((uv_handle_t *)&conn->timer, conn_handle_closed);
}

static void conn_timeout(uv_timer_t *timer) {
  conn_close(timer->data);
}

static void conn_touch(http_conn *conn, uint64_t timeout_ms) {
  if (!conn->closing) uv_timer_start(&conn->timer, conn_timeout, timeout_ms, 0);
}

/* ---- responses -------------------------------------------------------- */

static void conn_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  http_conn *conn = handle->data;
  *buf = uv_buf_init(conn->server->read_buffer, sizeof(conn->server->read_buffer));
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void conn_shutdown_done(uv_shutdown_t *req, int status) {
  http_conn *conn = req->data;
  if (status < 0) conn_close(conn);
}

static void conn_start_linger(http_conn *conn) {
  if (conn->eof || conn->server->stopping) {
    conn_close(conn);
    return;
  }
  conn->lingering = true;
  conn->shutdown_req.data = conn;
  if (uv_shutdown(&conn->shutdown_req, (uv_stream_t *)&conn->tcp, conn_shutdown_done) != 0 ||
      uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc, conn_read) != 0) {
    conn_close(conn);
    return;
  }
  conn_touch(conn, HTTP_LINGER_MS);
}

static void conn_resume(http_conn *conn) {
  http_request_reader_resume(&conn->reader);
  if (conn->pending_len > 0) {
    /* conn_process may keep a suffix of these bytes again; hand it a copy. */
    char *data = conn->pending;
    size_t len = conn->pending_len;
    conn->pending = NULL;
    conn->pending_len = 0;
    conn_process(conn, data, len);
    free(data);
    if (conn->closing || conn->writing) return;
  }
  if (conn->eof) {
    conn_close(conn);
    return;
  }
  if (uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc, conn_read) != 0) conn_close(conn);
}

static void conn_written(uv_write_t *req, int status) {
  http_conn *conn = req->data;
  free(conn->out);
  conn->out = NULL;
  conn->writing = false;
  if (conn->closing) return;
  if (status < 0) {
    conn_close(conn);
    return;
  }
  conn_touch(conn, HTTP_IDLE_TIMEOUT_MS);
  if (conn->close_after_write) {
    conn_start_linger(conn);
  } else if (conn->eof && conn->pending_len == 0) {
    conn_close(conn);
  } else {
    conn_resume(conn);
  }
}

static const char *status_reason(int status) {
  const char *reason = http_status_str((enum http_status)status);
  return reason && *reason && *reason != '<' ? reason : "Unknown";
}

static bool header_safe(const char *text) {
  return text && *text && strpbrk(text, "\r\n") == NULL;
}

/* Sends one response; takes ownership of body. Reading stays stopped until
 * the write completes. */
static void conn_send(http_conn *conn, int status, const char *content_type, char *body,
                      size_t body_len, bool close, const char *extra_headers) {
  if (status < 100 || status > 599) status = 500;
  if (!header_safe(content_type)) content_type = "application/json";
  if (!body) body_len = 0;
  char head[512];
  int head_len = snprintf(head, sizeof(head),
                          "HTTP/1.1 %d %s\r\n"
                          "Content-Type: %s\r\n"
                          "Content-Length: %zu\r\n"
                          "Cache-Control: no-store\r\n"
                          "%s"
                          "Connection: %s\r\n\r\n",
                          status, status_reason(status), content_type, body_len,
                          extra_headers ? extra_headers : "", close ? "close" : "keep-alive");
  if (head_len < 0 || (size_t)head_len >= sizeof(head)) {
    free(body);
    conn_close(conn);
    return;
  }
  char *out = malloc((size_t)head_len + body_len);
  if (!out) {
    free(body);
    conn_close(conn);
    return;
  }
  memcpy(out, head, (size_t)head_len);
  if (body_len > 0) memcpy(out + head_len, body, body_len);
  free(body);

  uv_read_stop((uv_stream_t *)&conn->tcp);
  conn->out = out;
  conn->writing = true;
  conn->close_after_write = close;
  conn->write_req.data = conn;
  uv_buf_t buf = uv_buf_init(out, (unsigned int)((size_t)head_len + body_len));
  if (uv_write(&conn->write_req, (uv_stream_t *)&conn->tcp, &buf, 1, conn_written) != 0) {
    free(conn->out);
    conn->out = NULL;
    conn->writing = false;
    conn_close(conn);
  }
}

static void conn_send_text(http_conn *conn, int status, const char *text, bool close) {
  size_t len = strlen(text);
  char *body = malloc(len);
  if (body) memcpy(body, text, len);
  conn_send(conn, status, "text/plain; charset=utf-8", body, body ? len : 0, close, NULL);
}

static void conn_send_error(http_conn *conn, int status, const char *code, const char *message,
                            bool close, const char *extra_headers) {
  http_response response = {0};
  http_respond_error(&response, status, code, message);
  conn_send(conn, response.status, response.content_type, response.body, response.body_len, close,
            extra_headers);
}

/* ---- requests ------------------------------------------------------ */

static void route(http_conn *conn, const http_request *request, bool close) {
  http_server *server = conn->server;
  bool get = strcmp(request->method, "GET") == 0;
  bool known = strcmp(request->path, "/healthz") == 0 || strcmp(request->path, "/readyz") == 0 ||
               strcmp(request->path, "/metrics") == 0;
  if (known && !get) {
    conn_send_error(conn, 405, "method_not_allowed", "only GET is allowed on this route", close,
                    "Allow: GET\r\n");
    return;
  }
  if (strcmp(request->path, "/healthz") == 0) {
    conn_send_text(conn, 200, "ok\n", close);
  } else if (strcmp(request->path, "/readyz") == 0) {
    const char *reason = NULL;
    if (!server->ready || server->ready(server->ctx, &reason)) {
      conn_send_text(conn, 200, "ready\n", close);
    } else {
      char text[128];
      snprintf(text, sizeof(text), "not ready: %s\n", reason && *reason ? reason : "unknown");
      conn_send_text(conn, 503, text, close);
    }
  } else if (strcmp(request->path, "/metrics") == 0) {
    size_t len = 0;
    char *text = server->metrics ? metrics_render(server->metrics, &len) : calloc(1, 1);
    if (!text) {
      conn_send_error(conn, 500, "internal", "could not render metrics", close, NULL);
      return;
    }
    conn_send(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, close, NULL);
  } else {
    http_response response = {.status = 200, .content_type = "application/json"};
    if (server->handler && server->handler(server->ctx, request, &response)) {
      conn_send(conn, response.status, response.content_type, response.body, response.body_len,
                close, NULL);
    } else {
      free(response.body);
      conn_send_error(conn, 404, "not_found", "no such route", close, NULL);
    }
  }
}

/* A complete request from the reader (which paused until conn_resume). */
static void conn_on_request(void *owner, const http_request *request, bool close) {
  http_conn *conn = owner;
  route(conn, request, close || conn->server->stopping);
}

static void conn_process(http_conn *conn, const char *data, size_t len) {
  size_t parsed = http_request_reader_execute(&conn->reader, data, len);
  if (conn->closing) return;
  if (http_request_reader_paused(&conn->reader)) {
    /* A request was answered (or is being written): keep what follows. */
    if (parsed < len && !conn->close_after_write) {
      conn->pending = malloc(len - parsed);
      if (!conn->pending) {
        conn_close(conn);
        return;
      }
      memcpy(conn->pending, data + parsed, len - parsed);
      conn->pending_len = len - parsed;
    }
    return;
  }
  int status = http_request_reader_error(&conn->reader);
  if (status == 0) return;
  uv_read_stop((uv_stream_t *)&conn->tcp);
  switch (status) {
    case 413:
      conn_send_error(conn, 413, "payload_too_large", "request body exceeds the limit", true, NULL);
      break;
    case 431:
      conn_send_error(conn, 431, "header_too_large", "request head exceeds 8 KiB", true, NULL);
      break;
    case 500:
      conn_send_error(conn, 500, "internal", "out of memory", true, NULL);
      break;
    default:
      conn_send_error(conn, 400, "bad_request", "malformed HTTP request", true, NULL);
      break;
  }
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  http_conn *conn = stream->data;
  if (conn->closing) return;
  if (nread < 0) {
    conn->eof = true;
    uv_read_stop(stream);
    /* A client may half-close after its request: still answer it. */
    if (!conn->writing) conn_close(conn);
    return;
  }
  if (nread == 0) return;
  if (conn->lingering) return; /* drained and dropped */
  conn_touch(conn, HTTP_IDLE_TIMEOUT_MS);
  conn_process(conn, buf->base, (size_t)nread);
}

/* ---- listener -------------------------------------------------------- */

static void format_peer(http_conn *conn) {
  struct sockaddr_storage addr;
  int len = sizeof(addr);
  char ip[64] = "unknown";
  int port = 0;
  if (uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&addr, &len) == 0) {
    if (addr.ss_family == AF_INET) {
      const struct sockaddr_in *in = (const struct sockaddr_in *)&addr;
      uv_ip4_name(in, ip, sizeof(ip));
      port = ntohs(in->sin_port);
      /* An IPv4 address and a port always fit; a cut text would only shorten the peer. */
      if (snprintf(conn->peer, sizeof(conn->peer), "%s:%d", ip, port) < 0) conn->peer[0] = '\0';
      return;
    }
    if (addr.ss_family == AF_INET6) {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&addr;
      uv_ip6_name(in6, ip, sizeof(ip));
      port = ntohs(in6->sin6_port);
      if (snprintf(conn->peer, sizeof(conn->peer), "[%.46s]:%d", ip, port) < 0) conn->peer[0] = '\0';
      return;
    }
  }
  snprintf(conn->peer, sizeof(conn->peer), "unknown");
}

static void rejected_closed(uv_handle_t *handle) {
  free(handle);
}

static void on_connection(uv_stream_t *listener, int status) {
  http_server *server = listener->data;
  if (status < 0 || server->stopping) return;

  if (server->connection_count >= HTTP_MAX_CONNECTIONS) {
    /* Accept only to take it off the backlog, then close at once. */
    uv_tcp_t *extra = malloc(sizeof(*extra));
    if (!extra) return;
    uv_tcp_init(server->loop, extra);
    uv_accept(listener, (uv_stream_t *)extra);
    uv_close((uv_handle_t *)extra, rejected_closed);
    return;
  }

  http_conn *conn = calloc(1, sizeof(*conn));
  if (!conn) return;
  conn->server = server;
  uv_tcp_init(server->loop, &conn->tcp);
  uv_timer_init(server->loop, &conn->timer);
  conn->tcp.data = conn;
  conn->timer.data = conn;
  conn->open_handles = 2;
  conn->next = server->connections;
  if (server->connections) server->connections->prev = conn;
  server->connections = conn;
  server->connection_count++;

  if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
    conn_close(conn);
    return;
  }
  uv_tcp_nodelay(&conn->tcp, 1);
  format_peer(conn);
  http_request_reader_init(&conn->reader, server->max_body, conn_on_request, conn, conn->peer);
  conn_touch(conn, HTTP_IDLE_TIMEOUT_MS);
  if (uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc, conn_read) != 0) conn_close(conn);
}

static void listener_closed(uv_handle_t *handle) {
  http_server *server = handle->data;
  server->listener_open = false;
  server_maybe_free(server);
}

int http_server_start(uv_loop_t *loop, const http_settings *settings, http_server **out, char *err,
                      size_t err_len) {
  if (!loop || !settings || !out || !settings->host) {
    set_err(err, err_len, "invalid arguments");
    return -1;
  }
  *out = NULL;
  if (settings->port < 0 || settings->port > 65535) {
    set_err(err, err_len, "port out of range");
    return -1;
  }
  struct sockaddr_storage addr;
  if (uv_ip4_addr(settings->host, settings->port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(settings->host, settings->port, (struct sockaddr_in6 *)&addr) != 0) {
    set_err(err, err_len, "invalid listen address");
    return -1;
  }
  http_server *server = calloc(1, sizeof(*server));
  if (!server) {
    set_err(err, err_len, "out of memory");
    return -1;
  }
  server->loop = loop;
  server->max_body = settings->max_body ? settings->max_body : HTTP_DEFAULT_MAX_BODY;
  server->metrics = settings->metrics;
  server->ready = settings->ready;
  server->handler = settings->handler;
  server->ctx = settings->ctx;

  int rc = uv_tcp_init(loop, &server->listener);
  if (rc != 0) {
    set_err(err, err_len, uv_strerror(rc));
    free(server);
    return -1;
  }
  server->listener.data = server;
  server->listener_open = true;
  rc = uv_tcp_bind(&server->listener, (const struct sockaddr *)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&server->listener, 128, on_connection);
  if (rc == 0) {
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    rc = uv_tcp_getsockname(&server->listener, (struct sockaddr *)&bound, &len);
    if (rc == 0) {
      server->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                                 : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    }
  }
  if (rc != 0) {
    char detail[160];
    snprintf(detail, sizeof(detail), "cannot listen on %s port %d: %s", settings->host,
             settings->port, uv_strerror(rc));
    set_err(err, err_len, detail);
    server->stopping = true;
    uv_close((uv_handle_t *)&server->listener, listener_closed);
    return -1;
  }
  *out = server;
  return 0;
}

int http_server_port(const http_server *server) {
  return server ? server->port : -1;
}

void http_server_stop(http_server *server) {
  if (!server || server->stopping) return;
  server->stopping = true;
  uv_close((uv_handle_t *)&server->listener, listener_closed);
  for (http_conn *conn = server->connections; conn; conn = conn->next) conn_close(conn);
}
