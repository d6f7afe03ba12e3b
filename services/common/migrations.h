/* The SQL migrations of both databases, compiled in from db/migrations.
 * Each database's files are applied in name order (NNNN_what.sql). */
#ifndef LINDUNG_MIGRATIONS_H
#define LINDUNG_MIGRATIONS_H

typedef struct migration_file {
  const char *database; /* "lindung" or "lindung_audit" */
  const char *name;     /* file name without .sql, e.g. "0001_registry" */
  const char *sql;
} migration_file;

extern const migration_file migration_files[];
extern const unsigned migration_file_count;

#endif
