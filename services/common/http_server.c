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

#include <http_parser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json_write.h"

#define HTTP_HEAD_MAX 8192 /* URL + header names and values */
#define HTTP_DEFAULT_MAX_BODY 65536
#define HTTP_MAX_CONNECTIONS 256
#define HTTP_IDLE_TIMEOUT_MS 30000
/* After a response that closes the connection, unread input is drained this
 * long, so closing does not reset the connection before the client read the
 * response. */
#define HTTP_LINGER_MS 2000
#define HTTP_READ_BUFFER 65536
#define HTTP_FIELD_MAX 32 /* longest header name we need to recognise, plus slack */

typedef enum { HEADER_OTHER, HEADER_AUTHORIZATION, HEADER_CONTENT_TYPE } http_header_kind;

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

  http_parser parser;
  /* Bytes read but not parsed yet because the parser paused on a complete
   * request (pipelining). */
  char *pending;
  size_t pending_len;

  /* Current request. */
  int error_status; /* set by a parser callback that rejects the request */
  bool force_close;
  size_t head_bytes;
  char head[HTTP_HEAD_MAX + 8]; /* URL, then the kept header values, NUL-separated */
  size_t head_used;
  size_t url_len;
  bool url_done;
  char field[HTTP_FIELD_MAX];
  size_t field_len; /* > HTTP_FIELD_MAX - 1 means "too long to be one we keep" */
  bool in_value;
  http_header_kind value_kind;
  size_t value_start;
  long authorization_at; /* offset into head, -1 if absent */
  long content_type_at;
  char *body;
  size_t body_len;
  size_t body_cap;
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
  free(conn->body);
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
  http_parser_pause(&conn->parser, 0);
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

/* ---- request parsing --------------------------------------------------- */

static void request_reset(http_conn *conn) {
  conn->error_status = 0;
  conn->force_close = false;
  conn->head_bytes = 0;
  conn->head_used = 0;
  conn->url_len = 0;
  conn->url_done = false;
  conn->field_len = 0;
  conn->in_value = false;
  conn->value_kind = HEADER_OTHER;
  conn->authorization_at = -1;
  conn->content_type_at = -1;
  free(conn->body);
  conn->body = NULL;
  conn->body_len = 0;
  conn->body_cap = 0;
}

static int reject(http_conn *conn, int status) {
  conn->error_status = status;
  return -1;
}

static int count_head(http_conn *conn, size_t len) {
  conn->head_bytes += len;
  return conn->head_bytes > HTTP_HEAD_MAX ? reject(conn, 431) : 0;
}

static int on_message_begin(http_parser *parser) {
  request_reset(parser->data);
  return 0;
}

static int on_url(http_parser *parser, const char *at, size_t len) {
  http_conn *conn = parser->data;
  if (count_head(conn, len) != 0) return -1;
  memcpy(conn->head + conn->head_used, at, len);
  conn->head_used += len;
  conn->url_len += len;
  return 0;
}

static void finish_url(http_conn *conn) {
  if (conn->url_done) return;
  conn->head[conn->head_used++] = '\0';
  conn->url_done = true;
}

/* Ends the header value being read: trims trailing blanks and terminates it. */
static int finish_header(http_conn *conn) {
  if (!conn->in_value) return 0;
  conn->in_value = false;
  if (conn->value_kind == HEADER_OTHER) return 0;
  while (conn->head_used > conn->value_start &&
         (conn->head[conn->head_used - 1] == ' ' || conn->head[conn->head_used - 1] == '\t')) {
    conn->head_used--;
  }
  conn->head[conn->head_used++] = '\0';
  long *slot =
      conn->value_kind == HEADER_AUTHORIZATION ? &conn->authorization_at : &conn->content_type_at;
  /* Two Authorization (or Content-Type) headers are ambiguous: refuse. */
  if (*slot >= 0) return reject(conn, 400);
  *slot = (long)conn->value_start;
  return 0;
}

static int on_header_field(http_parser *parser, const char *at, size_t len) {
  http_conn *conn = parser->data;
  if (count_head(conn, len) != 0) return -1;
  finish_url(conn);
  if (conn->in_value) {
    if (finish_header(conn) != 0) return -1;
    conn->field_len = 0;
  }
  for (size_t i = 0; i < len && conn->field_len < HTTP_FIELD_MAX; i++) {
    conn->field[conn->field_len++] = at[i];
  }
  return 0;
}

static http_header_kind header_kind(const http_conn *conn) {
  if (conn->field_len == 13 && strncasecmp(conn->field, "authorization", 13) == 0) {
    return HEADER_AUTHORIZATION;
  }
  if (conn->field_len == 12 && strncasecmp(conn->field, "content-type", 12) == 0) {
    return HEADER_CONTENT_TYPE;
  }
  return HEADER_OTHER;
}

static int on_header_value(http_parser *parser, const char *at, size_t len) {
  http_conn *conn = parser->data;
  if (count_head(conn, len) != 0) return -1;
  if (!conn->in_value) {
    conn->in_value = true;
    conn->value_kind = header_kind(conn);
    conn->value_start = conn->head_used;
  }
  if (conn->value_kind != HEADER_OTHER) {
    memcpy(conn->head + conn->head_used, at, len);
    conn->head_used += len;
  }
  return 0;
}

static int on_headers_complete(http_parser *parser) {
  http_conn *conn = parser->data;
  finish_url(conn);
  if (finish_header(conn) != 0) return -1;
  /* Protocol upgrades are not served: answer this request, then close. */
  if (parser->upgrade) conn->force_close = true;
  if ((parser->flags & F_CONTENTLENGTH) && parser->content_length > conn->server->max_body) {
    return reject(conn, 413);
  }
  return 0;
}

static int on_body(http_parser *parser, const char *at, size_t len) {
  http_conn *conn = parser->data;
  size_t max_body = conn->server->max_body;
  if (len > max_body - conn->body_len) return reject(conn, 413);
  if (conn->body_len + len + 1 > conn->body_cap) {
    /* Grow geometrically, never past the limit (+1 for the terminator). */
    size_t cap = conn->body_cap ? conn->body_cap : 1024;
    while (cap < conn->body_len + len + 1) cap *= 2;
    if (cap > max_body + 1) cap = max_body + 1;
    char *grown = realloc(conn->body, cap);
    if (!grown) return reject(conn, 500);
    conn->body = grown;
    conn->body_cap = cap;
  }
  memcpy(conn->body + conn->body_len, at, len);
  conn->body_len += len;
  return 0;
}

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

static int on_message_complete(http_parser *parser) {
  http_conn *conn = parser->data;
  struct http_parser_url url;
  http_parser_url_init(&url);
  if (http_parser_parse_url(conn->head, conn->url_len, 0, &url) != 0) return reject(conn, 400);

  /* Cut the URL in place: the byte after the path ('?' or '#') and after the
   * query ('#') become terminators. */
  const char *path = "/";
  const char *query = "";
  if (url.field_set & (1 << UF_QUERY)) {
    char *q = conn->head + url.field_data[UF_QUERY].off;
    q[url.field_data[UF_QUERY].len] = '\0';
    query = q;
  }
  if (url.field_set & (1 << UF_PATH)) {
    char *p = conn->head + url.field_data[UF_PATH].off;
    p[url.field_data[UF_PATH].len] = '\0';
    path = p;
  }
  if (conn->body) conn->body[conn->body_len] = '\0';

  http_request request = {
      .method = http_method_str((enum http_method)parser->method),
      .path = path,
      .query = query,
      .authorization = conn->authorization_at >= 0 ? conn->head + conn->authorization_at : "",
      .content_type = conn->content_type_at >= 0 ? conn->head + conn->content_type_at : "",
      .body = conn->body ? conn->body : "",
      .body_len = conn->body_len,
      .peer = conn->peer,
  };
  bool close = conn->force_close || conn->server->stopping || !http_should_keep_alive(parser);
  /* One request at a time: stop here until the response is written. */
  http_parser_pause(parser, 1);
  route(conn, &request, close);
  free(conn->body);
  conn->body = NULL;
  conn->body_len = 0;
  conn->body_cap = 0;
  return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void conn_process(http_conn *conn, const char *data, size_t len) {
  size_t parsed = http_parser_execute(&conn->parser, &parser_settings, data, len);
  if (conn->closing) return;
  enum http_errno error = HTTP_PARSER_ERRNO(&conn->parser);
  if (error == HPE_PAUSED) {
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
  if (error == HPE_OK && !conn->error_status) return;

  int status = conn->error_status ? conn->error_status : 400;
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
  http_parser_init(&conn->parser, HTTP_REQUEST);
  conn->parser.data = conn;
  request_reset(conn);
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
