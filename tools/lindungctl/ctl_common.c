/* lindungctl: what every command needs — one-line errors, option parsing,
 * the database connection and secret files. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "hex.h"

int ctl_fail(int code, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* Exactly one line, whatever the reason text held. */
  for (char *p = line; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  fprintf(stderr, "lindungctl: %s\n", line);
  return code;
}

int ctl_parse(int argc, char **argv, const ctl_option *options, size_t option_count,
              const char **positional, size_t max_positional, size_t *positional_count) {
  size_t npos = 0;
  bool only_positional = false;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (only_positional || arg[0] != '-' || arg[1] == '\0') {
      if (npos == max_positional)
        return ctl_fail(CTL_USAGE, "%s: unexpected argument (see --help)", argv[0]);
      positional[npos++] = arg;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      only_positional = true;
      continue;
    }
    if (strncmp(arg, "--", 2) != 0)
      return ctl_fail(CTL_USAGE, "%s: unknown option (see --help)", argv[0]);
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
    const ctl_option *opt = NULL;
    for (size_t o = 0; o < option_count; o++)
      if (strlen(options[o].name) == name_len && strncmp(options[o].name, name, name_len) == 0)
        opt = &options[o];
    if (!opt) return ctl_fail(CTL_USAGE, "%s: unknown option --%.*s", argv[0], (int)name_len, name);
    if (opt->flag) {
      if (eq) return ctl_fail(CTL_USAGE, "%s: --%s takes no value", argv[0], opt->name);
      *opt->flag = true;
      continue;
    }
    if (eq) {
      *opt->value = eq + 1;
    } else {
      if (i + 1 >= argc) return ctl_fail(CTL_USAGE, "%s: --%s needs a value", argv[0], opt->name);
      *opt->value = argv[++i];
    }
  }
  if (positional_count) *positional_count = npos;
  return CTL_OK;
}

const char *ctl_env(const char *name) {
  const char *value = getenv(name);
  return value && *value ? value : NULL;
}

const char *ctl_partner_dir(const char *partner_id) {
  static char dir[4200];
  snprintf(dir, sizeof dir, "%s/partners/%s", ctl_run_dir(), partner_id);
  return dir;
}

const char *ctl_run_dir(void) {
  const char *dir = ctl_env("LINDUNG_RUN_DIR");
  return dir ? dir : ".run";
}

/* libpq prints NOTICEs (e.g. "already exists, skipping") by default. */
static void ctl_ignore_notice(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

/* First line of a libpq error text, without the "ERROR:  " prefix. */
static void ctl_first_line(const char *text, char *out, size_t out_len) {
  if (!text) text = "";
  if (strncmp(text, "ERROR:  ", 8) == 0) text += 8;
  size_t len = strcspn(text, "\n");
  if (len >= out_len) len = out_len - 1;
  memcpy(out, text, len);
  out[len] = '\0';
}

PGconn *ctl_connect(const char *dbname, int *code) {
  const char *url = ctl_env("LINDUNG_DB_URL");
  if (!url) {
    *code = ctl_fail(CTL_USAGE, "LINDUNG_DB_URL is not set");
    return NULL;
  }
  return ctl_connect_url(url, dbname, code);
}

PGconn *ctl_connect_url(const char *url, const char *dbname, int *code) {
  /* The URL is expanded first; later keywords override what it says. */
  const char *keys[] = {"dbname", "application_name", dbname ? "dbname" : NULL, NULL};
  const char *values[] = {url, "lindungctl", dbname, NULL};
  PGconn *conn = PQconnectdbParams(keys, values, 1);
  if (!conn || PQstatus(conn) != CONNECTION_OK) {
    char reason[256];
    ctl_first_line(conn ? PQerrorMessage(conn) : "out of memory", reason, sizeof reason);
    *code =
        ctl_fail(CTL_RUNTIME, "cannot connect to %s: %s", dbname ? dbname : "the database", reason);
    PQfinish(conn);
    return NULL;
  }
  PQsetNoticeProcessor(conn, ctl_ignore_notice, NULL);
  return conn;
}

const char *ctl_result_reason(const PGresult *res) {
  const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  if (primary) return primary;
  return res ? PQresStatus(PQresultStatus(res)) : "no result";
}

const char *ctl_result_state(const PGresult *res) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  return state ? state : "";
}

int ctl_print_json(PGconn *conn, const char *sql, const char *context, const char *empty_reason) {
  PGresult *res = PQexec(conn, sql);
  int rc = CTL_OK;
  if (PQresultStatus(res) != PGRES_TUPLES_OK)
    rc = ctl_fail(CTL_RUNTIME, "%s: %s", context, ctl_result_reason(res));
  else if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0))
    rc = ctl_fail(CTL_RUNTIME, "%s: %s", context, empty_reason);
  else
    printf("%s\n", PQgetvalue(res, 0, 0));
  PQclear(res);
  return rc;
}

int ctl_exec(PGconn *conn, const char *sql, const char *context) {
  PGresult *res = PQexec(conn, sql);
  ExecStatusType status = PQresultStatus(res);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    PQclear(res);
    return 0;
  }
  char reason[256];
  if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY))
    snprintf(reason, sizeof reason, "%s", ctl_result_reason(res));
  else
    ctl_first_line(PQerrorMessage(conn), reason, sizeof reason);
  ctl_fail(CTL_RUNTIME, "%s: %s", context, reason);
  PQclear(res);
  return -1;
}

void ctl_rollback(PGconn *conn) {
  PQclear(PQexec(conn, "ROLLBACK"));
}

int ctl_mkdirs(const char *path) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return -ENAMETOOLONG;
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char saved = *p;
    *p = '\0';
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) return -errno;
    *p = saved;
    if (saved == '\0') break;
  }
  return 0;
}

int ctl_write_file(const char *path, const char *content, unsigned mode, bool exclusive) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  int fd = open(path, flags, (mode_t)mode);
  if (fd < 0) return -errno;
  /* The umask may have narrowed the mode; make it exactly what was asked. */
  int err = fchmod(fd, (mode_t)mode) != 0 ? -errno : 0;
  size_t len = strlen(content), done = 0;
  while (!err && done < len) {
    ssize_t n = write(fd, content + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      err = -errno;
    else
      done += (size_t)n;
  }
  if (!err && fsync(fd) != 0) err = -errno;
  if (close(fd) != 0 && !err) err = -errno;
  if (err) unlink(path);
  return err;
}

int ctl_read_nik_key(uint8_t key[REG_KEY_BYTES]) {
  const char *path = ctl_env("LINDUNG_NIK_KEY_FILE");
  if (!path) return ctl_fail(CTL_USAGE, "LINDUNG_NIK_KEY_FILE is not set");
  uint8_t text[2 * REG_KEY_BYTES + 1];
  char err[256];
  long len = cfg_read_secret(path, text, sizeof text - 1, true, err, sizeof err);
  if (len < 0) return ctl_fail(CTL_RUNTIME, "%s", err);
  text[len] = '\0';
  int rc = (len == 2 * REG_KEY_BYTES && reg_key_hex_parse((const char *)text, key) == 0);
  sodium_memzero(text, sizeof text);
  if (!rc) return ctl_fail(CTL_RUNTIME, "LINDUNG_NIK_KEY_FILE must hold 64 hex characters");
  return CTL_OK;
}

/* Reads a whole file into a NUL-terminated buffer. */
char *ctl_read_all(const char *path, size_t *len, int *err) {
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

char *ctl_next_line(char **cursor, uint32_t *number, size_t *len) {
  while (*cursor) {
    char *line = *cursor;
    char *next = strchr(line, '\n');
    if (next) *next++ = '\0';
    *cursor = next;
    (*number)++;
    size_t n = strlen(line);
    if (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
    if (n > 0 && strspn(line, " \t") != n) {
      *len = n;
      return line;
    }
  }
  return NULL;
}

bool ctl_refuse_nik_argument(const char *what, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (strcmp(argv[i], "--nik") == 0 || strncmp(argv[i], "--nik=", 6) == 0) {
      ctl_fail(CTL_USAGE,
               "%s: a NIK is never taken on the command line (other users see it in ps); "
               "use --nik-file <file>, or --nik-file - to read it from stdin",
               what);
      return true;
    }
  }
  return false;
}

int ctl_read_nik(const char *what, const char *path, char nik[CTL_NIK_BUFFER]) {
  bool from_stdin = strcmp(path, "-") == 0;
  FILE *f = from_stdin ? stdin : fopen(path, "rb");
  if (!f) return ctl_fail(CTL_RUNTIME, "%s: cannot read the NIK file: %s", what, strerror(errno));
  /* One read of at most the buffer: a longer input is not one NIK. */
  size_t n = fread(nik, 1, CTL_NIK_BUFFER - 1, f);
  bool failed = ferror(f) != 0;
  if (!from_stdin) fclose(f);
  nik[n] = '\0';
  if (n > 0 && nik[n - 1] == '\n') nik[--n] = '\0';
  if (n > 0 && nik[n - 1] == '\r') nik[--n] = '\0';
  int rc = CTL_OK;
  if (failed)
    rc = ctl_fail(CTL_RUNTIME, "%s: cannot read the NIK %s", what, from_stdin ? "from stdin" : "file");
  else if (!reg_nik_valid(nik))
    rc = ctl_fail(CTL_USAGE, "%s: invalid NIK (exactly 16 digits, one line)", what);
  if (rc) sodium_memzero(nik, CTL_NIK_BUFFER);
  return rc;
}
