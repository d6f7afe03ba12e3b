/* pg_client: asynchronous PostgreSQL on a libuv loop.
 *
 * Connects with PQconnectStart/PQconnectPoll, runs non-blocking in pipeline
 * mode, and reconnects with exponential backoff (100 ms doubling to 5 s)
 * when the server goes away. Every query submitted during one loop turn is
 * sent as one pipeline ending in one sync, so a batch of lookups costs one
 * round trip. Results come back in submission order.
 *
 * Prefix pgq_. Nothing here logs or exits; state changes are reported
 * through pgq_state_fn. */
#ifndef LINDUNG_PG_CLIENT_H
#define LINDUNG_PG_CLIENT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct pgq_client pgq_client;

/* res is owned by the client and freed after the callback returns.
 *
 * Everything between two syncs runs in one transaction (PostgreSQL's
 * implicit transaction of a pipeline), so one failure undoes what ran
 * before it. Results are therefore delivered only once the sync has
 * answered, when it is known whether they stand. Every submitted query
 * gets exactly one callback:
 *   - success: res is the final result (PGRES_TUPLES_OK / PGRES_COMMAND_OK),
 *     error is NULL;
 *   - the server rejected it: res is the PGRES_FATAL_ERROR result (read
 *     SQLSTATE and details with PQresultErrorField) and error is the fixed
 *     text "query failed (SQLSTATE xxxxx)": server messages can quote
 *     parameter values, so none of their text is copied into error;
 *   - an earlier query of the same pipeline failed: res NULL, error
 *     PGQ_ERROR_ABORTED ("pipeline aborted");
 *   - it succeeded, but a later query of the same transaction failed, so
 *     its work was undone: res NULL, error PGQ_ERROR_ROLLED_BACK. A
 *     successful pgq_exec(..., "COMMIT", ...) ends a transaction early:
 *     what ran before it stands whatever fails after it;
 *   - the connection broke first: res NULL, error "connection lost";
 *   - pgq_close ran first: res NULL, error "closing".
 * The callback may submit new queries and may call pgq_close. */
typedef void (*pgq_result_fn)(void *arg, const PGresult *res, const char *error);

#define PGQ_ERROR_ABORTED "pipeline aborted"
#define PGQ_ERROR_ROLLED_BACK "transaction rolled back"

/* The failure a callback saw is worth a retry of the same work: a deadlock
 * or serialization failure (SQLSTATE 40P01, 40001), or work undone or
 * skipped because of another query's failure in the same transaction. */
bool pgq_error_is_transient(const PGresult *res, const char *error);

/* connected toggles; reason is a one-line text without secrets. Called with
 * true once every registered statement is prepared; with false when an
 * established connection breaks, and after a failed attempt when its reason
 * differs from the previous report (so a server that stays away is reported
 * once, not every retry). Reconnection runs with backoff 100 ms doubling to
 * 5 s until pgq_close. */
typedef void (*pgq_state_fn)(void *ctx, bool connected, const char *reason);

/* A statement prepared on every (re)connection before any query runs. */
typedef struct pgq_statement {
  const char *name;
  const char *sql;
  int param_count;
} pgq_statement;

/* Copies conninfo and statements, then starts connecting on the next loop
 * turn (no callback runs inside pgq_open). Returns -EINVAL for a malformed
 * conninfo (err holds a fixed text: conninfo may carry a password).
 * Host names are resolved by libpq synchronously: prefer addresses or a
 * socket directory in conninfo. */
int pgq_open(uv_loop_t *loop, const char *conninfo, const pgq_statement *statements,
             size_t statement_count, pgq_state_fn on_state, void *ctx, pgq_client **out, char *err,
             size_t err_len);

bool pgq_connected(const pgq_client *client);

/* Queues a prepared statement. Parameters are text unless formats says
 * binary (1); values are copied. Returns -ENOTCONN at once when the client
 * is not connected (the caller answers UNAVAILABLE instead of waiting),
 * -EINVAL for a statement not registered at pgq_open or a parameter count
 * that differs from its registration, -ENOBUFS when PGQ_MAX_QUEUED queries
 * are already waiting, -ENOMEM. On error the callback is not called. */
int pgq_exec_prepared(pgq_client *client, const char *statement, int param_count,
                      const char *const *values, const int *lengths, const int *formats,
                      pgq_result_fn on_result, void *arg);

/* Queues a statement given as text (no parameters), e.g. BEGIN/COMMIT. */
int pgq_exec(pgq_client *client, const char *sql, pgq_result_fn on_result, void *arg);

/* Queries submitted and not yet answered. */
size_t pgq_pending(const pgq_client *client);

/* Upper bound of queries submitted and not yet answered. */
#define PGQ_MAX_QUEUED 100000

/* Counters since pgq_open, for metrics and tests. */
typedef struct pgq_stats {
  uint64_t syncs;            /* pipeline syncs sent: one per batch or preparation */
  uint64_t queries_sent;     /* user queries written to the server */
  uint64_t connects;         /* connections that became ready */
  uint64_t connect_failures; /* attempts that failed before becoming ready */
  uint64_t disconnects;      /* ready connections that broke */
} pgq_stats;

void pgq_get_stats(const pgq_client *client, pgq_stats *out);

/* Fails pending queries (res NULL, "closing") and frees. The loop must run
 * afterwards for the handles' close callbacks to release the memory. */
void pgq_close(pgq_client *client);

#endif
