/* lindungctl facts commands: health facts from a CSV file (header
 * "nik,fact,at,until,detail"), either applied to the database in one
 * transaction (import: a bulk back-fill) or published on health.facts as a
 * lab or vaccination centre does (publish). Every line is checked first;
 * one bad line and nothing is applied or published. A NIK is hashed as soon
 * as it is read and never printed: errors name the line number. */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "kafka_security.h"
#include "hex.h"
#include "lindung/v1/internal.pb-c.h"
#include "topics.h"

/* At most this many bad lines are named; the count covers all. */
#define CTL_FACTS_MAX_REPORTED 20

typedef struct ctl_fact_row {
  uint32_t line;
  uint8_t nik_hash[REG_NIK_HASH_BYTES];
  uint8_t fact_id[HEALTH_FACT_ID_BYTES];
  health_fact fact;
  char detail[HEALTH_DETAIL_MAX + 1];
} ctl_fact_row;

static bool ctl_source_valid(const char *s) {
  size_t len = strlen(s);
  if (len == 0 || len > 64 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
    return false;
  return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == len;
}

/* Parses every line; reports each bad one (up to CTL_FACTS_MAX_REPORTED)
 * and returns CTL_RUNTIME when there was any. */
static int ctl_facts_parse(const char *cmd, const char *path, char *text,
                           const uint8_t key[REG_KEY_BYTES], ctl_fact_row **out, size_t *out_count) {
  size_t lines = 1;
  for (const char *p = text; *p; p++) lines += *p == '\n';
  ctl_fact_row *rows = calloc(lines, sizeof *rows);
  if (!rows) return ctl_fail(CTL_RUNTIME, "out of memory");
  size_t count = 0, bad = 0;
  uint32_t number = 0;
  size_t len = 0;
  char *cursor = text;
  for (char *line; (line = ctl_next_line(&cursor, &number, &len));) {
    if (!(number == 1 && health_fact_line_is_header(line))) {
      health_fact_line parsed;
      health_line_status status = health_fact_line_parse(line, &parsed);
      if (status != HEALTH_LINE_OK) {
        if (++bad <= CTL_FACTS_MAX_REPORTED)
          ctl_fail(CTL_RUNTIME, "%s: %s: line %" PRIu32 ": %s", cmd, path, number,
                   health_line_status_reason(status));
      } else {
        ctl_fact_row *r = &rows[count++];
        r->line = number;
        reg_nik_hash(key, parsed.nik, r->nik_hash);
        r->fact = parsed.fact;
        snprintf(r->detail, sizeof r->detail, "%s", parsed.detail);
        health_fact_id(r->nik_hash, &r->fact, r->detail, r->fact_id);
      }
    }
    /* The clear NIKs leave memory as soon as they are hashed. */
    sodium_memzero(line, len);
  }
  if (bad) {
    free(rows);
    return ctl_fail(CTL_RUNTIME, "%s: %s: %zu bad line%s, nothing applied", cmd, path, bad,
                    bad == 1 ? "" : "s");
  }
  *out = rows;
  *out_count = count;
  return CTL_OK;
}

/* Reads and parses the file named by the one positional argument. */
static int ctl_facts_load(const char *cmd, int argc, char **argv, const char **source,
                          bool source_required, ctl_fact_row **rows, size_t *count) {
  const char *positional[1];
  size_t npos = 0;
  const ctl_option options[] = {{"source", source, NULL}};
  int rc = ctl_parse(argc, argv, options, 1, positional, 1, &npos);
  if (rc) return rc;
  if (npos != 1) return ctl_fail(CTL_USAGE, "%s: missing <file.csv>", cmd);
  if (!*source && source_required) return ctl_fail(CTL_USAGE, "%s: missing --source", cmd);
  if (!*source) *source = "lindungctl";
  if (!ctl_source_valid(*source))
    return ctl_fail(CTL_USAGE, "%s: invalid --source ([a-z0-9][a-z0-9_.-], up to 64)", cmd);
  uint8_t key[REG_KEY_BYTES];
  rc = ctl_read_nik_key(key);
  if (rc) return rc;
  size_t len = 0;
  int err = 0;
  char *text = ctl_read_all(positional[0], &len, &err);
  if (!text) {
    sodium_memzero(key, sizeof key);
    return ctl_fail(CTL_RUNTIME, "%s: cannot read %s: %s", cmd, positional[0], strerror(err));
  }
  rc = ctl_facts_parse(cmd, positional[0], text, key, rows, count);
  sodium_memzero(key, sizeof key);
  sodium_memzero(text, len);
  free(text);
  return rc;
}

/* COPY text: line, id, hash, fact, at, until or \N, detail (backslashes
 * doubled; control characters were refused). */
static char *ctl_facts_copy_rows(const ctl_fact_row *rows, size_t count, size_t *len) {
  char *out = malloc(count * (2 * HEALTH_DETAIL_MAX + 200) + 1);
  if (!out) return NULL;
  size_t n = 0;
  for (size_t i = 0; i < count; i++) {
    const ctl_fact_row *r = &rows[i];
    char id[2 * HEALTH_FACT_ID_BYTES + 1], hash[2 * REG_NIK_HASH_BYTES + 1], until[24] = "\\N";
    hex_encode(r->fact_id, sizeof r->fact_id, id);
    hex_encode(r->nik_hash, sizeof r->nik_hash, hash);
    if (r->fact.until_ms != HEALTH_NONE) snprintf(until, sizeof until, "%" PRId64, r->fact.until_ms);
    n += (size_t)sprintf(out + n, "%u\t\\\\x%s\t\\\\x%s\t%s\t%" PRId64 "\t%s\t", r->line, id, hash,
                         health_fact_kind_name(r->fact.kind), r->fact.at_ms, until);
    for (const char *p = r->detail; *p; p++) {
      if (*p == '\\') out[n++] = '\\';
      out[n++] = *p;
    }
    out[n++] = '\n';
  }
  *len = n;
  return out;
}

int ctl_cmd_facts_import(int argc, char **argv) {
  const char *source = NULL;
  ctl_fact_row *rows = NULL;
  size_t count = 0;
  int rc = ctl_facts_load("facts import", argc, argv, &source, false, &rows, &count);
  if (rc) return rc;
  size_t len = 0;
  char *copy = ctl_facts_copy_rows(rows, count, &len);
  free(rows);
  if (!copy) return ctl_fail(CTL_RUNTIME, "out of memory");
  int code = CTL_OK;
  PGconn *conn = ctl_connect(NULL, &code);
  if (!conn) {
    free(copy);
    return code;
  }
  const char *ctx = "facts import";
  PGresult *res = NULL;
  rc = ctl_exec(conn,
                "BEGIN; CREATE TEMP TABLE fact_import (line integer, fact_id bytea, nik_hash bytea,"
                " fact text, at_ms bigint, until_ms bigint, detail text) ON COMMIT DROP",
                ctx) == 0
           ? CTL_OK
           : CTL_RUNTIME;
  if (rc == CTL_OK && ctl_copy_rows(conn, "COPY fact_import FROM STDIN", copy, len, ctx) != 0)
    rc = CTL_RUNTIME;
  free(copy);
  /* A person with facts can link (the registry of people is by NIK hash). */
  if (rc == CTL_OK &&
      ctl_exec(conn,
               "INSERT INTO people (nik_hash) SELECT DISTINCT nik_hash FROM fact_import"
               " ON CONFLICT (nik_hash) DO NOTHING",
               ctx) != 0)
    rc = CTL_RUNTIME;
  if (rc == CTL_OK) {
    /* The same function the resolver applies health.facts with: each fact
     * once, positives flag their contacts. */
    const char *params[1] = {source};
    res = PQexecParams(
        conn,
        "SELECT count(*), count(*) FILTER (WHERE o_applied), coalesce(sum(o_contacts), 0)"
        " FROM health_facts_apply("
        " ARRAY(SELECT fact_id FROM fact_import ORDER BY line),"
        " ARRAY(SELECT nik_hash FROM fact_import ORDER BY line),"
        " ARRAY(SELECT fact FROM fact_import ORDER BY line),"
        " ARRAY(SELECT at_ms FROM fact_import ORDER BY line),"
        " ARRAY(SELECT until_ms FROM fact_import ORDER BY line),"
        " ARRAY(SELECT detail FROM fact_import ORDER BY line),"
        " ARRAY(SELECT $1::text FROM fact_import ORDER BY line))",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
      rc = ctl_fail(CTL_RUNTIME, "facts import: %s", ctl_result_reason(res));
  }
  if (rc == CTL_OK && ctl_exec(conn, "COMMIT", ctx) != 0) rc = CTL_RUNTIME;
  if (rc == CTL_OK)
    printf("%s facts: %s new, close contacts flagged: %s\n", PQgetvalue(res, 0, 0),
           PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
  else
    ctl_rollback(conn);
  PQclear(res);
  PQfinish(conn);
  return rc;
}

static void ctl_facts_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
  (void)rk;
  size_t *failed = opaque;
  if (msg->err) (*failed)++;
}

int ctl_cmd_facts_publish(int argc, char **argv) {
  const char *source = NULL;
  ctl_fact_row *rows = NULL;
  size_t count = 0;
  int rc = ctl_facts_load("facts publish", argc, argv, &source, true, &rows, &count);
  if (rc) return rc;
  const char *brokers = ctl_env("LINDUNG_KAFKA_BROKERS");
  if (!brokers) {
    free(rows);
    return ctl_fail(CTL_USAGE, "LINDUNG_KAFKA_BROKERS is not set");
  }
  char err[512];
  kafka_security security;
  if (ksec_load_env(&security, err, sizeof err)) {
    free(rows);
    return ctl_fail(CTL_USAGE, "facts publish: %s", err);
  }
  size_t failed = 0;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_opaque(conf, &failed);
  rd_kafka_conf_set_dr_msg_cb(conf, ctl_facts_on_delivery);
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "linger.ms", "1", err, sizeof err) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "client.id", "lindungctl-facts", err, sizeof err) !=
          RD_KAFKA_CONF_OK ||
      ksec_conf_set(conf, &security, err, sizeof err)) {
    rd_kafka_conf_destroy(conf);
    free(rows);
    return ctl_fail(CTL_USAGE, "facts publish: %s", err);
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    free(rows);
    return ctl_fail(CTL_RUNTIME, "facts publish: %s", err);
  }
  uint64_t sent_at = (uint64_t)ctl_now_ms();
  for (size_t i = 0; i < count && rc == CTL_OK; i++) {
    ctl_fact_row *r = &rows[i];
    Lindung__V1__HealthFact m = LINDUNG__V1__HEALTH_FACT__INIT;
    m.version = 1;
    m.fact_id = (ProtobufCBinaryData){sizeof r->fact_id, r->fact_id};
    m.nik_hash = (ProtobufCBinaryData){sizeof r->nik_hash, r->nik_hash};
    m.kind = (Lindung__V1__HealthFactKind)r->fact.kind;
    m.at_ms = (uint64_t)r->fact.at_ms;
    m.until_ms = r->fact.until_ms == HEALTH_NONE ? 0 : (uint64_t)r->fact.until_ms;
    m.detail = r->detail;
    m.source = (char *)source;
    m.sent_at_ms = sent_at;
    uint8_t buf[512];
    size_t len = lindung__v1__health_fact__pack(&m, buf);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPIC_HEALTH_FACTS),
                                  RD_KAFKA_V_KEY(r->nik_hash, sizeof r->nik_hash),
                                  RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 50);
    if (e) rc = ctl_fail(CTL_RUNTIME, "facts publish: %s", rd_kafka_err2str(e));
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_resp_err_t flushed = rd_kafka_flush(rk, 30000);
  rd_kafka_destroy(rk);
  free(rows);
  if (rc == CTL_OK && (flushed || failed))
    rc = ctl_fail(CTL_RUNTIME, "facts publish: %zu of %zu facts not delivered", failed ? failed : count,
                  count);
  if (rc == CTL_OK) printf("%zu facts published\n", count);
  return rc;
}
