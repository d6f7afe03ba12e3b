/* pg_client: asynchronous PostgreSQL on a libuv loop (see pg_client.h).
 *
 * One connection per client, in libpq pipeline mode. Queries submitted during
 * a loop turn wait in `queued`; a check handle at the end of the turn writes
 * them followed by one sync and moves them to `sent`, where results are
 * matched in order. A uv_idle handle is active while queries wait, so the
 * loop does not block in poll before the check handle has flushed them.
 *
 * Lifetime: the client owns three embedded handles (timer, check, idle) and
 * at most one heap-allocated poll handle. pgq_close closes them all; the
 * client is freed by the last embedded handle's close callback, so user
 * callbacks may call pgq_close at any point and the code that called them can
 * still look at the client afterwards (it checks `closing` and returns). */
#include "pg_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PGQ_BACKOFF_MIN_MS 100
#define PGQ_BACKOFF_MAX_MS 5000
/* PQconnectPoll does not enforce connect_timeout, so the client does. */
#define PGQ_CONNECT_TIMEOUT_MS 10000
#define PGQ_REASON_LEN 256

typedef enum pgq_kind {
  PGQ_KIND_PREPARE,  /* internal: prepares a registered statement */
  PGQ_KIND_PREPARED, /* user: runs a prepared statement */
  PGQ_KIND_TEXT,     /* user: runs SQL text without parameters */
} pgq_kind;

typedef struct pgq_query {
  struct pgq_query *next;
  pgq_kind kind;
  const char *name; /* statement name, owned by the client */
  const char *sql;  /* PREPARE: owned by the client; TEXT: in this block */
  int param_count;
  const char **values;
  int *lengths;
  int *formats;
  pgq_result_fn on_result;
  void *arg;
  PGresult *result; /* last result received for this query */
  bool aborted;     /* the server skipped it after an earlier error */
  bool sync_after;  /* the segment's sync follows this query */
} pgq_query;

typedef struct pgq_list {
  pgq_query *head;
  pgq_query *tail;
} pgq_list;

typedef enum pgq_phase {
  PGQ_PHASE_WAITING,    /* no connection; retry timer may be running */
  PGQ_PHASE_CONNECTING, /* PQconnectPoll in progress */
  PGQ_PHASE_PREPARING,  /* connected, statements being prepared */
  PGQ_PHASE_READY,      /* accepting queries */
  PGQ_PHASE_CLOSED,
} pgq_phase;

struct pgq_client {
  uv_loop_t *loop;
  char *conninfo;
  pgq_statement *statements;
  size_t statement_count;
  pgq_state_fn on_state;
  void *ctx;

  PGconn *conn;
  pgq_phase phase;
  unsigned generation; /* bumped whenever the connection is dropped */
  uv_poll_t *poll;
  int poll_fd;
  bool want_write; /* PQflush left data in libpq's buffer */
  bool expect_sync;

  uv_timer_t timer; /* retry backoff, or connect timeout while connecting */
  uv_check_t check; /* flushes `queued` at the end of the loop turn */
  uv_idle_t idle;   /* keeps poll from blocking while queries wait */
  int handles_open;
  bool closing;

  pgq_list queued;
  pgq_list sent;
  pgq_list answered; /* results in, waiting for their segment's sync */
  size_t user_pending; /* user queries in queued + sent */

  size_t prepares_left;
  bool prepare_failed;
  char prepare_error[PGQ_REASON_LEN];

  uint64_t backoff_ms;
  char last_reason[PGQ_REASON_LEN]; /* last on_state(false) reason reported */
  pgq_stats stats;
};

static void pgq_on_poll(uv_poll_t *handle, int status, int events);

/* ---- small helpers ---- */

static void pgq_list_push(pgq_list *list, pgq_query *q) {
  q->next = NULL;
  if (list->tail)
    list->tail->next = q;
  else
    list->head = q;
  list->tail = q;
}

static pgq_query *pgq_list_pop(pgq_list *list) {
  pgq_query *q = list->head;
  if (q) {
    list->head = q->next;
    if (!list->head) list->tail = NULL;
    q->next = NULL;
  }
  return q;
}

/* Copies a libpq message into one line: connection errors come as several
 * lines ("...failed: Connection refused\n\tIs the server running..."). */
static void pgq_one_line(char *out, size_t out_len, const char *msg) {
  size_t n = 0;
  bool space = false;
  if (out_len == 0) return;
  for (const char *p = msg ? msg : ""; *p && n + 1 < out_len; p++) {
    if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ') {
      space = n > 0;
      continue;
    }
    if (space && n + 2 < out_len) out[n++] = ' ';
    space = false;
    out[n++] = *p;
  }
  out[n] = '\0';
  if (n == 0) snprintf(out, out_len, "unknown error");
}

/* libpq prints notices to stderr by default; the library stays silent. */
static void pgq_ignore_notice(void *arg, const PGresult *res) {
  (void)arg;
  (void)res;
}

static void pgq_poll_closed(uv_handle_t *handle) {
  free(handle);
}

/* Closes the poll handle while the socket is still open, so libuv removes
 * the descriptor from epoll before libpq closes it. */
static void pgq_poll_release(pgq_client *c) {
  if (c->poll) {
    uv_close((uv_handle_t *)c->poll, pgq_poll_closed);
    c->poll = NULL;
    c->poll_fd = -1;
  }
}

/* Watches libpq's current socket. The socket can change during connection
 * (next address, SSL retry), so a new handle is made when the number
 * differs; uv_poll_start re-registers the descriptor every time, which also
 * covers a new socket that reused the old number. */
static int pgq_watch(pgq_client *c, int events) {
  int fd = PQsocket(c->conn);
  if (fd < 0) return -EBADF;
  if (c->poll && c->poll_fd != fd) pgq_poll_release(c);
  if (!c->poll) {
    uv_poll_t *poll = malloc(sizeof(*poll));
    if (!poll) return -ENOMEM;
    int rc = uv_poll_init_socket(c->loop, poll, fd);
    if (rc < 0) {
      free(poll);
      return rc;
    }
    poll->data = c;
    c->poll = poll;
    c->poll_fd = fd;
  }
  return uv_poll_start(c->poll, events, pgq_on_poll);
}

static int pgq_watch_io(pgq_client *c) {
  return pgq_watch(c, UV_READABLE | (c->want_write ? UV_WRITABLE : 0));
}

/* ---- delivering results ---- */

static void pgq_deliver(pgq_client *c, pgq_query *q, const char *forced_error) {
  const PGresult *res = NULL;
  const char *error = forced_error;
  char text[64];
  if (!error && q->aborted) {
    error = PGQ_ERROR_ABORTED;
  } else if (!error) {
    res = q->result;
    ExecStatusType st = PQresultStatus(res);
    if (!res) {
      error = "no result";
    } else if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
      /* Only the SQLSTATE: message text can quote parameter values. */
      const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      if (state)
        snprintf(text, sizeof(text), "query failed (SQLSTATE %.5s)", state);
      else
        snprintf(text, sizeof(text), "query failed");
      error = text;
    }
  }
  c->user_pending--;
  q->on_result(q->arg, res, error);
  PQclear(q->result);
  free(q);
}

/* Fails every queued and sent query. The lists are detached first so that
 * callbacks submitting or closing see a consistent client. */
static void pgq_fail_all(pgq_client *c, const char *error) {
  pgq_list pending = c->answered;
  if (c->sent.head) {
    if (pending.tail)
      pending.tail->next = c->sent.head;
    else
      pending.head = c->sent.head;
    pending.tail = c->sent.tail;
  }
  if (c->queued.head) {
    if (pending.tail)
      pending.tail->next = c->queued.head;
    else
      pending.head = c->queued.head;
    pending.tail = c->queued.tail;
  }
  c->answered = (pgq_list){0};
  c->sent = (pgq_list){0};
  c->queued = (pgq_list){0};
  pgq_query *q;
  while ((q = pgq_list_pop(&pending))) {
    if (q->kind == PGQ_KIND_PREPARE) {
      PQclear(q->result);
      free(q);
    } else {
      pgq_deliver(c, q, error);
    }
  }
}

/* ---- connection lifecycle ---- */

static void pgq_conn_reset(pgq_client *c) {
  pgq_poll_release(c);
  if (c->conn) {
    PQfinish(c->conn);
    c->conn = NULL;
  }
  c->generation++;
  c->want_write = false;
  c->expect_sync = false;
  if (c->handles_open == 3) {
    uv_timer_stop(&c->timer);
    uv_check_stop(&c->check);
    uv_idle_stop(&c->idle);
  }
}

static void pgq_on_retry(uv_timer_t *timer);

/* The connection (or the attempt) is gone: fail what was pending, report,
 * and retry later. reason is copied first: it may point into the PGconn. */
static void pgq_conn_failed(pgq_client *c, const char *reason) {
  char why[PGQ_REASON_LEN];
  snprintf(why, sizeof(why), "%s", reason);
  bool was_ready = c->phase == PGQ_PHASE_READY;
  pgq_conn_reset(c);
  c->phase = PGQ_PHASE_WAITING;
  if (was_ready)
    c->stats.disconnects++;
  else
    c->stats.connect_failures++;
  pgq_fail_all(c, "connection lost");
  if (c->closing) return;
  bool report = was_ready || strcmp(why, c->last_reason) != 0;
  snprintf(c->last_reason, sizeof(c->last_reason), "%s", why);
  uv_timer_start(&c->timer, pgq_on_retry, c->backoff_ms, 0);
  c->backoff_ms = c->backoff_ms * 2 > PGQ_BACKOFF_MAX_MS ? PGQ_BACKOFF_MAX_MS : c->backoff_ms * 2;
  if (report) c->on_state(c->ctx, false, c->last_reason);
}

static void pgq_conn_error(pgq_client *c, const char *prefix) {
  char msg[PGQ_REASON_LEN];
  char line[PGQ_REASON_LEN];
  pgq_one_line(line, sizeof(line), c->conn ? PQerrorMessage(c->conn) : "out of memory");
  snprintf(msg, sizeof(msg), "%s%s", prefix, line);
  pgq_conn_failed(c, msg);
}

static void pgq_became_ready(pgq_client *c) {
  c->phase = PGQ_PHASE_READY;
  c->backoff_ms = PGQ_BACKOFF_MIN_MS;
  c->last_reason[0] = '\0';
  c->stats.connects++;
  c->on_state(c->ctx, true, "connected");
}

static int pgq_send(pgq_client *c, const pgq_query *q) {
  switch (q->kind) {
    case PGQ_KIND_PREPARE:
      return PQsendPrepare(c->conn, q->name, q->sql, q->param_count, NULL);
    case PGQ_KIND_PREPARED:
      return PQsendQueryPrepared(c->conn, q->name, q->param_count, q->values, q->lengths,
                                 q->formats, 0);
    case PGQ_KIND_TEXT:
      return PQsendQueryParams(c->conn, q->sql, 0, NULL, NULL, NULL, NULL, 0);
  }
  return 0;
}

/* Writes every queued query and one sync. Returns -1 when the connection
 * was dropped. */
static int pgq_flush_queued(pgq_client *c) {
  if (!c->queued.head) return 0;
  for (pgq_query *q = c->queued.head; q; q = q->next) {
    if (!pgq_send(c, q)) {
      pgq_conn_failed(c, "connection lost (send failed)");
      return -1;
    }
    if (q->kind != PGQ_KIND_PREPARE) c->stats.queries_sent++;
  }
  if (!PQpipelineSync(c->conn)) {
    pgq_conn_failed(c, "connection lost (send failed)");
    return -1;
  }
  c->stats.syncs++;
  c->queued.tail->sync_after = true;
  if (c->sent.tail)
    c->sent.tail->next = c->queued.head;
  else
    c->sent.head = c->queued.head;
  c->sent.tail = c->queued.tail;
  c->queued = (pgq_list){0};
  int rc = PQflush(c->conn);
  if (rc < 0) {
    pgq_conn_failed(c, "connection lost (write failed)");
    return -1;
  }
  c->want_write = rc == 1;
  if (pgq_watch_io(c) < 0) {
    pgq_conn_failed(c, "connection lost (cannot watch socket)");
    return -1;
  }
  return 0;
}

static void pgq_connection_made(pgq_client *c) {
  uv_timer_stop(&c->timer);
  PQsetNoticeReceiver(c->conn, pgq_ignore_notice, NULL);
  if (PQsetnonblocking(c->conn, 1) != 0 || PQenterPipelineMode(c->conn) != 1) {
    pgq_conn_failed(c, "cannot enter pipeline mode");
    return;
  }
  c->phase = PGQ_PHASE_PREPARING;
  if (c->statement_count == 0) {
    if (pgq_watch_io(c) < 0) {
      pgq_conn_failed(c, "cannot watch socket");
      return;
    }
    pgq_became_ready(c);
    return;
  }
  for (size_t i = 0; i < c->statement_count; i++) {
    pgq_query *q = calloc(1, sizeof(*q));
    if (!q) {
      pgq_conn_failed(c, "out of memory");
      return;
    }
    q->kind = PGQ_KIND_PREPARE;
    q->name = c->statements[i].name;
    q->sql = c->statements[i].sql;
    q->param_count = c->statements[i].param_count;
    pgq_list_push(&c->queued, q);
  }
  c->prepares_left = c->statement_count;
  c->prepare_failed = false;
  pgq_flush_queued(c);
}

static void pgq_connect_step(pgq_client *c) {
  switch (PQconnectPoll(c->conn)) {
    case PGRES_POLLING_READING:
      if (pgq_watch(c, UV_READABLE) < 0) pgq_conn_failed(c, "cannot watch socket");
      break;
    case PGRES_POLLING_WRITING:
      if (pgq_watch(c, UV_WRITABLE) < 0) pgq_conn_failed(c, "cannot watch socket");
      break;
    case PGRES_POLLING_OK:
      pgq_connection_made(c);
      break;
    default:
      pgq_conn_error(c, "");
      break;
  }
}

static void pgq_on_connect_timeout(uv_timer_t *timer) {
  pgq_conn_failed(timer->data, "connection attempt timed out");
}

static void pgq_connect_start(pgq_client *c) {
  c->phase = PGQ_PHASE_CONNECTING;
  c->conn = PQconnectStart(c->conninfo);
  if (!c->conn || PQstatus(c->conn) == CONNECTION_BAD) {
    pgq_conn_error(c, "");
    return;
  }
  uv_timer_start(&c->timer, pgq_on_connect_timeout, PGQ_CONNECT_TIMEOUT_MS, 0);
  /* libpq's documented start: behave as if PQconnectPoll said WRITING. */
  if (pgq_watch(c, UV_WRITABLE) < 0) pgq_conn_failed(c, "cannot watch socket");
}

static void pgq_on_retry(uv_timer_t *timer) {
  pgq_connect_start(timer->data);
}

/* ---- reading results ---- */

static void pgq_prepare_done(pgq_client *c, pgq_query *q) {
  ExecStatusType st = PQresultStatus(q->result);
  if (!c->prepare_failed && (q->aborted || !q->result || st != PGRES_COMMAND_OK)) {
    const char *state = q->result ? PQresultErrorField(q->result, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = q->result ? PQresultErrorField(q->result, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[160];
    pgq_one_line(line, sizeof(line), primary ? primary : "no result");
    snprintf(c->prepare_error, sizeof(c->prepare_error),
             "preparing statement %.40s failed (SQLSTATE %.5s): %s", q->name,
             state ? state : "-----", line);
    c->prepare_failed = true;
  }
  PQclear(q->result);
  free(q);
  if (--c->prepares_left > 0) return;
  if (c->prepare_failed)
    pgq_conn_failed(c, c->prepare_error);
  else
    pgq_became_ready(c);
}

static bool pgq_succeeded(const pgq_query *q) {
  ExecStatusType st = PQresultStatus(q->result);
  return !q->aborted && q->result && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK);
}

static bool pgq_is_commit(const pgq_query *q) {
  return q->kind == PGQ_KIND_TEXT && (strcasecmp(q->sql, "COMMIT") == 0 || strcasecmp(q->sql, "END") == 0);
}

/* The segment's sync answered: its transaction committed, or it failed and
 * PostgreSQL undid every query since the segment's start or its last
 * COMMIT. Those are delivered as rolled back, the rest as they came.
 * Returns -1 when a callback closed the client or dropped the connection
 * (the queries still waiting are then failed by that path). */
static int pgq_deliver_segment(pgq_client *c) {
  unsigned generation = c->generation;
  pgq_query *undo_from = c->answered.head, *failed = NULL;
  for (pgq_query *q = c->answered.head; q && !failed; q = q->next) {
    if (!pgq_succeeded(q))
      failed = q;
    else if (pgq_is_commit(q))
      undo_from = q->next;
  }
  bool undone = false;
  pgq_query *q;
  while ((q = pgq_list_pop(&c->answered))) {
    if (failed && q == undo_from) undone = true;
    if (q == failed) undone = false;
    pgq_deliver(c, q, undone ? PGQ_ERROR_ROLLED_BACK : NULL);
    if (c->closing || c->generation != generation) return -1;
  }
  return 0;
}

bool pgq_error_is_transient(const PGresult *res, const char *error) {
  if (!error) return false;
  if (strcmp(error, PGQ_ERROR_ROLLED_BACK) == 0 || strcmp(error, PGQ_ERROR_ABORTED) == 0)
    return true;
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  return state && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0);
}

/* Takes every complete result. Returns -1 when a callback closed the client
 * or the connection was dropped, so the caller must not touch it further. */
static int pgq_process_results(pgq_client *c) {
  unsigned generation = c->generation;
  while (c->sent.head || c->expect_sync) {
    if (PQisBusy(c->conn)) return 0;
    PGresult *res = PQgetResult(c->conn);
    ExecStatusType st = PQresultStatus(res);
    if (c->expect_sync) {
      PQclear(res);
      if (!res || st != PGRES_PIPELINE_SYNC) {
        pgq_conn_failed(c, "connection lost (pipeline out of step)");
        return -1;
      }
      c->expect_sync = false;
      if (pgq_deliver_segment(c) < 0) return -1;
      continue;
    }
    pgq_query *q = c->sent.head;
    if (res) {
      if (st == PGRES_PIPELINE_SYNC) {
        PQclear(res);
        pgq_conn_failed(c, "connection lost (pipeline out of step)");
        return -1;
      }
      if (st == PGRES_PIPELINE_ABORTED) {
        q->aborted = true;
        PQclear(res);
      } else {
        PQclear(q->result);
        q->result = res;
      }
      continue;
    }
    /* NULL ends this query's results. */
    if (!q->result && !q->aborted) {
      pgq_conn_failed(c, "connection lost (pipeline out of step)");
      return -1;
    }
    pgq_list_pop(&c->sent);
    if (q->sync_after) c->expect_sync = true;
    if (q->kind == PGQ_KIND_PREPARE) {
      pgq_prepare_done(c, q);
      if (c->closing || c->generation != generation) return -1;
    } else {
      pgq_list_push(&c->answered, q);
    }
  }
  return 0;
}

static void pgq_on_io(pgq_client *c, int status, int events) {
  if (status < 0) {
    pgq_conn_failed(c, "connection lost (socket error)");
    return;
  }
  if (events & UV_WRITABLE) {
    int rc = PQflush(c->conn);
    if (rc < 0) {
      pgq_conn_failed(c, "connection lost (write failed)");
      return;
    }
    if (rc == 0) {
      c->want_write = false;
      if (pgq_watch_io(c) < 0) {
        pgq_conn_failed(c, "connection lost (cannot watch socket)");
        return;
      }
    }
  }
  if (events & UV_READABLE) {
    if (!PQconsumeInput(c->conn)) {
      pgq_conn_failed(c, "connection lost (read failed)");
      return;
    }
    if (pgq_process_results(c) < 0) return;
  }
  if (PQstatus(c->conn) == CONNECTION_BAD) pgq_conn_failed(c, "connection lost");
}

static void pgq_on_poll(uv_poll_t *handle, int status, int events) {
  pgq_client *c = handle->data;
  if (c->phase == PGQ_PHASE_CONNECTING) {
    pgq_connect_step(c);
  } else if (c->phase == PGQ_PHASE_PREPARING || c->phase == PGQ_PHASE_READY) {
    pgq_on_io(c, status, events);
  }
}

static void pgq_on_check(uv_check_t *check) {
  pgq_client *c = check->data;
  uv_check_stop(&c->check);
  uv_idle_stop(&c->idle);
  if (c->phase == PGQ_PHASE_READY) pgq_flush_queued(c);
}

static void pgq_on_idle(uv_idle_t *idle) {
  (void)idle;
}

/* ---- public API ---- */

static void pgq_free(pgq_client *c) {
  for (size_t i = 0; i < c->statement_count; i++) {
    free((char *)c->statements[i].name);
    free((char *)c->statements[i].sql);
  }
  free(c->statements);
  free(c->conninfo);
  free(c);
}

static void pgq_handle_closed(uv_handle_t *handle) {
  pgq_client *c = handle->data;
  if (--c->handles_open == 0) pgq_free(c);
}

int pgq_open(uv_loop_t *loop, const char *conninfo, const pgq_statement *statements,
             size_t statement_count, pgq_state_fn on_state, void *ctx, pgq_client **out, char *err,
             size_t err_len) {
  if (err && err_len) err[0] = '\0';
  if (!loop || !conninfo || !on_state || !out || (statement_count && !statements)) {
    if (err) snprintf(err, err_len, "invalid arguments");
    return -EINVAL;
  }
  *out = NULL;
  char *parse_error = NULL;
  PQconninfoOption *options = PQconninfoParse(conninfo, &parse_error);
  /* The parser's message can quote part of the string, password included. */
  PQfreemem(parse_error);
  if (!options) {
    if (err) snprintf(err, err_len, "invalid connection string");
    return -EINVAL;
  }
  PQconninfoFree(options);
  for (size_t i = 0; i < statement_count; i++) {
    if (!statements[i].name || !statements[i].sql || statements[i].param_count < 0 ||
        statements[i].param_count > 65535) {
      if (err) snprintf(err, err_len, "invalid statement %zu", i);
      return -EINVAL;
    }
  }

  pgq_client *c = calloc(1, sizeof(*c));
  if (!c) goto oom;
  c->loop = loop;
  c->on_state = on_state;
  c->ctx = ctx;
  c->poll_fd = -1;
  c->backoff_ms = PGQ_BACKOFF_MIN_MS;
  c->conninfo = strdup(conninfo);
  c->statements = calloc(statement_count ? statement_count : 1, sizeof(*c->statements));
  if (!c->conninfo || !c->statements) goto oom;
  c->statement_count = statement_count;
  for (size_t i = 0; i < statement_count; i++) {
    c->statements[i].name = strdup(statements[i].name);
    c->statements[i].sql = strdup(statements[i].sql);
    c->statements[i].param_count = statements[i].param_count;
    if (!c->statements[i].name || !c->statements[i].sql) goto oom;
  }

  int rc = uv_timer_init(loop, &c->timer);
  if (rc == 0) rc = uv_check_init(loop, &c->check);
  if (rc == 0) rc = uv_idle_init(loop, &c->idle);
  if (rc < 0) {
    /* These inits only fail on bad arguments; nothing was registered. */
    if (err) snprintf(err, err_len, "cannot create loop handles: %s", uv_strerror(rc));
    pgq_free(c);
    return rc;
  }
  c->timer.data = c;
  c->check.data = c;
  c->idle.data = c;
  c->handles_open = 3;
  /* Connecting from a zero timer keeps callbacks out of pgq_open. */
  uv_timer_start(&c->timer, pgq_on_retry, 0, 0);
  *out = c;
  return 0;

oom:
  if (c) pgq_free(c);
  if (err) snprintf(err, err_len, "out of memory");
  return -ENOMEM;
}

bool pgq_connected(const pgq_client *client) {
  return client && !client->closing && client->phase == PGQ_PHASE_READY;
}

static void pgq_enqueue(pgq_client *c, pgq_query *q) {
  pgq_list_push(&c->queued, q);
  c->user_pending++;
  if (!uv_is_active((uv_handle_t *)&c->check)) {
    uv_check_start(&c->check, pgq_on_check);
    uv_idle_start(&c->idle, pgq_on_idle);
  }
}

static const pgq_statement *pgq_find_statement(const pgq_client *c, const char *name) {
  for (size_t i = 0; i < c->statement_count; i++)
    if (strcmp(c->statements[i].name, name) == 0) return &c->statements[i];
  return NULL;
}

int pgq_exec_prepared(pgq_client *client, const char *statement, int param_count,
                      const char *const *values, const int *lengths, const int *formats,
                      pgq_result_fn on_result, void *arg) {
  if (!client || !statement || !on_result || param_count < 0 || (param_count > 0 && !values))
    return -EINVAL;
  if (!pgq_connected(client)) return -ENOTCONN;
  const pgq_statement *st = pgq_find_statement(client, statement);
  if (!st || st->param_count != param_count) return -EINVAL;
  if (client->user_pending >= PGQ_MAX_QUEUED) return -ENOBUFS;

  /* One block: the query, its arrays, then the copied values. */
  size_t n = (size_t)param_count;
  size_t size = sizeof(pgq_query) + n * (sizeof(char *) + 2 * sizeof(int));
  for (size_t i = 0; i < n; i++) {
    if (!values[i]) continue;
    bool binary = formats && formats[i] == 1;
    if (binary && (!lengths || lengths[i] < 0)) return -EINVAL;
    size += binary ? (size_t)lengths[i] : strlen(values[i]) + 1;
  }
  pgq_query *q = calloc(1, size);
  if (!q) return -ENOMEM;
  q->kind = PGQ_KIND_PREPARED;
  q->name = st->name;
  q->param_count = param_count;
  q->on_result = on_result;
  q->arg = arg;
  q->values = (const char **)(q + 1);
  q->lengths = (int *)(q->values + n);
  q->formats = q->lengths + n;
  char *data = (char *)(q->formats + n);
  for (size_t i = 0; i < n; i++) {
    q->formats[i] = formats && formats[i] == 1 ? 1 : 0;
    if (!values[i]) continue;
    size_t len = q->formats[i] ? (size_t)lengths[i] : strlen(values[i]) + 1;
    memcpy(data, values[i], len);
    q->values[i] = data;
    q->lengths[i] = q->formats[i] ? lengths[i] : (int)(len - 1);
    data += len;
  }
  pgq_enqueue(client, q);
  return 0;
}

int pgq_exec(pgq_client *client, const char *sql, pgq_result_fn on_result, void *arg) {
  if (!client || !sql || !on_result) return -EINVAL;
  if (!pgq_connected(client)) return -ENOTCONN;
  if (client->user_pending >= PGQ_MAX_QUEUED) return -ENOBUFS;
  size_t len = strlen(sql) + 1;
  pgq_query *q = calloc(1, sizeof(*q) + len);
  if (!q) return -ENOMEM;
  memcpy(q + 1, sql, len);
  q->kind = PGQ_KIND_TEXT;
  q->sql = (const char *)(q + 1);
  q->on_result = on_result;
  q->arg = arg;
  pgq_enqueue(client, q);
  return 0;
}

size_t pgq_pending(const pgq_client *client) {
  return client ? client->user_pending : 0;
}

void pgq_get_stats(const pgq_client *client, pgq_stats *out) {
  if (!out) return;
  if (client)
    *out = client->stats;
  else
    *out = (pgq_stats){0};
}

void pgq_close(pgq_client *client) {
  if (!client || client->closing) return;
  client->closing = true;
  pgq_conn_reset(client);
  client->phase = PGQ_PHASE_CLOSED;
  pgq_fail_all(client, "closing");
  uv_close((uv_handle_t *)&client->timer, pgq_handle_closed);
  uv_close((uv_handle_t *)&client->check, pgq_handle_closed);
  uv_close((uv_handle_t *)&client->idle, pgq_handle_closed);
}
