/* lindungctl subject commands: health status of people, keyed by the hash
 * of their NIK. A NIK is hashed as soon as it is read and never printed,
 * not even in an error: errors name the line number instead. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "hex.h"

int ctl_cmd_subject_upsert(int argc, char **argv) {
  const char *nik = NULL, *status = NULL, *birth = NULL;
  const ctl_option options[] = {
      {"nik", &nik, NULL}, {"status", &status, NULL}, {"birth-date", &birth, NULL}};
  int rc = ctl_parse(argc, argv, options, 3, NULL, 0, NULL);
  if (rc) return rc;
  if (!nik) return ctl_fail(CTL_USAGE, "subject upsert: missing --nik");
  if (!reg_nik_valid(nik))
    return ctl_fail(CTL_USAGE, "subject upsert: invalid NIK (exactly 16 digits)");
  if (!status) return ctl_fail(CTL_USAGE, "subject upsert: missing --status");
  reg_colour colour = reg_colour_parse(status);
  if (colour == REG_COLOUR_INVALID)
    return ctl_fail(CTL_USAGE, "subject upsert: unknown status (green, yellow, red or black)");
  reg_date date;
  if (birth && reg_date_parse(birth, &date) != 0)
    return ctl_fail(CTL_USAGE, "subject upsert: invalid birth date (YYYY-MM-DD)");

  uint8_t key[REG_KEY_BYTES], hash[REG_NIK_HASH_BYTES];
  rc = ctl_read_nik_key(key);
  if (rc) return rc;
  reg_nik_hash(key, nik, hash);
  sodium_memzero(key, sizeof key);
  char hash_hex[2 * REG_NIK_HASH_BYTES + 1], date_text[16];
  hex_encode(hash, sizeof hash, hash_hex);
  if (birth)
    snprintf(date_text, sizeof date_text, "%04d-%02d-%02d", date.year, date.month, date.day);

  int code = CTL_OK;
  PGconn *conn = ctl_connect(NULL, &code);
  if (!conn) return code;
  /* One statement: person and status change together or not at all. */
  const char *params[3] = {hash_hex, birth ? date_text : NULL, reg_colour_name(colour)};
  PGresult *res = PQexecParams(
      conn,
      "WITH p AS (INSERT INTO people (nik_hash, birth_date) VALUES (decode($1, 'hex'), $2::date) "
      "ON CONFLICT (nik_hash) DO UPDATE SET birth_date = COALESCE(EXCLUDED.birth_date, "
      "people.birth_date) RETURNING person_id, (xmax = 0) AS created) "
      "INSERT INTO health_status (person_id, status) SELECT person_id, $3 FROM p "
      "ON CONFLICT (person_id) DO UPDATE SET status = EXCLUDED.status, updated_at = now() "
      "RETURNING person_id, (SELECT created FROM p)",
      3, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
    rc = ctl_fail(CTL_RUNTIME, "subject upsert: %s", ctl_result_reason(res));
  } else {
    printf("person %s %s: %s\n", PQgetvalue(res, 0, 0),
           strcmp(PQgetvalue(res, 0, 1), "t") == 0 ? "created" : "updated",
           reg_colour_name(colour));
    rc = CTL_OK;
  }
  PQclear(res);
  PQfinish(conn);
  return rc;
}

/* Reads a whole file into a NUL-terminated buffer. */
static char *ctl_read_all(const char *path, size_t *len, int *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    *err = errno;
    return NULL;
  }
  size_t cap = 1 << 16, used = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (used + 1 >= cap) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
    size_t n = fread(buf + used, 1, cap - used - 1, f);
    used += n;
    if (n == 0) break;
  }
  *err = !buf ? ENOMEM : ferror(f) ? EIO : 0;
  fclose(f);
  if (*err) {
    free(buf);
    return NULL;
  }
  buf[used] = '\0';
  *len = used;
  return buf;
}

/* Parses every line into subjects; on a bad line prints its number and
 * returns CTL_RUNTIME. */
static int ctl_parse_subjects(const char *path, char *text, const uint8_t key[REG_KEY_BYTES],
                              ctl_subject **out, size_t *out_count) {
  size_t lines = 1;
  for (const char *p = text; *p; p++) lines += *p == '\n';
  ctl_subject *subjects = calloc(lines, sizeof *subjects);
  if (!subjects) return ctl_fail(CTL_RUNTIME, "out of memory");
  size_t count = 0;
  uint32_t number = 0;
  for (char *line = text; line;) {
    char *next = strchr(line, '\n');
    if (next) *next++ = '\0';
    number++;
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '\r') line[--len] = '\0';
    if (len > 0 && strspn(line, " \t") != len &&
        !(number == 1 && reg_subject_line_is_header(line))) {
      reg_subject_line parsed;
      reg_line_status status = reg_subject_line_parse(line, &parsed);
      if (status != REG_LINE_OK) {
        free(subjects);
        return ctl_fail(CTL_RUNTIME, "%s: line %" PRIu32 ": %s", path, number,
                        reg_line_status_reason(status));
      }
      ctl_subject *s = &subjects[count++];
      reg_nik_hash(key, parsed.nik, s->nik_hash);
      s->colour = parsed.colour;
      s->has_birth_date = parsed.has_birth_date;
      s->birth_date = parsed.birth_date;
      s->line = number;
    }
    /* The clear NIKs leave memory as soon as they are hashed. */
    sodium_memzero(line, len);
    line = next;
  }
  *out = subjects;
  *out_count = count;
  return CTL_OK;
}

int ctl_cmd_subject_import(int argc, char **argv) {
  const char *positional[1];
  size_t npos = 0;
  int rc = ctl_parse(argc, argv, NULL, 0, positional, 1, &npos);
  if (rc) return rc;
  if (npos != 1) return ctl_fail(CTL_USAGE, "subject import: missing <file.csv>");
  const char *path = positional[0];
  uint8_t key[REG_KEY_BYTES];
  rc = ctl_read_nik_key(key);
  if (rc) return rc;
  size_t len = 0;
  int err = 0;
  char *text = ctl_read_all(path, &len, &err);
  if (!text) {
    sodium_memzero(key, sizeof key);
    return ctl_fail(CTL_RUNTIME, "subject import: cannot read %s: %s", path, strerror(err));
  }
  ctl_subject *subjects = NULL;
  size_t count = 0;
  rc = ctl_parse_subjects(path, text, key, &subjects, &count);
  sodium_memzero(key, sizeof key);
  sodium_memzero(text, len);
  free(text);
  if (rc) return rc;

  int code = CTL_OK;
  PGconn *conn = ctl_connect(NULL, &code);
  if (!conn) {
    free(subjects);
    return code;
  }
  rc = CTL_OK;
  if (ctl_exec(conn, "BEGIN", "subject import") != 0 ||
      ctl_store_subjects(conn, subjects, count) != 0 ||
      ctl_exec(conn, "COMMIT", "subject import") != 0) {
    ctl_rollback(conn);
    rc = CTL_RUNTIME;
  }
  PQfinish(conn);
  free(subjects);
  if (rc == CTL_OK) printf("%zu subjects imported\n", count);
  return rc;
}
