/* pg_array: one-dimensional PostgreSQL arrays in binary format (what
 * array_recv reads), built element by element so that values need no
 * quoting, and the readers of a result's cells in text format. A statement
 * can then carry a whole batch as one array per column. Prefix pg_array_,
 * pg_cell_. */
#ifndef LINDUNG_PG_ARRAY_H
#define LINDUNG_PG_ARRAY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pg_array {
  uint8_t *data;
  size_t len, cap;
  size_t count, expected;
  bool failed; /* out of memory or an element too long */
} pg_array;

/* Element type OIDs (pg_type.h); array_recv insists on the exact one. */
#define PG_OID_BOOL 16
#define PG_OID_BYTEA 17
#define PG_OID_INT8 20
#define PG_OID_INT4 23
#define PG_OID_TEXT 25

/* Starts an array of count (>= 1) elements of element_oid (the exact type
 * the statement expects); bytes_per_element sizes the first allocation.
 * 0, -EINVAL, -ENOMEM. */
int pg_array_init(pg_array *a, uint32_t element_oid, size_t count, size_t bytes_per_element);
void pg_array_put(pg_array *a, const void *bytes, size_t len);
void pg_array_put_null(pg_array *a);
void pg_array_put_text(pg_array *a, const char *text);
void pg_array_put_int8(pg_array *a, int64_t value);
void pg_array_put_int4(pg_array *a, int32_t value);
void pg_array_put_bool(pg_array *a, bool value);
/* 0 when complete (as many elements as announced), -ENOMEM, -EINVAL. */
int pg_array_finish(const pg_array *a);
/* Wipes (an array may hold NIK hashes) and frees. */
void pg_array_free(pg_array *a);

/* A cell of a text-format result: NULL for SQL NULL. */
bool pg_cell_is_null(const PGresult *res, int row, int col);
const char *pg_cell_text(const PGresult *res, int row, int col);
/* true only for a non-NULL 't'. */
bool pg_cell_bool(const PGresult *res, int row, int col);
/* 0, or -1 for NULL, empty or not a whole number (out untouched). */
int pg_cell_int(const PGresult *res, int row, int col, int64_t *out);

#endif
