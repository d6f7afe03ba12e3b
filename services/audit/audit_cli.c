/* audit_cli: `lindung-audit verify` (see audit_cli.h). Reads the chain with
 * plain blocking libpq (a one-shot tool), or a capture file, and feeds the
 * audit_verify walker. */
#include "audit_cli.h"

#include <errno.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chain.h"
#include "audit_store.h"
#include "audit_verify.h"
#include "config.h"
#include "hex.h"
#include "lindung/v1/internal.pb-c.h"
#include "proto_limits.h"

#define AUDIT_CLI_PAGE 10000

static const char audit_cli_help[] =
    "usage: lindung-audit verify [--capture FILE] [--public-key HEX | --trust-embedded-key]\n"
    "\n"
    "Walks the audit chain and its signed checkpoints. Exit 0 when intact; when a\n"
    "record was edited, deleted or reordered, prints one line naming the first bad\n"
    "sequence number (\"verify: chain broken at seq N: reason\") and exits 1; exit 2\n"
    "when the chain cannot be read.\n"
    "\n"
    "Without --capture it reads the database at LINDUNG_AUDIT_DB_URL (the audit\n"
    "role's URL, password through passfile=), in one read-only snapshot.\n"
    "\n"
    "  --capture FILE    verify a capture of the audit.log topic instead, without\n"
    "                    database access. Format: one audit.log message value per\n"
    "                    line, as lowercase hex (what `lindung-audit-tail --raw`\n"
    "                    prints); empty lines and lines starting with '#' are\n"
    "                    skipped; any order (records are sorted by seq, identical\n"
    "                    duplicates dropped). A capture may start mid-chain: its\n"
    "                    first record's prev_hash is then taken as given.\n"
    "  --public-key HEX  the checkpoint signing key to trust (64 hex chars); also\n"
    "                    LINDUNG_AUDIT_PUBLIC_KEY, or derived from the seed in\n"
    "                    LINDUNG_AUDIT_SIGNING_KEY_FILE when that is set. Without\n"
    "                    one, verify refuses to run (exit 2): a key taken from the\n"
    "                    data it checks proves nothing against whoever wrote it.\n"
    "  --trust-embedded-key  check checkpoints against the key they carry, with a\n"
    "                    warning on every run (only the hash chain is then proved).\n";

typedef struct audit_cli_rows {
  audit_row *rows;
  Lindung__V1__AuditLogEntry **entries; /* keep the decoded records alive */
  size_t count, cap, entry_count, entry_cap;
  audit_checkpoint *checkpoints;
  size_t checkpoint_count, checkpoint_cap;
} audit_cli_rows;

static int audit_cli_trusted_key(const char *arg, uint8_t key[32], bool *have) {
  *have = false;
  const char *hexkey = arg ? arg : getenv("LINDUNG_AUDIT_PUBLIC_KEY");
  if (hexkey && *hexkey) {
    if (strlen(hexkey) != 64 || hex_decode(hexkey, key, 32) != 0) {
      fprintf(stderr, "verify: the public key must be 64 hex characters\n");
      return -1;
    }
    *have = true;
    return 0;
  }
  const char *file = getenv("LINDUNG_AUDIT_SIGNING_KEY_FILE");
  if (file && *file) {
    uint8_t text[65], seed[32], sk[crypto_sign_SECRETKEYBYTES];
    char err[256];
    long n = cfg_read_secret(file, text, sizeof text - 1, false, err, sizeof err);
    if (n != 64) return 0; /* not readable here: verify without a trusted key */
    text[64] = '\0';
    int rc = hex_decode((const char *)text, seed, 32);
    if (rc == 0) rc = crypto_sign_seed_keypair(key, sk, seed);
    sodium_memzero(text, sizeof text);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(sk, sizeof sk);
    *have = rc == 0;
  }
  return 0;
}

static int audit_cli_report(const audit_walk *w, bool have_key, const char *what) {
  if (w->broken) {
    printf("verify: chain broken at seq %lld: %s\n", (long long)w->bad_seq, w->reason);
    return 1;
  }
  if (w->rows == 0) {
    printf("verify: %s intact: empty\n", what);
    return 0;
  }
  printf("verify: %s intact: %llu records (seq %lld..%lld), %zu signed checkpoints matched%s", what,
         (unsigned long long)w->rows, (long long)w->first_seq, (long long)w->last_seq,
         w->checkpoints_matched, have_key ? "" : " (no trusted key given)");
  if (w->last_checkpoint_seq)
    printf(", last at seq %lld, %lld records after it not yet signed\n",
           (long long)w->last_checkpoint_seq, (long long)(w->last_seq - w->last_checkpoint_seq));
  else
    printf(", none of the records signed yet\n");
  return 0;
}

static PGresult *audit_cli_exec(PGconn *conn, const char *sql, int n, const char *const *params) {
  PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    fprintf(stderr, "verify: query failed (SQLSTATE %s)\n", state ? state : "none");
    PQclear(res);
    return NULL;
  }
  return res;
}

static int audit_cli_verify_db(const uint8_t *key, bool have_key) {
  const char *url = getenv("LINDUNG_AUDIT_DB_URL");
  if (!url || !*url) {
    fprintf(stderr, "verify: LINDUNG_AUDIT_DB_URL is not set (see --help)\n");
    return 2;
  }
  PGconn *conn = PQconnectdb(url);
  if (PQstatus(conn) != CONNECTION_OK) {
    /* libpq's message can name the host and user, never the password. */
    const char *msg = PQerrorMessage(conn);
    fprintf(stderr, "verify: cannot connect to the audit database: %.*s\n", (int)strcspn(msg, "\n"),
            msg);
    PQfinish(conn);
    return 2;
  }
  int status = 2;
  audit_checkpoint *checkpoints = NULL;
  size_t count = 0;
  PGresult *res = audit_cli_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
  if (!res) goto out;
  PQclear(res);
  res = audit_cli_exec(conn, audit_store_checkpoints_sql, 0, NULL);
  if (!res) goto out;
  count = (size_t)PQntuples(res);
  checkpoints = calloc(count ? count : 1, sizeof *checkpoints);
  if (!checkpoints) {
    PQclear(res);
    goto out;
  }
  for (size_t i = 0; i < count; i++) {
    if (audit_store_checkpoint_decode(res, (int)i, &checkpoints[i]) != 0) {
      fprintf(stderr, "verify: malformed checkpoint row\n");
      printf("verify: chain broken at seq %s: malformed checkpoint\n",
             PQgetisnull(res, (int)i, 0) ? "0" : PQgetvalue(res, (int)i, 0));
      PQclear(res);
      status = 1;
      goto out;
    }
  }
  PQclear(res);
  audit_walk_sort_checkpoints(checkpoints, count);
  audit_walk w;
  audit_walk_begin(&w, checkpoints, count, have_key ? key : NULL, 1);
  long long after = 0;
  for (;;) {
    char after_text[32], limit_text[32];
    snprintf(after_text, sizeof after_text, "%lld", after);
    snprintf(limit_text, sizeof limit_text, "%d", AUDIT_CLI_PAGE);
    const char *params[] = {after_text, limit_text};
    res = audit_cli_exec(conn, audit_store_rows_sql, 2, params);
    if (!res) goto out;
    int n = PQntuples(res);
    bool stop = false;
    for (int i = 0; i < n && !stop; i++) {
      audit_store_row row;
      if (audit_store_row_decode(res, i, 0, &row) != 0) {
        /* A column that cannot even be read was tampered with. */
        printf("verify: chain broken at seq %s: malformed record\n", PQgetvalue(res, i, 0));
        PQclear(res);
        status = 1;
        goto out;
      }
      stop = audit_walk_row(&w, &row.row) != 0;
      after = row.row.seq;
      audit_store_row_free(&row);
    }
    PQclear(res);
    if (stop || n < AUDIT_CLI_PAGE) break;
  }
  audit_walk_end(&w);
  status = audit_cli_report(&w, have_key, "chain");
out:
  free(checkpoints);
  PQfinish(conn);
  return status;
}

static int audit_cli_row_cmp(const void *a, const void *b) {
  const audit_row *x = a, *y = b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int audit_cli_push_entry(audit_cli_rows *c, Lindung__V1__AuditLogEntry *entry) {
  if (c->entry_count == c->entry_cap) {
    size_t cap = c->entry_cap ? c->entry_cap * 2 : 1024;
    void *p = realloc(c->entries, cap * sizeof *c->entries);
    if (!p) return -ENOMEM;
    c->entries = p;
    c->entry_cap = cap;
  }
  c->entries[c->entry_count++] = entry;
  if (entry->entry_case == LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_RECORD) {
    if (c->count == c->cap) {
      size_t cap = c->cap ? c->cap * 2 : 1024;
      void *p = realloc(c->rows, cap * sizeof *c->rows);
      if (!p) return -ENOMEM;
      c->rows = p;
      c->cap = cap;
    }
    if (audit_row_from_record(entry->record, &c->rows[c->count]) != 0) return -EINVAL;
    c->count++;
  } else if (entry->entry_case == LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_CHECKPOINT) {
    if (c->checkpoint_count == c->checkpoint_cap) {
      size_t cap = c->checkpoint_cap ? c->checkpoint_cap * 2 : 64;
      void *p = realloc(c->checkpoints, cap * sizeof *c->checkpoints);
      if (!p) return -ENOMEM;
      c->checkpoints = p;
      c->checkpoint_cap = cap;
    }
    if (audit_checkpoint_from_proto(entry->checkpoint, &c->checkpoints[c->checkpoint_count]) != 0)
      return -EINVAL;
    c->checkpoint_count++;
  } else {
    return -EINVAL;
  }
  return 0;
}

int audit_cli_verify_stream(FILE *f, const char *path, const uint8_t *key, bool have_key) {
  audit_cli_rows c = {0};
  char *line = NULL;
  size_t line_cap = 0;
  ssize_t len;
  long lineno = 0;
  int status = 2;
  uint8_t *value = malloc(PROTO_MAX_MESSAGE_BYTES);
  if (!value) goto out;
  while ((len = getline(&line, &line_cap, f)) >= 0) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
      line[--len] = '\0';
    if (len == 0 || line[0] == '#') continue;
    size_t n = (size_t)len / 2;
    ProtobufCMessage *msg = NULL;
    if (len % 2 || n > PROTO_MAX_MESSAGE_BYTES || hex_decode(line, value, n) != 0 ||
        proto_decode(&lindung__v1__audit_log_entry__descriptor, value, n, PROTO_MAX_MESSAGE_BYTES,
                     &msg) != PROTO_DECODE_OK) {
      fprintf(stderr, "verify: %s:%ld: not an audit.log message\n", path, lineno);
      goto out;
    }
    int rc = audit_cli_push_entry(&c, (Lindung__V1__AuditLogEntry *)msg);
    if (rc == -EINVAL) {
      fprintf(stderr, "verify: %s:%ld: malformed audit.log entry\n", path, lineno);
      goto out;
    }
    if (rc) goto out;
  }
  if (c.count > 1) qsort(c.rows, c.count, sizeof *c.rows, audit_cli_row_cmp);
  /* The same record can be captured twice (a republish): drop identical
   * copies; two different records claiming one seq is a break. */
  size_t kept = 0;
  for (size_t i = 0; i < c.count; i++) {
    if (kept && c.rows[kept - 1].seq == c.rows[i].seq) {
      uint8_t again[AUDIT_HASH_BYTES];
      if (audit_row_hash(&c.rows[i], again) != 0 ||
          memcmp(again, c.rows[i].hash, AUDIT_HASH_BYTES) != 0 ||
          memcmp(c.rows[kept - 1].hash, c.rows[i].hash, AUDIT_HASH_BYTES) != 0 ||
          memcmp(c.rows[kept - 1].prev_hash, c.rows[i].prev_hash, AUDIT_HASH_BYTES) != 0) {
        printf("verify: chain broken at seq %lld: two different records\n",
               (long long)c.rows[i].seq);
        status = 1;
        goto out;
      }
      continue;
    }
    c.rows[kept++] = c.rows[i];
  }
  audit_walk_sort_checkpoints(c.checkpoints, c.checkpoint_count);
  audit_walk w;
  audit_walk_begin(&w, c.checkpoints, c.checkpoint_count, have_key ? key : NULL, 0);
  for (size_t i = 0; i < kept; i++)
    if (audit_walk_row(&w, &c.rows[i]) != 0) break;
  audit_walk_end(&w);
  status = audit_cli_report(&w, have_key, "capture");
out:
  for (size_t i = 0; i < c.entry_count; i++)
    protobuf_c_message_free_unpacked(&c.entries[i]->base, NULL);
  free(c.entries);
  free(c.rows);
  free(c.checkpoints);
  free(line);
  free(value);
  return status;
}

static int audit_cli_verify_capture(const char *path, const uint8_t *key, bool have_key) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "verify: cannot open %s: %s\n", path, strerror(errno));
    return 2;
  }
  int status = audit_cli_verify_stream(f, path, key, have_key);
  fclose(f);
  return status;
}

int audit_cli_verify(int argc, char **argv) {
  const char *capture = NULL, *public_key = NULL;
  bool trust_embedded = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(audit_cli_help, stdout);
      return 0;
    } else if (!strcmp(argv[i], "--capture") && i + 1 < argc) {
      capture = argv[++i];
    } else if (!strcmp(argv[i], "--public-key") && i + 1 < argc) {
      public_key = argv[++i];
    } else if (!strcmp(argv[i], "--trust-embedded-key")) {
      trust_embedded = true;
    } else {
      fprintf(stderr, "verify: unexpected argument (see lindung-audit verify --help)\n");
      return 2;
    }
  }
  if (sodium_init() < 0) return 2;
  uint8_t key[32];
  bool have_key;
  if (audit_cli_trusted_key(public_key, key, &have_key) != 0) return 2;
  if (!have_key && !trust_embedded) {
    fprintf(stderr, "verify: no trusted key (--public-key, LINDUNG_AUDIT_PUBLIC_KEY or "
                    "LINDUNG_AUDIT_SIGNING_KEY_FILE); --trust-embedded-key checks the "
                    "checkpoints only against the key they carry\n");
    return 2;
  }
  if (!have_key)
    fprintf(stderr, "verify: WARNING: trusting the signing key embedded in the checkpoints; "
                    "whoever can rewrite the chain can re-sign it\n");
  return capture ? audit_cli_verify_capture(capture, key, have_key)
                 : audit_cli_verify_db(key, have_key);
}
