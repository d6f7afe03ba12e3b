/* lindungctl subject commands: people and the health facts that give them
 * a colour under the rule set in force (ctl_store.c), keyed by the hash of
 * their NIK. Without --birth-date the birth date is the NIK's own. A NIK is
 * read from a file or stdin, never from the command line (which `ps` and
 * shell histories show), hashed as soon as it is read and never printed,
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
  const char *nik_file = NULL, *status = NULL, *birth = NULL;
  const ctl_option options[] = {
      {"nik-file", &nik_file, NULL}, {"status", &status, NULL}, {"birth-date", &birth, NULL}};
  if (ctl_refuse_nik_argument("subject upsert", argc, argv)) return CTL_USAGE;
  int rc = ctl_parse(argc, argv, options, 3, NULL, 0, NULL);
  if (rc) return rc;
  if (!nik_file) return ctl_fail(CTL_USAGE, "subject upsert: missing --nik-file <file> (- for stdin)");
  if (!status) return ctl_fail(CTL_USAGE, "subject upsert: missing --status");
  reg_colour colour = reg_colour_parse(status);
  if (colour == REG_COLOUR_INVALID)
    return ctl_fail(CTL_USAGE, "subject upsert: unknown status (green, yellow, red or black)");
  reg_date date;
  if (birth && reg_date_parse(birth, &date) != 0)
    return ctl_fail(CTL_USAGE, "subject upsert: invalid birth date (YYYY-MM-DD)");
  char nik[CTL_NIK_BUFFER];
  if ((rc = ctl_read_nik("subject upsert", nik_file, nik))) return rc;

  ctl_subject subject = {.colour = colour, .line = 1};
  if (birth) {
    subject.has_birth_date = true;
    subject.birth_date = date;
  } else {
    subject.has_birth_date = ctl_birth_from_nik(nik, &subject.birth_date) == 0;
  }
  uint8_t key[REG_KEY_BYTES];
  rc = ctl_read_nik_key(key);
  if (rc) {
    sodium_memzero(nik, sizeof nik);
    return rc;
  }
  reg_nik_hash(key, nik, subject.nik_hash);
  sodium_memzero(key, sizeof key);
  sodium_memzero(nik, sizeof nik);
  char hash_hex[2 * REG_NIK_HASH_BYTES + 1];
  hex_encode(subject.nik_hash, sizeof subject.nik_hash, hash_hex);

  int code = CTL_OK;
  PGconn *conn = ctl_connect(NULL, &code);
  if (!conn) return code;
  /* One transaction: the person and the facts that give the colour change
   * together or not at all. */
  const char *params[1] = {hash_hex};
  const char *who = "SELECT person_id FROM people WHERE nik_hash = decode($1, 'hex')";
  PGresult *before = NULL, *after = NULL;
  rc = ctl_exec(conn, "BEGIN", "subject upsert") == 0 ? CTL_OK : CTL_RUNTIME;
  if (rc == CTL_OK) {
    before = PQexecParams(conn, who, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(before) != PGRES_TUPLES_OK)
      rc = ctl_fail(CTL_RUNTIME, "subject upsert: %s", ctl_result_reason(before));
  }
  if (rc == CTL_OK && ctl_store_subjects(conn, &subject, 1) != 0) rc = CTL_RUNTIME;
  if (rc == CTL_OK) {
    after = PQexecParams(conn, who, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(after) != PGRES_TUPLES_OK || PQntuples(after) != 1)
      rc = ctl_fail(CTL_RUNTIME, "subject upsert: %s", ctl_result_reason(after));
  }
  if (rc == CTL_OK && ctl_exec(conn, "COMMIT", "subject upsert") != 0) rc = CTL_RUNTIME;
  if (rc == CTL_OK)
    printf("person %s %s: %s\n", PQgetvalue(after, 0, 0),
           PQntuples(before) == 0 ? "created" : "updated", reg_colour_name(colour));
  else
    ctl_rollback(conn);
  PQclear(before);
  PQclear(after);
  PQfinish(conn);
  return rc;
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
  size_t len = 0;
  char *cursor = text;
  for (char *line; (line = ctl_next_line(&cursor, &number, &len));) {
    if (!(number == 1 && reg_subject_line_is_header(line))) {
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
      if (!s->has_birth_date) s->has_birth_date = ctl_birth_from_nik(parsed.nik, &s->birth_date) == 0;
      s->line = number;
    }
    /* The clear NIKs leave memory as soon as they are hashed. */
    sodium_memzero(line, len);
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
