/* lindungctl db migrate: applies the embedded SQL migrations (migrations.h)
 * to `lindung` as its owner (LINDUNG_DB_URL), then to `lindung_audit` as
 * its own owner (LINDUNG_AUDIT_ADMIN_DB_URL; the two owners are separate so
 * that no credential reaches both databases). Each file runs in its own
 * transaction together with its schema_migrations row, under an advisory
 * lock, so concurrent runs apply each file once and a second run is a
 * no-op. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "migrations.h"

/* Any constant works; it only has to be the same for every migrator. */
#define CTL_MIGRATION_LOCK "SELECT pg_advisory_xact_lock(7305931582247003)"

static int ctl_migration_applied(PGconn *conn, const char *name, bool *applied) {
  const char *params[1] = {name};
  PGresult *res = PQexecParams(conn, "SELECT 1 FROM schema_migrations WHERE name = $1", 1, NULL,
                               params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    ctl_fail(CTL_RUNTIME, "migration %s: %s", name, ctl_result_reason(res));
    PQclear(res);
    return -1;
  }
  *applied = PQntuples(res) > 0;
  PQclear(res);
  return 0;
}

static int ctl_apply_one(PGconn *conn, const migration_file *file, bool *applied_now) {
  char context[160];
  snprintf(context, sizeof context, "migration %s/%s", file->database, file->name);
  *applied_now = false;
  if (ctl_exec(conn, "BEGIN", context) != 0 || ctl_exec(conn, CTL_MIGRATION_LOCK, context) != 0)
    goto fail;
  bool done;
  if (ctl_migration_applied(conn, file->name, &done) != 0) goto fail;
  if (done) return ctl_exec(conn, "COMMIT", context) == 0 ? 0 : -1;
  /* A file may hold many statements: the simple query protocol runs them
   * all inside the open transaction and stops at the first error. */
  if (ctl_exec(conn, file->sql, context) != 0) goto fail;
  const char *params[1] = {file->name};
  PGresult *res = PQexecParams(conn, "INSERT INTO schema_migrations (name) VALUES ($1)", 1, NULL,
                               params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    ctl_fail(CTL_RUNTIME, "%s: %s", context, ctl_result_reason(res));
    PQclear(res);
    goto fail;
  }
  PQclear(res);
  if (ctl_exec(conn, "COMMIT", context) != 0) return -1;
  *applied_now = true;
  return 0;
fail:
  ctl_rollback(conn);
  return -1;
}

static int ctl_migrate_database(const char *database, const char *url, const char *dbname,
                                unsigned *applied) {
  int code = CTL_OK;
  PGconn *conn = ctl_connect_url(url, dbname, &code);
  if (!conn) return code;
  char context[96];
  snprintf(context, sizeof context, "cannot create schema_migrations in %s", database);
  if (ctl_exec(conn, "BEGIN", context) != 0 || ctl_exec(conn, CTL_MIGRATION_LOCK, context) != 0 ||
      ctl_exec(conn,
               "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, "
               "applied_at timestamptz NOT NULL DEFAULT now())",
               context) != 0 ||
      ctl_exec(conn, "COMMIT", context) != 0) {
    ctl_rollback(conn);
    PQfinish(conn);
    return CTL_RUNTIME;
  }
  /* migration_files is sorted by path, hence by name within a database. */
  for (unsigned i = 0; i < migration_file_count; i++) {
    const migration_file *file = &migration_files[i];
    if (strcmp(file->database, database) != 0) continue;
    bool applied_now;
    if (ctl_apply_one(conn, file, &applied_now) != 0) {
      PQfinish(conn);
      return CTL_RUNTIME;
    }
    if (applied_now) {
      printf("applied %s/%s\n", file->database, file->name);
      (*applied)++;
    }
  }
  PQfinish(conn);
  return CTL_OK;
}

int ctl_cmd_db_migrate(int argc, char **argv) {
  int rc = ctl_parse(argc, argv, NULL, 0, NULL, 0, NULL);
  if (rc) return rc;
  const char *data_url = ctl_env("LINDUNG_DB_URL");
  const char *audit_url = ctl_env("LINDUNG_AUDIT_ADMIN_DB_URL");
  if (!data_url) return ctl_fail(CTL_USAGE, "LINDUNG_DB_URL is not set");
  if (!audit_url)
    return ctl_fail(CTL_USAGE, "LINDUNG_AUDIT_ADMIN_DB_URL is not set (lindung_audit's own owner)");
  /* LINDUNG_AUDIT_DB_NAME names another audit database on that server. */
  const char *audit_db = ctl_env("LINDUNG_AUDIT_DB_NAME");
  unsigned applied = 0;
  rc = ctl_migrate_database("lindung", data_url, NULL, &applied);
  if (rc == CTL_OK) rc = ctl_migrate_database("lindung_audit", audit_url, audit_db, &applied);
  if (rc == CTL_OK) printf("%u migrations applied\n", applied);
  return rc;
}
