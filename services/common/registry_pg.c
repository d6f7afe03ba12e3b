/* registry_pg: loads the registry from PostgreSQL in one consistent read
 * (one pipelined round trip) and reloads it whenever the registry version,
 * bumped by a trigger on every change, has moved. */
#include "registry_pg.h"

#include <stdlib.h>
#include <string.h>

#include "hex.h"

const pgq_statement registry_pg_statements[] = {
    {"registry_version", "SELECT version FROM registry_version", 0},
    {"registry_partners",
     "SELECT partner_id, status = 'revoked', coalesce(rate_per_s, 0), coalesce(burst, 0) "
     "FROM partners",
     0},
    {"registry_partner_keys",
     "SELECT partner_id, key_id, encode(public_key, 'hex'), status = 'revoked' FROM partner_keys",
     0},
    {"registry_system_keys",
     "SELECT key_id, encode(public_key, 'hex'), status, "
     "coalesce((extract(epoch FROM retire_after) * 1000)::bigint, 0) FROM system_keys",
     0},
};
const size_t registry_pg_statement_count = sizeof registry_pg_statements / sizeof registry_pg_statements[0];

struct registry_pg {
  pgq_client *db;
  uv_timer_t poll_timer;
  unsigned poll_ms;
  registry_pg_changed_fn on_changed;
  void *ctx;
  registry *current;
  registry *loading; /* being filled by the current load */
  bool load_failed;
  bool load_in_progress;
  bool poll_in_progress;
  bool reload_requested;
  bool stopping;
  bool timer_closed;
  unsigned pending; /* queries whose callbacks have not run yet */
};

static bool registry_pg_bool(const PGresult *res, int row, int column) {
  return PQgetvalue(res, row, column)[0] == 't';
}

static uint64_t registry_pg_u64(const PGresult *res, int row, int column) {
  return strtoull(PQgetvalue(res, row, column), NULL, 10);
}

static void registry_pg_free(registry_pg *loader) {
  registry_free(loader->current);
  registry_free(loader->loading);
  free(loader);
}

/* The loader outlives its stop until every query it sent has called back
 * (the database client fails them when it closes) and its timer closed. */
static void registry_pg_release(registry_pg *loader) {
  if (loader->stopping && loader->timer_closed && loader->pending == 0) registry_pg_free(loader);
}

static bool registry_pg_ok(const PGresult *res) {
  return res && PQresultStatus(res) == PGRES_TUPLES_OK;
}

static void registry_pg_on_version_result(void *arg, const PGresult *res, const char *error) {
  registry_pg *loader = arg;
  (void)error;
  if (!registry_pg_ok(res) || PQntuples(res) != 1) {
    loader->load_failed = true;
    return;
  }
  if (loader->loading) registry_set_version(loader->loading, registry_pg_u64(res, 0, 0));
}

static void registry_pg_on_partners_result(void *arg, const PGresult *res, const char *error) {
  registry_pg *loader = arg;
  (void)error;
  if (!registry_pg_ok(res) || !loader->loading) {
    loader->load_failed = true;
    return;
  }
  for (int row = 0; row < PQntuples(res); row++) {
    if (registry_put_partner(loader->loading, PQgetvalue(res, row, 0), registry_pg_bool(res, row, 1),
                             (uint32_t)registry_pg_u64(res, row, 2),
                             (uint32_t)registry_pg_u64(res, row, 3)))
      loader->load_failed = true;
  }
}

static void registry_pg_on_partner_keys_result(void *arg, const PGresult *res, const char *error) {
  registry_pg *loader = arg;
  (void)error;
  if (!registry_pg_ok(res) || !loader->loading) {
    loader->load_failed = true;
    return;
  }
  for (int row = 0; row < PQntuples(res); row++) {
    uint8_t public_key[32];
    if (hex_decode(PQgetvalue(res, row, 2), public_key, sizeof public_key) ||
        registry_put_partner_key(loader->loading, PQgetvalue(res, row, 0),
                                 (uint32_t)registry_pg_u64(res, row, 1), public_key,
                                 registry_pg_bool(res, row, 3)))
      loader->load_failed = true;
  }
}

static void registry_pg_on_system_keys_result(void *arg, const PGresult *res, const char *error) {
  registry_pg *loader = arg;
  (void)error;
  if (!registry_pg_ok(res) || !loader->loading) {
    loader->load_failed = true;
    return;
  }
  for (int row = 0; row < PQntuples(res); row++) {
    uint8_t public_key[32];
    const char *status_text = PQgetvalue(res, row, 2);
    registry_system_key_status status = !strcmp(status_text, "active")     ? REGISTRY_SYSTEM_KEY_ACTIVE
                                        : !strcmp(status_text, "retiring") ? REGISTRY_SYSTEM_KEY_RETIRING
                                                                           : REGISTRY_SYSTEM_KEY_REVOKED;
    if (hex_decode(PQgetvalue(res, row, 1), public_key, sizeof public_key) ||
        registry_put_system_key(loader->loading, (uint32_t)registry_pg_u64(res, row, 0), public_key,
                                status, registry_pg_u64(res, row, 3)))
      loader->load_failed = true;
  }
}

static void registry_pg_on_commit_result(void *arg, const PGresult *res, const char *error) {
  registry_pg *loader = arg;
  (void)error;
  loader->load_in_progress = false;
  if (!res || PQresultStatus(res) != PGRES_COMMAND_OK || loader->load_failed) {
    /* Try again on the next poll. */
    registry_free(loader->loading);
    loader->loading = NULL;
    loader->reload_requested = true;
    return;
  }
  registry_free(loader->current);
  loader->current = loader->loading;
  loader->loading = NULL;
  if (loader->on_changed) loader->on_changed(loader->ctx, loader->current);
}

static void registry_pg_ignore_result(void *arg, const PGresult *res, const char *error) {
  (void)arg;
  (void)res;
  (void)error;
}

/* Every query goes through one of these: they count the query done and
 * skip the work once the loader is stopping. */
#define REGISTRY_PG_CALLBACK(name)                                            \
  static void name(void *arg, const PGresult *res, const char *error) {       \
    registry_pg *loader = arg;                                                \
    loader->pending--;                                                        \
    if (!loader->stopping) name##_result(arg, res, error);                    \
    registry_pg_release(loader);                                              \
  }
REGISTRY_PG_CALLBACK(registry_pg_on_version)
REGISTRY_PG_CALLBACK(registry_pg_on_partners)
REGISTRY_PG_CALLBACK(registry_pg_on_partner_keys)
REGISTRY_PG_CALLBACK(registry_pg_on_system_keys)
REGISTRY_PG_CALLBACK(registry_pg_on_commit)
REGISTRY_PG_CALLBACK(registry_pg_ignore)

static int registry_pg_exec(registry_pg *loader, const char *statement, pgq_result_fn fn) {
  int rc = statement[0] >= 'A' && statement[0] <= 'Z'
               ? pgq_exec(loader->db, statement, fn, loader)
               : pgq_exec_prepared(loader->db, statement, 0, NULL, NULL, NULL, fn, loader);
  if (rc == 0) loader->pending++;
  return rc;
}

static void registry_pg_load(registry_pg *loader) {
  if (loader->load_in_progress || !pgq_connected(loader->db)) return;
  loader->loading = registry_new();
  if (!loader->loading) return;
  loader->load_failed = false;
  loader->load_in_progress = true;
  loader->reload_requested = false;
  /* One snapshot of all four tables, sent as one pipeline. */
  registry_pg_exec(loader, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", registry_pg_ignore);
  registry_pg_exec(loader, "registry_version", registry_pg_on_version);
  registry_pg_exec(loader, "registry_partners", registry_pg_on_partners);
  registry_pg_exec(loader, "registry_partner_keys", registry_pg_on_partner_keys);
  registry_pg_exec(loader, "registry_system_keys", registry_pg_on_system_keys);
  if (registry_pg_exec(loader, "COMMIT", registry_pg_on_commit)) {
    /* The connection went away between the calls; the queued ones fail too. */
    loader->load_in_progress = false;
    registry_free(loader->loading);
    loader->loading = NULL;
    loader->reload_requested = true;
  }
}

static void registry_pg_on_poll_version_result(void *arg, const PGresult *res, const char *error) {
  registry_pg *loader = arg;
  (void)error;
  loader->poll_in_progress = false;
  if (!registry_pg_ok(res) || PQntuples(res) != 1) return;
  if (!loader->current || registry_pg_u64(res, 0, 0) != registry_version(loader->current))
    registry_pg_load(loader);
}

REGISTRY_PG_CALLBACK(registry_pg_on_poll_version)

static void registry_pg_on_timer(uv_timer_t *timer) {
  registry_pg *loader = timer->data;
  if (loader->load_in_progress || loader->poll_in_progress || !pgq_connected(loader->db)) return;
  if (!loader->current || loader->reload_requested) {
    registry_pg_load(loader);
    return;
  }
  if (registry_pg_exec(loader, "registry_version", registry_pg_on_poll_version) == 0)
    loader->poll_in_progress = true;
}

registry_pg *registry_pg_start(uv_loop_t *loop, pgq_client *db, unsigned poll_ms,
                               registry_pg_changed_fn on_changed, void *ctx) {
  registry_pg *loader = calloc(1, sizeof *loader);
  if (!loader) return NULL;
  loader->db = db;
  loader->poll_ms = poll_ms ? poll_ms : 500;
  loader->on_changed = on_changed;
  loader->ctx = ctx;
  uv_timer_init(loop, &loader->poll_timer);
  loader->poll_timer.data = loader;
  uv_timer_start(&loader->poll_timer, registry_pg_on_timer, 0, loader->poll_ms);
  return loader;
}

const registry *registry_pg_current(const registry_pg *loader) {
  return loader->current;
}

void registry_pg_replace(registry_pg *loader, registry *next) {
  registry_free(loader->current);
  loader->current = next;
  if (loader->on_changed) loader->on_changed(loader->ctx, loader->current);
}

void registry_pg_reload(registry_pg *loader) {
  loader->reload_requested = true;
}

static void registry_pg_on_close(uv_handle_t *handle) {
  registry_pg *loader = handle->data;
  loader->timer_closed = true;
  registry_pg_release(loader);
}

void registry_pg_stop(registry_pg *loader) {
  if (!loader) return;
  loader->stopping = true;
  uv_timer_stop(&loader->poll_timer);
  uv_close((uv_handle_t *)&loader->poll_timer, registry_pg_on_close);
}
