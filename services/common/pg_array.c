/* pg_array: binary PostgreSQL arrays and result cells (see pg_array.h). */
#include "pg_array.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* ndim, has-nulls flag, element type, dimension size, lower bound. */
#define PG_ARRAY_HEADER 20

int pg_array_init(pg_array *a, uint32_t element_oid, size_t count, size_t bytes_per_element) {
  memset(a, 0, sizeof *a);
  if (count == 0 || count > INT32_MAX) return -EINVAL;
  a->cap = PG_ARRAY_HEADER + count * (4 + bytes_per_element);
  a->data = malloc(a->cap);
  if (!a->data) return -ENOMEM;
  a->expected = count;
  /* ndim 1, no NULLs (yet), element type, dimension size, lower bound 1 */
  const uint32_t header[5] = {htonl(1), 0, htonl(element_oid), htonl((uint32_t)count), htonl(1)};
  memcpy(a->data, header, sizeof header);
  a->len = sizeof header;
  return 0;
}

static void pg_array_append(pg_array *a, const void *bytes, size_t len) {
  if (a->failed) return;
  if (a->len + len > a->cap) {
    size_t cap = a->cap * 2 > a->len + len ? a->cap * 2 : a->len + len;
    uint8_t *data = malloc(cap);
    if (!data) {
      a->failed = true;
      return;
    }
    /* Copied rather than realloc'd so that the old buffer can be wiped: an
     * array may hold NIK hashes. */
    memcpy(data, a->data, a->len);
    sodium_memzero(a->data, a->len);
    free(a->data);
    a->data = data;
    a->cap = cap;
  }
  memcpy(a->data + a->len, bytes, len);
  a->len += len;
}

void pg_array_put(pg_array *a, const void *bytes, size_t len) {
  if (len > INT32_MAX) {
    a->failed = true;
    return;
  }
  uint32_t n = htonl((uint32_t)len);
  pg_array_append(a, &n, sizeof n);
  pg_array_append(a, bytes, len);
  a->count++;
}

void pg_array_put_null(pg_array *a) {
  uint32_t n = htonl(UINT32_MAX); /* length -1 */
  pg_array_append(a, &n, sizeof n);
  if (!a->failed) {
    const uint32_t has_nulls = htonl(1);
    memcpy(a->data + 4, &has_nulls, sizeof has_nulls);
  }
  a->count++;
}

void pg_array_put_text(pg_array *a, const char *text) { pg_array_put(a, text, strlen(text)); }

void pg_array_put_int8(pg_array *a, int64_t value) {
  uint64_t v = (uint64_t)value;
  uint8_t be[8];
  for (int i = 7; i >= 0; i--, v >>= 8) be[i] = (uint8_t)v;
  pg_array_put(a, be, sizeof be);
}

void pg_array_put_int4(pg_array *a, int32_t value) {
  uint32_t v = htonl((uint32_t)value);
  pg_array_put(a, &v, sizeof v);
}

void pg_array_put_bool(pg_array *a, bool value) {
  uint8_t v = value ? 1 : 0;
  pg_array_put(a, &v, 1);
}

int pg_array_finish(const pg_array *a) {
  if (a->failed) return -ENOMEM;
  if (a->count != a->expected || a->len > INT32_MAX) return -EINVAL;
  return 0;
}

void pg_array_free(pg_array *a) {
  if (a->data) {
    sodium_memzero(a->data, a->len);
    free(a->data);
  }
  memset(a, 0, sizeof *a);
}

bool pg_cell_is_null(const PGresult *res, int row, int col) {
  return PQgetisnull(res, row, col) != 0;
}

const char *pg_cell_text(const PGresult *res, int row, int col) {
  return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

bool pg_cell_bool(const PGresult *res, int row, int col) {
  const char *v = pg_cell_text(res, row, col);
  return v && v[0] == 't';
}

int pg_cell_int(const PGresult *res, int row, int col, int64_t *out) {
  const char *v = pg_cell_text(res, row, col);
  if (!v || !*v) return -1;
  char *end;
  errno = 0;
  long long value = strtoll(v, &end, 10);
  if (errno || *end) return -1;
  *out = value;
  return 0;
}
