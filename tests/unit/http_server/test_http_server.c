/* Unit tests for http_server: a real server on 127.0.0.1 (ephemeral port) on
 * a libuv loop in the main thread, driven by a client thread over blocking
 * sockets. Run under the sanitizer build, ASan's leak checker also proves
 * http_server_stop frees everything. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include "http_server.h"
#include "metrics.h"
#include "testing.h"

#define MAX_BODY 1024

typedef struct test_ctx {
  atomic_bool ready;
  metrics_family *handled; /* touched on the loop thread only */
} test_ctx;

static int server_port;

/* ---- server side (loop thread) --------------------------------------- */

static bool ready_cb(void *ctx, const char **reason) {
  test_ctx *t = ctx;
  if (atomic_load(&t->ready)) return true;
  *reason = "kafka";
  return false;
}

/* /echo answers with what the server parsed, so the client can check it. */
static bool handler_cb(void *ctx, const http_request *request, http_response *response) {
  test_ctx *t = ctx;
  if (strcmp(request->path, "/echo") == 0) {
    metrics_add(t->handled, "echo", 1);
    size_t cap = 256 + strlen(request->authorization) + strlen(request->content_type) +
                 strlen(request->query) + request->body_len;
    char *body = malloc(cap);
    int n = snprintf(body, cap, "method=%s\nquery=%s\nauth=%s\nctype=%s\nlen=%zu\nbody=%s",
                     request->method, request->query, request->authorization, request->content_type,
                     request->body_len, request->body);
    response->status = 200;
    response->content_type = "text/plain";
    response->body = body;
    response->body_len = (size_t)n;
    return true;
  }
  if (strcmp(request->path, "/error") == 0) {
    http_respond_error(response, 409, "conflict", "already \"there\"");
    return true;
  }
  if (strcmp(request->path, "/json") == 0) {
    http_respond_json(response, 201, "{\"id\":1}");
    return true;
  }
  return false;
}

/* ---- client side (test thread) ----------------------------------------- */

typedef struct client {
  int fd;
  char buf[65536];
  size_t len;
} client;

typedef struct reply {
  int status;
  char headers[4096];
  char *body;
  size_t body_len;
} reply;

static int client_open(client *c) {
  c->len = 0;
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) return -1;
  /* Only a guard so a broken server cannot hang the test forever. */
  struct timeval tv = {.tv_sec = 20};
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server_port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  return 0;
}

static void client_close(client *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

static int client_send(client *c, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n <= 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

static int client_fill(client *c) {
  if (c->len == sizeof(c->buf)) return -1;
  ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
  if (n <= 0) return -1;
  c->len += (size_t)n;
  return 0;
}

/* Reads one response (Content-Length framed); keeps any bytes after it. */
static int client_read(client *c, reply *r) {
  memset(r, 0, sizeof(*r));
  char *end;
  while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
    if (client_fill(c) != 0) return -1;
  }
  size_t head_len = (size_t)(end - c->buf) + 4;
  if (head_len >= sizeof(r->headers)) return -1;
  memcpy(r->headers, c->buf, head_len);
  r->headers[head_len] = '\0';
  if (sscanf(r->headers, "HTTP/1.1 %d ", &r->status) != 1) return -1;
  char *cl = strcasestr(r->headers, "\r\nContent-Length: ");
  if (!cl) return -1;
  size_t body_len = strtoul(cl + 18, NULL, 10);
  while (c->len < head_len + body_len) {
    if (client_fill(c) != 0) return -1;
  }
  r->body = malloc(body_len + 1);
  memcpy(r->body, c->buf + head_len, body_len);
  r->body[body_len] = '\0';
  r->body_len = body_len;
  memmove(c->buf, c->buf + head_len + body_len, c->len - head_len - body_len);
  c->len -= head_len + body_len;
  return 0;
}

/* True when the server closed the connection (EOF or reset, no more data). */
static bool client_closed_by_peer(client *c) {
  if (c->len > 0) return false;
  char byte;
  ssize_t n = recv(c->fd, &byte, 1, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

static bool has_header(const reply *r, const char *line) {
  return strcasestr(r->headers, line) != NULL;
}

/* One request on a fresh connection. */
static int request_once(const char *raw, size_t len, reply *r) {
  client c;
  if (client_open(&c) != 0) return -1;
  int rc = client_send(&c, raw, len);
  if (rc == 0) rc = client_read(&c, r);
  client_close(&c);
  return rc;
}

static int get(const char *path, reply *r) {
  char raw[512];
  int n = snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path);
  return request_once(raw, (size_t)n, r);
}

static void test_healthz(void) {
  reply r;
  CHECK_EQ_INT(get("/healthz", &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_STR(r.body, "ok\n");
  CHECK(has_header(&r, "\r\nContent-Type: text/plain"));
  CHECK(has_header(&r, "\r\nContent-Length: 3\r\n"));
  CHECK(has_header(&r, "\r\nConnection: keep-alive\r\n"));
  free(r.body);
}

static void test_readyz(test_ctx *t) {
  reply r;
  atomic_store(&t->ready, true);
  CHECK_EQ_INT(get("/readyz", &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_STR(r.body, "ready\n");
  free(r.body);

  atomic_store(&t->ready, false);
  CHECK_EQ_INT(get("/readyz", &r), 0);
  CHECK_EQ_INT(r.status, 503);
  CHECK_EQ_STR(r.body, "not ready: kafka\n");
  free(r.body);
  atomic_store(&t->ready, true);
}

static void test_metrics_route(void) {
  reply r;
  /* One handled request first, so the page shows a count the server made. */
  const char *echo = "POST /echo HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
  CHECK_EQ_INT(request_once(echo, strlen(echo), &r), 0);
  free(r.body);
  CHECK_EQ_INT(get("/metrics?x=1", &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK(has_header(&r, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  CHECK(r.body && strstr(r.body,
                         "# HELP test_handled_total Requests the handler served.\n"
                         "# TYPE test_handled_total counter\n"
                         "test_handled_total{route=\"echo\"} "));
  free(r.body);
}

static void test_not_found_and_method(void) {
  reply r;
  CHECK_EQ_INT(get("/nope", &r), 0);
  CHECK_EQ_INT(r.status, 404);
  CHECK_EQ_STR(r.body, "{\"error\":\"not_found\",\"message\":\"no such route\"}");
  CHECK(has_header(&r, "\r\nContent-Type: application/json\r\n"));
  free(r.body);

  const char *post = "POST /healthz HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
  CHECK_EQ_INT(request_once(post, strlen(post), &r), 0);
  CHECK_EQ_INT(r.status, 405);
  CHECK(has_header(&r, "\r\nAllow: GET\r\n"));
  CHECK(r.body && strstr(r.body, "\"error\":\"method_not_allowed\""));
  free(r.body);

  const char *del = "DELETE /metrics HTTP/1.1\r\n\r\n";
  CHECK_EQ_INT(request_once(del, strlen(del), &r), 0);
  CHECK_EQ_INT(r.status, 405);
  free(r.body);
}

static void test_handler_gets_body_and_headers(void) {
  const char *raw =
      "POST /echo?partner=p1 HTTP/1.1\r\n"
      "Host: test\r\n"
      "authorization:   Bearer abc.def  \r\n"
      "Content-Type: application/json\r\n"
      "Content-Length: 13\r\n"
      "\r\n"
      "{\"revoke\":42}";
  reply r;
  CHECK_EQ_INT(request_once(raw, strlen(raw), &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_STR(r.body,
               "method=POST\nquery=partner=p1\nauth=Bearer abc.def\n"
               "ctype=application/json\nlen=13\nbody={\"revoke\":42}");
  CHECK(has_header(&r, "\r\nContent-Type: text/plain\r\n"));
  free(r.body);

  /* Chunked bodies are reassembled. */
  const char *chunked =
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
  CHECK_EQ_INT(request_once(chunked, strlen(chunked), &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK(r.body && strstr(r.body, "\nlen=7\nbody=abcdefg"));
  CHECK(r.body && strstr(r.body, "\nauth=\nctype=\n"));
  free(r.body);
}

static void test_handler_helpers_over_http(void) {
  reply r;
  const char *raw = "PUT /error HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
  CHECK_EQ_INT(request_once(raw, strlen(raw), &r), 0);
  CHECK_EQ_INT(r.status, 409);
  CHECK_EQ_STR(r.body, "{\"error\":\"conflict\",\"message\":\"already \\\"there\\\"\"}");
  free(r.body);
  CHECK_EQ_INT(get("/json", &r), 0);
  CHECK_EQ_INT(r.status, 201);
  CHECK_EQ_STR(r.body, "{\"id\":1}");
  CHECK(has_header(&r, "\r\nContent-Type: application/json\r\n"));
  free(r.body);
}

static void test_byte_by_byte(void) {
  /* Every parser callback sees split data. */
  const char *raw =
      "POST /echo?q HTTP/1.1\r\nAuthorization: Basic eA==\r\nContent-Length: 3\r\n\r\nxyz";
  client c;
  CHECK_EQ_INT(client_open(&c), 0);
  for (size_t i = 0; raw[i]; i++) CHECK_EQ_INT(client_send(&c, raw + i, 1), 0);
  reply r;
  CHECK_EQ_INT(client_read(&c, &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK(r.body && strstr(r.body, "query=q\nauth=Basic eA==\n"));
  CHECK(r.body && strstr(r.body, "body=xyz"));
  free(r.body);
  client_close(&c);
}

static void test_body_too_large(void) {
  /* Announced by Content-Length: refused before the body is read. */
  char raw[256];
  int n =
      snprintf(raw, sizeof(raw), "POST /echo HTTP/1.1\r\nContent-Length: %d\r\n\r\n", MAX_BODY + 1);
  client c;
  CHECK_EQ_INT(client_open(&c), 0);
  CHECK_EQ_INT(client_send(&c, raw, (size_t)n), 0);
  char *body = malloc(MAX_BODY + 1);
  memset(body, 'x', MAX_BODY + 1);
  client_send(&c, body, MAX_BODY + 1); /* the server may have closed already */
  reply r;
  CHECK_EQ_INT(client_read(&c, &r), 0);
  CHECK_EQ_INT(r.status, 413);
  CHECK(has_header(&r, "\r\nConnection: close\r\n"));
  CHECK(r.body && strstr(r.body, "\"error\":\"payload_too_large\""));
  free(r.body);
  CHECK(client_closed_by_peer(&c));
  client_close(&c);

  /* Chunked: found out while reading. */
  CHECK_EQ_INT(client_open(&c), 0);
  const char *head = "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK_EQ_INT(client_send(&c, head, strlen(head)), 0);
  char chunk_head[32];
  n = snprintf(chunk_head, sizeof(chunk_head), "%x\r\n", MAX_BODY + 1);
  CHECK_EQ_INT(client_send(&c, chunk_head, (size_t)n), 0);
  client_send(&c, body, MAX_BODY + 1);
  client_send(&c, "\r\n0\r\n\r\n", 7);
  CHECK_EQ_INT(client_read(&c, &r), 0);
  CHECK_EQ_INT(r.status, 413);
  free(r.body);
  CHECK(client_closed_by_peer(&c));
  client_close(&c);

  /* Exactly the limit is fine. */
  n = snprintf(raw, sizeof(raw), "POST /echo HTTP/1.1\r\nContent-Length: %d\r\n\r\n", MAX_BODY);
  CHECK_EQ_INT(client_open(&c), 0);
  CHECK_EQ_INT(client_send(&c, raw, (size_t)n), 0);
  CHECK_EQ_INT(client_send(&c, body, MAX_BODY), 0);
  CHECK_EQ_INT(client_read(&c, &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK(r.body && strstr(r.body, "\nlen=1024\n"));
  free(r.body);
  client_close(&c);
  free(body);
}

static void test_head_too_large(void) {
  size_t big = 9000;
  char *raw = malloc(big + 128);
  int n = snprintf(raw, big + 128, "GET /healthz HTTP/1.1\r\nX-Big: ");
  memset(raw + n, 'a', big);
  memcpy(raw + n + big, "\r\n\r\n", 5);
  reply r;
  CHECK_EQ_INT(request_once(raw, strlen(raw), &r), 0);
  CHECK_EQ_INT(r.status, 431);
  CHECK(has_header(&r, "\r\nConnection: close\r\n"));
  free(r.body);

  /* A long URL counts too. */
  n = snprintf(raw, big + 128, "GET /");
  memset(raw + n, 'u', big);
  memcpy(raw + n + big, " HTTP/1.1\r\n\r\n", 14);
  CHECK_EQ_INT(request_once(raw, strlen(raw), &r), 0);
  CHECK_EQ_INT(r.status, 431);
  free(r.body);

  /* Many small headers just under the limit pass. */
  size_t used = (size_t)snprintf(raw, big + 128, "GET /healthz HTTP/1.1\r\n");
  for (int i = 0; i < 100; i++) {
    used += (size_t)snprintf(raw + used, big + 128 - used, "X-H%02d: %060d\r\n", i, i);
  }
  memcpy(raw + used, "\r\n", 3);
  CHECK_EQ_INT(request_once(raw, strlen(raw), &r), 0);
  CHECK_EQ_INT(r.status, 200);
  free(r.body);
  free(raw);
}

static void test_malformed(void) {
  reply r;
  const char *garbage = "\x01\x02\x03 nonsense\r\n\r\n";
  CHECK_EQ_INT(request_once(garbage, strlen(garbage), &r), 0);
  CHECK_EQ_INT(r.status, 400);
  CHECK(r.body && strstr(r.body, "\"error\":\"bad_request\""));
  free(r.body);

  const char *bad_version = "GET / HTTP/9x\r\n\r\n";
  CHECK_EQ_INT(request_once(bad_version, strlen(bad_version), &r), 0);
  CHECK_EQ_INT(r.status, 400);
  free(r.body);

  const char *two_auth = "GET /echo HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n";
  CHECK_EQ_INT(request_once(two_auth, strlen(two_auth), &r), 0);
  CHECK_EQ_INT(r.status, 400);
  free(r.body);
}

static void test_keep_alive(void) {
  client c;
  reply r;
  CHECK_EQ_INT(client_open(&c), 0);
  const char *one = "GET /healthz HTTP/1.1\r\n\r\n";
  const char *two = "GET /readyz HTTP/1.1\r\n\r\n";
  CHECK_EQ_INT(client_send(&c, one, strlen(one)), 0);
  CHECK_EQ_INT(client_read(&c, &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_STR(r.body, "ok\n");
  free(r.body);
  CHECK_EQ_INT(client_send(&c, two, strlen(two)), 0);
  CHECK_EQ_INT(client_read(&c, &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK_EQ_STR(r.body, "ready\n");
  free(r.body);

  /* Pipelined: three requests in one write, answered in order. */
  const char *three =
      "GET /healthz HTTP/1.1\r\n\r\n"
      "POST /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\nping"
      "GET /nope HTTP/1.1\r\n\r\n";
  CHECK_EQ_INT(client_send(&c, three, strlen(three)), 0);
  CHECK_EQ_INT(client_read(&c, &r), 0);
  CHECK_EQ_INT(r.status, 200);
  free(r.body);
  CHECK_EQ_INT(client_read(&c, &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK(r.body && strstr(r.body, "body=ping"));
  free(r.body);
  CHECK_EQ_INT(client_read(&c, &r), 0);
  CHECK_EQ_INT(r.status, 404);
  free(r.body);

  /* Connection: close is honoured. */
  const char *last = "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n";
  CHECK_EQ_INT(client_send(&c, last, strlen(last)), 0);
  CHECK_EQ_INT(client_read(&c, &r), 0);
  CHECK_EQ_INT(r.status, 200);
  CHECK(has_header(&r, "\r\nConnection: close\r\n"));
  free(r.body);
  CHECK(client_closed_by_peer(&c));
  client_close(&c);

  /* HTTP/1.0 without keep-alive closes after one response. */
  CHECK_EQ_INT(client_open(&c), 0);
  const char *old = "GET /healthz HTTP/1.0\r\n\r\n";
  CHECK_EQ_INT(client_send(&c, old, strlen(old)), 0);
  CHECK_EQ_INT(client_read(&c, &r), 0);
  CHECK_EQ_INT(r.status, 200);
  free(r.body);
  CHECK(client_closed_by_peer(&c));
  client_close(&c);
}

static void test_half_close_still_answered(void) {
  client c;
  reply r;
  CHECK_EQ_INT(client_open(&c), 0);
  const char *raw = "GET /healthz HTTP/1.1\r\n\r\n";
  CHECK_EQ_INT(client_send(&c, raw, strlen(raw)), 0);
  shutdown(c.fd, SHUT_WR);
  CHECK_EQ_INT(client_read(&c, &r), 0);
  CHECK_EQ_INT(r.status, 200);
  free(r.body);
  client_close(&c);
}

static void test_connection_limit(void) {
  enum { LIMIT = 256 };
  static client conns[LIMIT];
  int opened = 0;
  const char *raw = "GET /healthz HTTP/1.1\r\n\r\n";
  /* A response on each proves the server holds all of them open. */
  for (int i = 0; i < LIMIT; i++) {
    if (client_open(&conns[i]) != 0) break;
    opened++;
    reply r;
    if (client_send(&conns[i], raw, strlen(raw)) != 0 || client_read(&conns[i], &r) != 0) break;
    CHECK_EQ_INT(r.status, 200);
    free(r.body);
  }
  CHECK_EQ_INT(opened, LIMIT);

  client extra;
  CHECK_EQ_INT(client_open(&extra), 0); /* the kernel accepts; the server closes it */
  client_send(&extra, raw, strlen(raw));
  CHECK(client_closed_by_peer(&extra));
  client_close(&extra);

  for (int i = 0; i < opened; i++) client_close(&conns[i]);

  /* Once those are gone, new connections are served again (the server may
   * still be closing the old ones, so a refusal here is retried). */
  bool served = false;
  for (int attempt = 0; attempt < 100 && !served; attempt++) {
    reply r;
    if (get("/healthz", &r) == 0) {
      served = r.status == 200;
      free(r.body);
    } else {
      usleep(10000);
    }
  }
  CHECK(served);
}

typedef struct client_run {
  test_ctx *t;
  uv_async_t *done;
  client idle;
} client_run;

static void client_thread(void *arg) {
  client_run *run = arg;
  RUN(test_healthz);
  test_readyz(run->t);
  fprintf(stderr, "ok   test_readyz\n");
  RUN(test_metrics_route);
  RUN(test_not_found_and_method);
  RUN(test_handler_gets_body_and_headers);
  RUN(test_handler_helpers_over_http);
  RUN(test_byte_by_byte);
  RUN(test_body_too_large);
  RUN(test_head_too_large);
  RUN(test_malformed);
  RUN(test_keep_alive);
  RUN(test_half_close_still_answered);
  RUN(test_connection_limit);
  /* An open connection, mid-request, when the server stops. */
  if (client_open(&run->idle) == 0) client_send(&run->idle, "GET /hea", 8);
  uv_async_send(run->done);
}

static http_server *running_server;

static void on_done(uv_async_t *async) {
  http_server_stop(running_server);
  uv_close((uv_handle_t *)async, NULL);
}

static void test_server_end_to_end(void) {
  uv_loop_t loop;
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  metrics_registry *registry = metrics_registry_new();
  test_ctx t = {.handled = metrics_counter(registry, "test_handled_total",
                                           "Requests the handler served.", "route")};
  atomic_init(&t.ready, true);
  http_settings settings = {.host = "127.0.0.1",
                            .port = 0,
                            .max_body = MAX_BODY,
                            .metrics = registry,
                            .ready = ready_cb,
                            .handler = handler_cb,
                            .ctx = &t};
  char err[256] = "";
  http_server *server = NULL;
  CHECK_EQ_INT(http_server_start(&loop, &settings, &server, err, sizeof(err)), 0);
  CHECK(server != NULL);
  if (!server) return;
  server_port = http_server_port(server);
  CHECK(server_port > 0);
  running_server = server;

  /* The port is taken: a second server fails with a message. */
  http_settings same = settings;
  same.port = server_port;
  http_server *second = NULL;
  CHECK(http_server_start(&loop, &same, &second, err, sizeof(err)) < 0);
  CHECK(second == NULL);
  CHECK(strstr(err, "address already in use") != NULL);

  uv_async_t done;
  uv_async_init(&loop, &done, on_done);
  client_run run = {.t = &t, .done = &done, .idle = {.fd = -1}};
  uv_thread_t thread;
  CHECK_EQ_INT(uv_thread_create(&thread, client_thread, &run), 0);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  uv_thread_join(&thread);

  /* Every handle was closed: the loop had nothing left and closes cleanly. */
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  client_close(&run.idle);
  metrics_registry_free(registry);
}

static void test_start_errors(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  http_settings settings = {.host = "not-an-ip", .port = 0};
  http_server *server = (http_server *)&settings; /* must be reset */
  char err[128] = "";
  CHECK(http_server_start(&loop, &settings, &server, err, sizeof(err)) < 0);
  CHECK(server == NULL);
  CHECK_EQ_STR(err, "http: invalid listen address");
  settings.host = "127.0.0.1";
  settings.port = 70000;
  CHECK(http_server_start(&loop, &settings, &server, err, sizeof(err)) < 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  http_server_stop(NULL);
}

static void test_respond_helpers(void) {
  http_response response = {0};
  http_respond_error(&response, 400, "bad_input",
                     "quote \" backslash \\ newline\n tab\t ctl\x01 é");
  CHECK_EQ_INT(response.status, 400);
  CHECK_EQ_STR(response.content_type, "application/json");
  CHECK_EQ_STR(response.body,
               "{\"error\":\"bad_input\",\"message\":\"quote \\\" backslash \\\\ newline\\n "
               "tab\\t ctl\\u0001 é\"}");
  CHECK_EQ_INT(response.body_len, strlen(response.body));
  /* A second call replaces (and frees) the first body. */
  http_respond_json(&response, 200, "{\"ok\":true}");
  CHECK_EQ_INT(response.status, 200);
  CHECK_EQ_STR(response.body, "{\"ok\":true}");
  CHECK_EQ_INT(response.body_len, 11);
  free(response.body);
}

int main(void) {
  RUN(test_respond_helpers);
  RUN(test_start_errors);
  RUN(test_server_end_to_end);
  return testing_summary();
}
