/* admin_http: an answer-later HTTP/1.1 listener (see admin_http.h). Each
 * connection carries at most one request; what arrives after it is ignored
 * and the connection closes once the answer is written. */
#include "admin_http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin_api.h"
#include "admin_tls.h"

#define ADMIN_HTTP_MAX_HEAD 8192
/* The whole request (head and body) must arrive within this time from the
 * connect, however slowly its bytes trickle in: a deadline, not an idle
 * timer, so a slowloris client cannot hold a connection by sending a byte
 * now and then. */
#define ADMIN_HTTP_REQUEST_DEADLINE_MS 10000
/* Open connections at most; one more closes the oldest that has not sent a
 * whole request yet, so unfinished connections cannot lock operators out. */
#define ADMIN_HTTP_MAX_CONNS 256

struct admin_http {
  uv_loop_t *loop;
  uv_tcp_t listener;
  size_t max_body;
  admin_http_fn handler;
  void *ctx;
  admin_tls_context *tls; /* NULL: plain HTTP (loopback only) */
  admin_http_conn *conns; /* list of open connections, newest first */
  size_t conn_count;
  bool stopping;
  int open_handles; /* listener + connections; freed when 0 after stop */
};

enum { HDR_NONE, HDR_AUTH, HDR_OTHER };

struct admin_http_conn {
  admin_http *server;
  uv_tcp_t tcp;
  uv_timer_t deadline;
  admin_http_reader reader;
  admin_tls_session *tls; /* NULL for plain HTTP */
  admin_http_request *req; /* being read, or handed to the handler */
  admin_http_conn *next, *prev;
  bool handed_over;
  bool closing;
  bool answered;
  int handles; /* tcp + timer still to close */
};

static void admin_http_free_server_if_done(admin_http *server) {
  if (!server->stopping || server->open_handles != 0) return;
  admin_tls_context_free(server->tls);
  free(server);
}

static void admin_http_on_conn_closed(uv_handle_t *handle) {
  admin_http_conn *conn = handle->data;
  if (--conn->handles > 0) return;
  admin_http *server = conn->server;
  if (conn->req) {
    if (conn->handed_over) {
      conn->req->conn = NULL; /* the handler still answers; it goes nowhere */
    } else {
      free(conn->req->body);
      free(conn->req);
    }
  }
  admin_tls_session_free(conn->tls);
  free(conn);
  server->open_handles--;
  admin_http_free_server_if_done(server);
}

static void admin_http_close(admin_http_conn *conn) {
  if (conn->closing) return;
  conn->closing = true;
  if (conn->prev)
    conn->prev->next = conn->next;
  else
    conn->server->conns = conn->next;
  if (conn->next) conn->next->prev = conn->prev;
  conn->server->conn_count--;
  uv_timer_stop(&conn->deadline);
  uv_close((uv_handle_t *)&conn->deadline, admin_http_on_conn_closed);
  uv_close((uv_handle_t *)&conn->tcp, admin_http_on_conn_closed);
}

static const char *admin_http_reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

typedef struct admin_http_write {
  uv_write_t req;
  admin_http_conn *conn;
  bool close_after;
  char *data;
} admin_http_write;

static void admin_http_on_written(uv_write_t *w, int status) {
  admin_http_write *write = (admin_http_write *)w;
  if (write->close_after || status < 0) admin_http_close(write->conn);
  free(write->data);
  free(write);
}

/* Writes data (malloc'd; taken over) to the socket; with close_after, the
 * connection closes once it is written. */
static void admin_http_write_bytes(admin_http_conn *conn, char *data, size_t len,
                                   bool close_after) {
  admin_http_write *w = malloc(sizeof *w);
  if (!w || !data || len == 0) {
    free(w);
    free(data);
    if (close_after || !data) admin_http_close(conn);
    return;
  }
  w->conn = conn;
  w->close_after = close_after;
  w->data = data;
  uv_buf_t buf = uv_buf_init(data, (unsigned)len);
  if (uv_write(&w->req, (uv_stream_t *)&conn->tcp, &buf, 1, admin_http_on_written) != 0) {
    free(data);
    free(w);
    admin_http_close(conn);
  }
}

/* Sends what TLS wants written (handshake records); keeps the connection. */
static void admin_http_flush_tls(admin_http_conn *conn) {
  size_t len = 0;
  char *out = admin_tls_pending_output(conn->tls, &len);
  if (out) admin_http_write_bytes(conn, out, len, false);
}

static void admin_http_send(admin_http_conn *conn, int status, const char *json) {
  size_t body_len = strlen(json);
  size_t cap = body_len + 256;
  char *text = malloc(cap);
  if (!text) {
    admin_http_close(conn);
    return;
  }
  int n = snprintf(text, cap,
                   "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                   "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s",
                   status, admin_http_reason(status), body_len, json);
  uv_read_stop((uv_stream_t *)&conn->tcp);
  if (!conn->tls) {
    admin_http_write_bytes(conn, text, (size_t)n, true);
    return;
  }
  /* The answer, then TLS's close_notify, in one write. */
  int rc = admin_tls_send(conn->tls, text, (size_t)n, true);
  free(text);
  size_t len = 0;
  char *out = rc == 0 ? admin_tls_pending_output(conn->tls, &len) : NULL;
  if (out)
    admin_http_write_bytes(conn, out, len, true);
  else
    admin_http_close(conn);
}

/* Answers a request that never reached the handler (bad HTTP, limits). */
static void admin_http_refuse(admin_http_conn *conn, int status, const char *code,
                              const char *message) {
  char json[256];
  snprintf(json, sizeof json, "{\"error\":\"%s\",\"message\":\"%s\"}", code, message);
  conn->answered = true;
  admin_http_send(conn, status, json);
}

void admin_http_respond(admin_http_request *req, int status, const char *json) {
  admin_http_conn *conn = req->conn;
  if (conn) {
    conn->req = NULL;
    if (!conn->closing) admin_http_send(conn, status, json);
  }
  free(req->body);
  free(req);
}

static int admin_http_on_url(http_parser *p, const char *at, size_t len) {
  admin_http_reader *reader = p->data;
  admin_http_request *req = reader->req;
  if (memchr(at, '\0', len)) return 1; /* kept as C strings */
  size_t have = strlen(req->path);
  if (have + len >= sizeof req->path) return 1;
  memcpy(req->path + have, at, len);
  req->path[have + len] = '\0';
  return 0;
}

/* Header names may arrive in pieces (split across reads): collect the name
 * whole before deciding which header a value belongs to. */
static int admin_http_on_header_field(http_parser *p, const char *at, size_t len) {
  admin_http_reader *reader = p->data;
  if (reader->in_value) {
    reader->in_value = false;
    reader->field_len = 0;
  }
  for (size_t i = 0; i < len; i++, reader->field_len++)
    if (reader->field_len < sizeof reader->field) reader->field[reader->field_len] = at[i];
  return 0;
}

static int admin_http_header_kind(const admin_http_reader *reader) {
  if (reader->field_len == 13 && strncasecmp(reader->field, "authorization", 13) == 0)
    return HDR_AUTH;
  return HDR_OTHER;
}

/* Appends a piece of a kept header's value; a value too long to be valid
 * becomes a marker that fails every check, and stays one. */
static void admin_http_append(admin_http_reader *reader, char *dst, size_t cap, const char *at,
                              size_t len) {
  unsigned bit = 1u << reader->header;
  if (reader->too_long & bit) return;
  size_t have = strlen(dst);
  if (have + len >= cap) {
    reader->too_long |= bit;
    snprintf(dst, cap, "%s", "\x01");
    return;
  }
  memcpy(dst + have, at, len);
  dst[have + len] = '\0';
}

static int admin_http_on_header_value(http_parser *p, const char *at, size_t len) {
  admin_http_reader *reader = p->data;
  admin_http_request *req = reader->req;
  /* Values are kept as C strings: a NUL would cut one short, differently
   * depending on how the value was split across reads. */
  if (memchr(at, '\0', len)) return 1;
  if (!reader->in_value) {
    reader->in_value = true;
    reader->header = admin_http_header_kind(reader);
    /* Two Authorization headers are ambiguous: refuse. */
    if (reader->header == HDR_AUTH) {
      unsigned bit = 1u << reader->header;
      if (reader->seen & bit) return 1;
      reader->seen |= bit;
    }
  }
  if (reader->header == HDR_AUTH)
    admin_http_append(reader, req->authorization, sizeof req->authorization, at, len);
  return 0;
}

static int admin_http_on_headers_complete(http_parser *p) {
  admin_http_reader *reader = p->data;
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > reader->max_body) {
    reader->too_large = true;
    return 3; /* any value but 0, 1, 2 stops the parser with an error */
  }
  snprintf(reader->req->method, sizeof reader->req->method, "%s",
           http_method_str((enum http_method)p->method));
  return 0;
}

static int admin_http_on_body(http_parser *p, const char *at, size_t len) {
  admin_http_reader *reader = p->data;
  admin_http_request *req = reader->req;
  if (req->body_len + len > reader->max_body) {
    reader->too_large = true;
    return 1;
  }
  char *grown = realloc(req->body, req->body_len + len + 1);
  if (!grown) return 1;
  req->body = grown;
  memcpy(req->body + req->body_len, at, len);
  req->body_len += len;
  req->body[req->body_len] = '\0';
  return 0;
}

static int admin_http_on_message_complete(http_parser *p) {
  admin_http_reader *reader = p->data;
  admin_http_request *req = reader->req;
  if (!req->body) {
    req->body = calloc(1, 1);
    if (!req->body) return 1;
  }
  /* The query string is not part of any route. */
  char *q = strchr(req->path, '?');
  if (q) *q = '\0';
  reader->complete = true;
  http_parser_pause(p, 1);
  return 0;
}

void admin_http_reader_init(admin_http_reader *reader, admin_http_request *req, size_t max_body) {
  memset(reader, 0, sizeof *reader);
  http_parser_init(&reader->parser, HTTP_REQUEST);
  reader->parser.data = reader;
  reader->req = req;
  reader->max_body = max_body;
}

int admin_http_reader_feed(admin_http_reader *reader, const char *data, size_t len) {
  static const http_parser_settings settings = {
      .on_url = admin_http_on_url,
      .on_header_field = admin_http_on_header_field,
      .on_header_value = admin_http_on_header_value,
      .on_headers_complete = admin_http_on_headers_complete,
      .on_body = admin_http_on_body,
      .on_message_complete = admin_http_on_message_complete,
  };
  if (reader->complete) return 0; /* what follows the request is ignored */
  if (!reader->parser.http_errno && reader->req->method[0] == '\0') reader->head_bytes += len;
  size_t parsed = http_parser_execute(&reader->parser, &settings, data, len);
  if (reader->complete) return 0;
  if (reader->too_large) return 413;
  if (HTTP_PARSER_ERRNO(&reader->parser) != HPE_OK || parsed != len) return 400;
  if (reader->req->method[0] == '\0' && reader->head_bytes > ADMIN_HTTP_MAX_HEAD) return 431;
  return 0;
}

static void admin_http_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  static char slab[16384];
  *buf = uv_buf_init(slab, sizeof slab);
}

/* Parses plaintext of the request; a whole request goes to the handler. */
static void admin_http_feed(admin_http_conn *conn, const char *data, size_t len) {
  int refused = admin_http_reader_feed(&conn->reader, data, len);
  if (conn->reader.complete) {
    conn->handed_over = true;
    uv_timer_stop(&conn->deadline);
    uv_read_stop((uv_stream_t *)&conn->tcp);
    conn->server->handler(conn->server->ctx, conn->req);
  } else if (refused == 413) {
    admin_http_refuse(conn, 413, "body_too_large", "the request body is over the size limit");
  } else if (refused == 431) {
    admin_http_refuse(conn, 431, "head_too_large", "the request head is over 8 KiB");
  } else if (refused) {
    admin_http_refuse(conn, 400, "bad_request", "not a valid HTTP/1.1 request");
  }
}

static bool admin_http_done_reading(const admin_http_conn *conn) {
  return conn->handed_over || conn->answered || conn->closing;
}

/* Decrypts what arrived and parses the plaintext; a client that breaks
 * TLS (or is not speaking it) is closed without an answer. */
static void admin_http_receive_tls(admin_http_conn *conn, const char *data, size_t len) {
  if (admin_tls_receive(conn->tls, data, len) != 0) {
    admin_http_close(conn);
    return;
  }
  static char plain[16384];
  while (!admin_http_done_reading(conn)) {
    long n = admin_tls_read(conn->tls, plain, sizeof plain);
    if (n < 0) {
      admin_http_close(conn);
      return;
    }
    if (n == 0) break;
    admin_http_feed(conn, plain, (size_t)n);
  }
  if (!conn->closing && !conn->answered) admin_http_flush_tls(conn);
}

static void admin_http_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  admin_http_conn *conn = stream->data;
  if (nread < 0) {
    admin_http_close(conn);
    return;
  }
  if (nread == 0 || admin_http_done_reading(conn)) return;
  if (conn->tls)
    admin_http_receive_tls(conn, buf->base, (size_t)nread);
  else
    admin_http_feed(conn, buf->base, (size_t)nread);
}

static void admin_http_on_deadline(uv_timer_t *timer) {
  admin_http_conn *conn = timer->data;
  if (!conn->handed_over) admin_http_close(conn);
}

/* The oldest connection still reading its request, or NULL. */
static admin_http_conn *admin_http_oldest_unfinished(admin_http *server) {
  admin_http_conn *oldest = NULL;
  for (admin_http_conn *c = server->conns; c; c = c->next)
    if (!c->handed_over && !c->answered && !c->closing) oldest = c;
  return oldest;
}

static void admin_http_on_connection(uv_stream_t *listener, int status) {
  admin_http *server = listener->data;
  if (status < 0 || server->stopping) return;
  if (server->conn_count >= ADMIN_HTTP_MAX_CONNS) {
    admin_http_conn *oldest = admin_http_oldest_unfinished(server);
    if (oldest) admin_http_close(oldest);
  }
  admin_http_conn *conn = calloc(1, sizeof *conn);
  admin_http_request *req = calloc(1, sizeof *req);
  if (!conn || !req) {
    free(conn);
    free(req);
    return;
  }
  conn->server = server;
  conn->req = req;
  req->conn = conn;
  uv_tcp_init(server->loop, &conn->tcp);
  uv_timer_init(server->loop, &conn->deadline);
  conn->tcp.data = conn->deadline.data = conn;
  conn->handles = 2;
  server->open_handles++;
  server->conn_count++;
  conn->next = server->conns;
  if (server->conns) server->conns->prev = conn;
  server->conns = conn;
  if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
    admin_http_close(conn);
    return;
  }
  struct sockaddr_storage addr;
  int len = sizeof addr;
  if (uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&addr, &len) == 0) {
    char ip[48] = "";
    if (addr.ss_family == AF_INET) {
      uv_ip4_name((struct sockaddr_in *)&addr, ip, sizeof ip);
      snprintf(req->peer, sizeof req->peer, "%s:%d", ip,
               ntohs(((struct sockaddr_in *)&addr)->sin_port));
    } else if (addr.ss_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)&addr, ip, sizeof ip);
      snprintf(req->peer, sizeof req->peer, "[%s]:%d", ip,
               ntohs(((struct sockaddr_in6 *)&addr)->sin6_port));
    }
  }
  if (server->tls && !(conn->tls = admin_tls_session_new(server->tls))) {
    admin_http_close(conn);
    return;
  }
  admin_http_reader_init(&conn->reader, req, server->max_body);
  uv_timer_start(&conn->deadline, admin_http_on_deadline, ADMIN_HTTP_REQUEST_DEADLINE_MS, 0);
  uv_read_start((uv_stream_t *)&conn->tcp, admin_http_alloc, admin_http_on_read);
}

int admin_http_start(uv_loop_t *loop, const admin_http_settings *settings, admin_http_fn handler,
                     void *ctx, admin_http **out, char *err, size_t err_len) {
  const char *host = settings->host;
  int port = settings->port;
  bool has_cert = settings->cert_file && *settings->cert_file;
  bool has_key = settings->key_file && *settings->key_file;
  if (has_cert != has_key) {
    snprintf(err, err_len, "the admin TLS certificate and key go together: set both or neither");
    return -1;
  }
  if (!has_cert && !admin_address_loopback(host)) {
    snprintf(err, err_len,
             "without a TLS certificate and key the admin API listens on loopback only "
             "(127.0.0.1 or ::1), not %s",
             host);
    return -1;
  }
  struct sockaddr_storage addr;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0) {
    snprintf(err, err_len, "invalid listen address");
    return -1;
  }
  admin_tls_context *tls = NULL;
  if (has_cert && !(tls = admin_tls_context_new(settings->cert_file, settings->key_file, err,
                                                 err_len)))
    return -1;
  admin_http *server = calloc(1, sizeof *server);
  if (!server) {
    admin_tls_context_free(tls);
    snprintf(err, err_len, "out of memory");
    return -1;
  }
  server->loop = loop;
  server->tls = tls;
  server->max_body = settings->max_body ? settings->max_body : 16384;
  server->handler = handler;
  server->ctx = ctx;
  uv_tcp_init(loop, &server->listener);
  server->listener.data = server;
  server->open_handles = 1;
  int rc = uv_tcp_bind(&server->listener, (struct sockaddr *)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&server->listener, 64, admin_http_on_connection);
  if (rc != 0) {
    snprintf(err, err_len, "cannot listen on the admin address: %s", uv_strerror(rc));
    server->stopping = true;
    uv_close((uv_handle_t *)&server->listener, NULL);
    /* Freed once the loop closed the handle; leaking it on this fatal path
     * is harmless since the process exits. */
    return -1;
  }
  *out = server;
  return 0;
}

int admin_http_port(const admin_http *server) {
  struct sockaddr_storage addr;
  int len = sizeof addr;
  if (uv_tcp_getsockname(&server->listener, (struct sockaddr *)&addr, &len) != 0) return -1;
  if (addr.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&addr)->sin_port);
  return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
}

static void admin_http_on_listener_closed(uv_handle_t *handle) {
  admin_http *server = handle->data;
  server->open_handles--;
  admin_http_free_server_if_done(server);
}

void admin_http_stop(admin_http *server) {
  if (!server || server->stopping) return;
  server->stopping = true;
  while (server->conns) admin_http_close(server->conns);
  uv_close((uv_handle_t *)&server->listener, admin_http_on_listener_closed);
}
