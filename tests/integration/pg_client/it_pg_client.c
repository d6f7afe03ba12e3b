/* it_pg_client: drives pg_client against the stack's real PostgreSQL.
 *
 * Behaviours: a batch of prepared queries is one pipeline with one sync and
 * comes back in order; an error mid-pipeline fails that query, aborts the
 * rest and rolls back what ran before it (up to a COMMIT), after which the
 * client keeps working; error texts carry no
 * parameter values; the queue bound; pgq_close answers everything; a server
 * restart (run through PGQ_IT_RESTART_CMD while the loop keeps running) is
 * survived; a wrong password or a closed port is reported and retried.
 *
 * Environment: LINDUNG_DB_URL (from stack.env), PGQ_IT_RESTART_CMD. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pg_client.h"
#include "testing.h"

#define GUARD_MS 60000
#define SECRET_VALUE "3201234567890123"

static uv_loop_t *loop;
static const char *db_url;

static const pgq_statement statements[] = {
    {"double", "SELECT $1::int * 2", 1},
    {"divide", "SELECT 100 / $1::int", 1},
    {"to_int", "SELECT $1::int", 1},
    {"echo_bytes", "SELECT length($1::bytea), $1::bytea", 1},
};
#define STATEMENT_COUNT (sizeof(statements) / sizeof(statements[0]))

/* ---- harness: state callbacks and running the loop until a condition ---- */

typedef struct state_log {
  int up;
  int down;
  bool connected;
  char reason[256];
  char first_down[256];
  int enotconn_while_down; /* submissions refused from inside on_state(false) */
  pgq_client *client;      /* set by pgq_open before any callback */
} state_log;

static void ignore_result(void *arg, const PGresult *res, const char *error) {
  (void)arg;
  (void)res;
  (void)error;
}

static void on_state(void *ctx, bool connected, const char *reason) {
  state_log *log = ctx;
  log->connected = connected;
  snprintf(log->reason, sizeof(log->reason), "%s", reason ? reason : "");
  if (connected) {
    log->up++;
    return;
  }
  if (log->down++ == 0) snprintf(log->first_down, sizeof(log->first_down), "%s", log->reason);
  /* While down, submissions must be refused at once. */
  if (log->client) {
    const char *v[] = {"1"};
    if (pgq_exec_prepared(log->client, "double", 1, v, NULL, NULL, ignore_result, NULL) ==
            -ENOTCONN &&
        pgq_exec(log->client, "SELECT 1", ignore_result, NULL) == -ENOTCONN &&
        !pgq_connected(log->client))
      log->enotconn_while_down++;
  }
}

static bool guard_fired;
static void on_guard(uv_timer_t *t) {
  (void)t;
  guard_fired = true;
}

/* Runs the loop until cond(arg) holds; fails the check after GUARD_MS. */
static bool run_until(bool (*cond)(void *), void *arg) {
  uv_timer_t guard;
  uv_timer_init(loop, &guard);
  guard_fired = false;
  uv_timer_start(&guard, on_guard, GUARD_MS, 0);
  while (!cond(arg) && !guard_fired) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  bool ok = cond(arg);
  CHECK(ok);
  return ok;
}

static bool is_up(void *arg) {
  return ((state_log *)arg)->up > 0 && ((state_log *)arg)->connected;
}

static bool int_reached(void *arg) {
  int *pair = arg;
  return pair[0] >= pair[1];
}

/* Opens a client on db_url and waits for it to be ready. */
static pgq_client *open_ready(state_log *log) {
  char err[256];
  memset(log, 0, sizeof(*log));
  int rc = pgq_open(loop, db_url, statements, STATEMENT_COUNT, on_state, log, &log->client, err,
                    sizeof(err));
  pgq_client *client = log->client;
  CHECK_EQ_INT(rc, 0);
  if (rc != 0) return NULL;
  if (!run_until(is_up, log)) {
    fprintf(stderr, "client not ready: %s\n", log->reason);
    pgq_close(client);
    return NULL;
  }
  return client;
}

static void close_client(pgq_client *client) {
  pgq_close(client);
  uv_run(loop, UV_RUN_NOWAIT); /* close callbacks free the client */
}

/* ---- results: one record per submitted query ---- */

typedef struct answer {
  int order; /* position in which the callback arrived */
  int status;
  bool has_res;
  char error[128];
  char sqlstate[8];
  long long value;
  char detail[256]; /* primary message + detail of an error result */
} answer;

typedef struct batch {
  answer *answers;
  int submitted;
  int answered;
} batch;

typedef struct slot {
  batch *b;
  int index;
} slot;

static void on_answer(void *arg, const PGresult *res, const char *error) {
  slot *s = arg;
  answer *a = &s->b->answers[s->index];
  a->order = s->b->answered++;
  a->has_res = res != NULL;
  a->status = res ? (int)PQresultStatus(res) : -1;
  snprintf(a->error, sizeof(a->error), "%s", error ? error : "");
  if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
    a->value = atoll(PQgetvalue(res, 0, 0));
  if (res) {
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    snprintf(a->sqlstate, sizeof(a->sqlstate), "%s", state ? state : "");
    snprintf(a->detail, sizeof(a->detail), "%s", primary ? primary : "");
  }
}

static bool batch_done(void *arg) {
  batch *b = arg;
  return b->answered >= b->submitted;
}

static int submit(pgq_client *client, batch *b, slot *slots, const char *statement,
                  const char *value) {
  const char *values[] = {value};
  slots[b->submitted] = (slot){b, b->submitted};
  int rc =
      pgq_exec_prepared(client, statement, 1, values, NULL, NULL, on_answer, &slots[b->submitted]);
  if (rc == 0) b->submitted++;
  return rc;
}

/* Submits n "double" queries in one turn and checks every answer. */
static void run_double_batch(pgq_client *client, int n, int offset) {
  batch b = {calloc((size_t)n, sizeof(answer)), 0, 0};
  slot *slots = calloc((size_t)n, sizeof(slot));
  int failed_submits = 0;
  for (int i = 0; i < n; i++) {
    char v[24];
    snprintf(v, sizeof(v), "%d", offset + i);
    if (submit(client, &b, slots, "double", v) != 0) failed_submits++;
  }
  CHECK_EQ_INT(failed_submits, 0);
  CHECK_EQ_INT(pgq_pending(client), b.submitted);
  run_until(batch_done, &b);
  int bad = 0;
  for (int i = 0; i < b.submitted; i++) {
    answer *a = &b.answers[i];
    if (a->order != i || a->status != PGRES_TUPLES_OK || a->error[0] ||
        a->value != 2LL * (offset + i)) {
      if (bad++ < 3)
        fprintf(stderr, "answer %d: order %d status %d error '%s' value %lld\n", i, a->order,
                a->status, a->error, a->value);
    }
  }
  CHECK_EQ_INT(bad, 0);
  CHECK_EQ_INT(pgq_pending(client), 0);
  free(b.answers);
  free(slots);
}

/* ---- behaviours ---- */

static void test_batch_is_one_pipeline(void) {
  state_log log;
  pgq_client *client = open_ready(&log);
  if (!client) return;
  CHECK(pgq_connected(client));
  pgq_stats before, after;
  pgq_get_stats(client, &before);
  run_double_batch(client, 1000, -500);
  pgq_get_stats(client, &after);
  CHECK_EQ_INT(after.syncs - before.syncs, 1);
  CHECK_EQ_INT(after.queries_sent - before.queries_sent, 1000);
  /* A second batch: again one sync. */
  run_double_batch(client, 10, 7);
  pgq_get_stats(client, &before);
  CHECK_EQ_INT(before.syncs - after.syncs, 1);
  CHECK_EQ_INT(log.up, 1);
  CHECK_EQ_INT(log.down, 0);
  close_client(client);
}

static void test_error_aborts_rest_of_pipeline(void) {
  state_log log;
  pgq_client *client = open_ready(&log);
  if (!client) return;
  batch b = {calloc(10, sizeof(answer)), 0, 0};
  slot slots[10];
  for (int i = 0; i < 10; i++) {
    char v[8];
    snprintf(v, sizeof(v), "%d", i);
    CHECK_EQ_INT(submit(client, &b, slots, i == 5 ? "divide" : "double", i == 5 ? "0" : v), 0);
  }
  run_until(batch_done, &b);
  /* They ran in the failed transaction: undone, so not reported as done. */
  for (int i = 0; i < 5; i++) {
    CHECK(!b.answers[i].has_res);
    CHECK_EQ_STR(b.answers[i].error, PGQ_ERROR_ROLLED_BACK);
  }
  CHECK_EQ_INT(b.answers[5].status, PGRES_FATAL_ERROR);
  CHECK_EQ_STR(b.answers[5].sqlstate, "22012");
  CHECK_EQ_STR(b.answers[5].error, "query failed (SQLSTATE 22012)");
  for (int i = 6; i < 10; i++) {
    CHECK(!b.answers[i].has_res);
    CHECK_EQ_STR(b.answers[i].error, "pipeline aborted");
  }
  for (int i = 0; i < 10; i++) CHECK_EQ_INT(b.answers[i].order, i);
  /* The next batch runs normally. */
  run_double_batch(client, 50, 1);
  CHECK_EQ_INT(log.down, 0);
  free(b.answers);
  close_client(client);
}

static int submit_text(pgq_client *client, batch *b, slot *slots, const char *sql) {
  slots[b->submitted] = (slot){b, b->submitted};
  int rc = pgq_exec(client, sql, on_answer, &slots[b->submitted]);
  if (rc == 0) b->submitted++;
  return rc;
}

/* Runs sql alone and returns the one value it selects (-1 on failure). */
static long long select_value(pgq_client *client, const char *sql) {
  answer a = {0};
  batch b = {&a, 0, 0};
  slot s[1];
  if (submit_text(client, &b, s, sql) != 0) return -1;
  run_until(batch_done, &b);
  return a.error[0] ? -1 : a.value;
}

/* A write reported done stays done: when a later query of the same sync
 * fails, PostgreSQL rolls the write back and the client says so; a COMMIT
 * inside the pipeline keeps what came before it. (The resolver once told a
 * partner its token was issued while a deadlock later in the sync had
 * rolled the token back.) */
static void test_failure_rolls_back_the_sync(void) {
  state_log log;
  pgq_client *client = open_ready(&log);
  if (!client) return;
  CHECK_EQ_INT(select_value(client, "CREATE TEMP TABLE pgq_it_rows (v int)"), 0);

  answer answers[8] = {{0}};
  batch b = {answers, 0, 0};
  slot slots[8];
  submit_text(client, &b, slots, "INSERT INTO pgq_it_rows VALUES (1)");
  submit(client, &b, slots, "divide", "0");
  submit_text(client, &b, slots, "INSERT INTO pgq_it_rows VALUES (2)");
  run_until(batch_done, &b);
  CHECK_EQ_STR(answers[0].error, PGQ_ERROR_ROLLED_BACK);
  CHECK_EQ_STR(answers[1].sqlstate, "22012");
  CHECK_EQ_STR(answers[2].error, PGQ_ERROR_ABORTED);
  CHECK_EQ_INT(select_value(client, "SELECT count(*) FROM pgq_it_rows"), 0);

  batch c = {answers + 3, 0, 0};
  submit_text(client, &c, slots, "BEGIN");
  submit_text(client, &c, slots, "INSERT INTO pgq_it_rows VALUES (3)");
  submit_text(client, &c, slots, "COMMIT");
  submit_text(client, &c, slots, "INSERT INTO pgq_it_rows VALUES (4)");
  submit(client, &c, slots, "divide", "0");
  run_until(batch_done, &c);
  for (int i = 3; i < 6; i++) CHECK_EQ_STR(answers[i].error, "");
  CHECK_EQ_STR(answers[6].error, PGQ_ERROR_ROLLED_BACK);
  CHECK_EQ_STR(answers[7].sqlstate, "22012");
  CHECK_EQ_INT(select_value(client, "SELECT count(*) FROM pgq_it_rows"), 1);
  CHECK_EQ_INT(select_value(client, "SELECT max(v) FROM pgq_it_rows"), 3);
  CHECK_EQ_INT(log.down, 0);
  close_client(client);
}

static void test_error_text_has_no_values(void) {
  state_log log;
  pgq_client *client = open_ready(&log);
  if (!client) return;
  batch b = {calloc(2, sizeof(answer)), 0, 0};
  slot slots[2];
  CHECK_EQ_INT(submit(client, &b, slots, "to_int", "nik-" SECRET_VALUE), 0);
  run_until(batch_done, &b);
  CHECK_EQ_INT(b.answers[0].status, PGRES_FATAL_ERROR);
  CHECK_EQ_STR(b.answers[0].sqlstate, "22P02");
  /* The server's own message quotes the value: the error text must not. */
  CHECK(strstr(b.answers[0].detail, SECRET_VALUE) != NULL);
  CHECK(strstr(b.answers[0].error, SECRET_VALUE) == NULL);
  CHECK_EQ_STR(b.answers[0].error, "query failed (SQLSTATE 22P02)");
  /* Binary parameters, including NUL bytes, are copied intact. */
  const char bytes[] = {'a', 0, 'b', 0, 'c'};
  const char *values[] = {bytes};
  int lengths[] = {5}, formats[] = {1};
  b.submitted++;
  slots[1] = (slot){&b, 1};
  CHECK_EQ_INT(
      pgq_exec_prepared(client, "echo_bytes", 1, values, lengths, formats, on_answer, &slots[1]),
      0);
  run_until(batch_done, &b);
  CHECK_EQ_INT(b.answers[1].status, PGRES_TUPLES_OK);
  CHECK_EQ_INT(b.answers[1].value, 5);
  free(b.answers);
  close_client(client);
}

static void on_text(void *arg, const PGresult *res, const char *error) {
  int *state = arg;
  if (!error && res && PQresultStatus(res) == PGRES_TUPLES_OK &&
      strcmp(PQgetvalue(res, 0, 0), "42") == 0)
    state[2]++;
  else if (!error && res && PQresultStatus(res) == PGRES_COMMAND_OK)
    state[2]++;
  state[0]++;
}

static void test_text_queries_and_bad_arguments(void) {
  state_log log;
  pgq_client *client = open_ready(&log);
  if (!client) return;
  int state[3] = {0, 4, 0}; /* answered, wanted, ok count */
  CHECK_EQ_INT(pgq_exec(client, "BEGIN", on_text, state), 0);
  CHECK_EQ_INT(pgq_exec(client, "SELECT 42", on_text, state), 0);
  CHECK_EQ_INT(pgq_exec(client, "COMMIT", on_text, state), 0);
  CHECK_EQ_INT(pgq_exec(client, "SELECT 40 + 2", on_text, state), 0);
  run_until(int_reached, state);
  CHECK_EQ_INT(state[2], 4);
  const char *v[] = {"1", "2"};
  CHECK_EQ_INT(pgq_exec_prepared(client, "no_such", 1, v, NULL, NULL, ignore_result, NULL),
               -EINVAL);
  CHECK_EQ_INT(pgq_exec_prepared(client, "double", 2, v, NULL, NULL, ignore_result, NULL), -EINVAL);
  CHECK_EQ_INT(pgq_pending(client), 0);
  close_client(client);
}

static void test_queue_bound(void) {
  state_log log;
  pgq_client *client = open_ready(&log);
  if (!client) return;
  /* Fill the queue in one turn; one more is refused; all are answered. */
  run_double_batch(client, PGQ_MAX_QUEUED, 0);
  batch b = {calloc(PGQ_MAX_QUEUED + 1, sizeof(answer)), 0, 0};
  slot *slots = calloc(PGQ_MAX_QUEUED + 1, sizeof(slot));
  for (int i = 0; i < PGQ_MAX_QUEUED; i++)
    CHECK_EQ_INT(submit(client, &b, slots, "double", "1"), 0);
  CHECK_EQ_INT(submit(client, &b, slots, "double", "1"), -ENOBUFS);
  CHECK_EQ_INT(pgq_pending(client), PGQ_MAX_QUEUED);
  run_until(batch_done, &b);
  CHECK_EQ_INT(b.answers[PGQ_MAX_QUEUED - 1].value, 2);
  free(b.answers);
  free(slots);
  close_client(client);
}

/* pgq_close answers what is queued and what is in flight with "closing". */
static void test_close_answers_pending(void) {
  state_log log;
  pgq_client *client = open_ready(&log);
  if (!client) return;
  batch b = {calloc(4, sizeof(answer)), 0, 0};
  slot slots[4];
  CHECK_EQ_INT(submit(client, &b, slots, "double", "1"), 0);
  CHECK_EQ_INT(submit(client, &b, slots, "double", "2"), 0);
  uv_run(loop, UV_RUN_NOWAIT); /* sent; answers not read yet */
  CHECK_EQ_INT(submit(client, &b, slots, "double", "3"), 0);
  int done_before = b.answered;
  pgq_close(client);
  CHECK_EQ_INT(b.answered, 3);
  for (int i = done_before; i < 3; i++) {
    CHECK(!b.answers[i].has_res);
    CHECK_EQ_STR(b.answers[i].error, "closing");
  }
  uv_run(loop, UV_RUN_NOWAIT);
  free(b.answers);
}

/* A callback may close the client; the rest of the pipeline is answered. */
static pgq_client *closing_target;
static int closing_calls;
static void close_from_callback(void *arg, const PGresult *res, const char *error) {
  (void)res;
  int *errors = arg;
  closing_calls++;
  if (error) (*errors)++;
  if (closing_target) {
    pgq_client *c = closing_target;
    closing_target = NULL;
    pgq_close(c);
  }
}

static void test_close_inside_callback(void) {
  state_log log;
  pgq_client *client = open_ready(&log);
  if (!client) return;
  int errors = 0;
  const char *v[] = {"1"};
  for (int i = 0; i < 5; i++)
    CHECK_EQ_INT(
        pgq_exec_prepared(client, "double", 1, v, NULL, NULL, close_from_callback, &errors), 0);
  closing_target = client;
  closing_calls = 0;
  while (closing_calls < 5 && !guard_fired) uv_run(loop, UV_RUN_ONCE);
  CHECK_EQ_INT(closing_calls, 5);
  CHECK_EQ_INT(errors, 4); /* the first succeeded, the other four got "closing" */
  uv_run(loop, UV_RUN_NOWAIT);
}

typedef struct restart_state {
  bool exited;
  int64_t exit_status;
  int term_signal;
} restart_state;

static void on_restart_exit(uv_process_t *process, int64_t exit_status, int term_signal) {
  restart_state *r = process->data;
  r->exited = true;
  r->exit_status = exit_status;
  r->term_signal = term_signal;
  uv_close((uv_handle_t *)process, NULL);
}

typedef struct reconnect_wait {
  state_log *log;
  restart_state *restart;
  batch *in_flight;
} reconnect_wait;

static bool restarted_and_up(void *arg) {
  reconnect_wait *w = arg;
  return w->restart->exited && w->log->down > 0 && w->log->up > 1 && w->log->connected &&
         batch_done(w->in_flight);
}

static void test_reconnect_after_server_restart(void) {
  const char *cmd = getenv("PGQ_IT_RESTART_CMD");
  CHECK(cmd != NULL);
  if (!cmd) return;
  state_log log;
  pgq_client *client = open_ready(&log);
  if (!client) return;

  /* A query in flight when the server goes away gets an error. */
  batch b = {calloc(1, sizeof(answer)), 0, 0};
  slot s = {&b, 0};
  CHECK_EQ_INT(pgq_exec(client, "SELECT pg_sleep(600)", on_answer, &s), 0);
  b.submitted = 1;
  uv_run(loop, UV_RUN_NOWAIT);

  /* The restart runs as a child process while the loop keeps serving. */
  restart_state r = {0};
  uv_process_t process;
  process.data = &r;
  char *args[] = {"/bin/sh", "-c", (char *)cmd, NULL};
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_IGNORE}, {.flags = UV_IGNORE}, {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t options = {
      .exit_cb = on_restart_exit, .file = args[0], .args = args, .stdio = stdio, .stdio_count = 3};
  int rc = uv_spawn(loop, &process, &options);
  CHECK_EQ_INT(rc, 0);
  if (rc != 0) {
    close_client(client);
    free(b.answers);
    return;
  }
  reconnect_wait w = {&log, &r, &b};
  run_until(restarted_and_up, &w);
  CHECK_EQ_INT(r.exit_status, 0);
  CHECK_EQ_INT(r.term_signal, 0);
  CHECK(b.answers[0].error[0] != '\0'); /* FATAL 57P01 or "connection lost" */
  fprintf(stderr, "in-flight query during restart: '%s'; first down reason: '%s'\n",
          b.answers[0].error, log.first_down);
  CHECK(log.down >= 1);
  CHECK(log.enotconn_while_down >= 1);
  CHECK(log.up >= 2);
  pgq_stats stats;
  pgq_get_stats(client, &stats);
  CHECK(stats.disconnects >= 1);
  CHECK(stats.connects >= 2);
  /* Statements were prepared again on the new connection. */
  run_double_batch(client, 100, 3);
  close_client(client);
  free(b.answers);
}

typedef struct failures_wait {
  pgq_client *client;
  uint64_t wanted;
} failures_wait;

static bool enough_failures(void *arg) {
  failures_wait *w = arg;
  pgq_stats stats;
  pgq_get_stats(w->client, &stats);
  return stats.connect_failures >= w->wanted;
}

/* Opens a client that cannot connect: it reports once and keeps retrying. */
static void expect_refused_with(const char *conninfo, const pgq_statement *stmts, size_t count,
                                const char *secret, const char *expect_in_reason) {
  state_log log;
  memset(&log, 0, sizeof(log));
  char err[256];
  int rc = pgq_open(loop, conninfo, stmts, count, on_state, &log, &log.client, err, sizeof(err));
  pgq_client *client = log.client;
  CHECK_EQ_INT(rc, 0);
  if (rc != 0) return;
  failures_wait w = {client, 4};
  run_until(enough_failures, &w);
  CHECK_EQ_INT(log.up, 0);
  CHECK_EQ_INT(log.down, 1); /* the same reason is reported once */
  CHECK(!pgq_connected(client));
  CHECK(log.enotconn_while_down >= 1);
  CHECK(log.reason[0] != '\0');
  CHECK(strchr(log.reason, '\n') == NULL);
  if (secret) CHECK(strstr(log.reason, secret) == NULL);
  if (expect_in_reason) CHECK(strstr(log.reason, expect_in_reason) != NULL);
  fprintf(stderr, "refused as expected: %s\n", log.reason);
  close_client(client);
}

static void expect_refused(const char *conninfo, const char *secret, const char *expect_in_reason) {
  expect_refused_with(conninfo, statements, STATEMENT_COUNT, secret, expect_in_reason);
}

/* A statement that cannot be prepared (say, migrations not run yet) keeps
 * the client down and retrying, never half-ready. */
static void test_unpreparable_statement_keeps_retrying(void) {
  const pgq_statement bad[] = {
      {"double", "SELECT $1::int * 2", 1},
      {"missing", "SELECT * FROM pgq_it_no_such_table", 0},
  };
  expect_refused_with(db_url, bad, 2, NULL, "preparing statement missing failed (SQLSTATE 42P01)");
}

static void test_wrong_password_keeps_retrying(void) {
  PQconninfoOption *opts = PQconninfoParse(db_url, NULL);
  CHECK(opts != NULL);
  if (!opts) return;
  const char *host = "127.0.0.1", *port = "5432", *user = "", *dbname = "";
  for (PQconninfoOption *o = opts; o->keyword; o++) {
    if (!o->val) continue;
    if (strcmp(o->keyword, "host") == 0) host = o->val;
    if (strcmp(o->keyword, "port") == 0) port = o->val;
    if (strcmp(o->keyword, "user") == 0) user = o->val;
    if (strcmp(o->keyword, "dbname") == 0) dbname = o->val;
  }
  char conninfo[512];
  snprintf(conninfo, sizeof(conninfo),
           "host=%s port=%s user=%s dbname=%s password=not-the-password-7781 passfile=/dev/null",
           host, port, user, dbname);
  expect_refused(conninfo, "not-the-password-7781", "password authentication failed");
  PQconninfoFree(opts);
}

static void test_closed_port_keeps_retrying(void) {
  /* A bound socket that does not listen refuses connections. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(addr);
  CHECK_EQ_INT(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  CHECK_EQ_INT(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
  char conninfo[256];
  snprintf(conninfo, sizeof(conninfo),
           "host=127.0.0.1 port=%d dbname=lindung user=nobody password=pw-secret-55",
           ntohs(addr.sin_port));
  expect_refused(conninfo, "pw-secret-55", "refused");
  close(fd);
}

static void test_bad_conninfo(void) {
  pgq_client *client = (pgq_client *)1;
  char err[128];
  state_log log = {0};
  int rc = pgq_open(loop, "host=x password=topsecret bogus_option=1", statements, STATEMENT_COUNT,
                    on_state, &log, &client, err, sizeof(err));
  CHECK_EQ_INT(rc, -EINVAL);
  CHECK(client == NULL);
  CHECK(strstr(err, "topsecret") == NULL);
  CHECK(strstr(err, "bogus") == NULL);
}

int main(void) {
  db_url = getenv("LINDUNG_DB_URL");
  if (!db_url) {
    fprintf(stderr, "LINDUNG_DB_URL is not set (source stack.env)\n");
    return 2;
  }
  loop = uv_default_loop();
  RUN(test_bad_conninfo);
  RUN(test_batch_is_one_pipeline);
  RUN(test_error_aborts_rest_of_pipeline);
  RUN(test_failure_rolls_back_the_sync);
  RUN(test_error_text_has_no_values);
  RUN(test_text_queries_and_bad_arguments);
  RUN(test_close_answers_pending);
  RUN(test_close_inside_callback);
  RUN(test_queue_bound);
  RUN(test_wrong_password_keeps_retrying);
  RUN(test_closed_port_keeps_retrying);
  RUN(test_unpreparable_statement_keeps_retrying);
  RUN(test_reconnect_after_server_restart);
  uv_run(loop, UV_RUN_NOWAIT);
  CHECK_EQ_INT(uv_loop_close(loop), 0);
  return testing_summary();
}
