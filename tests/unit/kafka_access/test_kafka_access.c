/* kafka_access: the access table parser, and least privilege in the table
 * itself (deploy/kafka/access, read from the source tree). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_access.h"
#include "testing.h"

static ka_row rows[256];

static void test_rows_fixed_and_per_partner(void) {
  const char *table =
      "# comment\n"
      "topic scan.accepted 4 1 86400000 1 300000\n"
      "topic scan.requests.{partner} 2 3 1000 2   # trailing comment\n"
      "\n"
      "allow lindung-ingest topic prefixed scan.requests. Read,Describe\n"
      "allow partner-{partner} topic literal scan.requests.{partner} Write,Describe\n"
      "allow partner-{partner} cluster literal kafka-cluster IdempotentWrite\n";
  char err[128];
  CHECK_EQ_INT(ka_rows(table, NULL, rows, 256, err, sizeof err), 2);
  CHECK_EQ_INT(rows[0].kind, KA_TOPIC);
  CHECK_EQ_STR(rows[0].name, "scan.accepted");
  CHECK_EQ_INT(rows[0].partitions, 4);
  CHECK_EQ_INT(rows[0].retention_ms, 86400000);
  CHECK_EQ_INT(rows[0].segment_ms, 300000);
  CHECK_EQ_INT(rows[1].kind, KA_ALLOW);
  CHECK_EQ_STR(rows[1].principal, "lindung-ingest");
  CHECK(rows[1].prefixed);
  CHECK_EQ_STR(rows[1].operations, "Read,Describe");

  CHECK_EQ_INT(ka_rows(table, "gojek", rows, 256, err, sizeof err), 3);
  CHECK_EQ_STR(rows[0].name, "scan.requests.gojek");
  CHECK_EQ_INT(rows[0].replicas, 3);
  CHECK_EQ_INT(rows[0].min_insync_replicas, 2);
  CHECK_EQ_INT(rows[0].segment_ms, 0); /* none given: the broker's default */
  CHECK_EQ_STR(rows[1].principal, "partner-gojek");
  CHECK_EQ_STR(rows[1].name, "scan.requests.gojek");
  CHECK(!rows[1].prefixed);
  CHECK_EQ_STR(rows[2].resource, "cluster");
}

static void test_bad_rows_name_their_line(void) {
  char err[128];
  const char *bad[] = {
      "topic a 4 1 1000\n",                    /* a field short */
      "topic a 0 1 1000 1\n",                  /* no partitions */
      "topic a 4 1 1000 2\n",                  /* min.insync above replicas */
      "topic a 4 1 1000 1 0\n",                /* segment.ms of zero */
      "topic a 4 1 1000 1 10 9\n",             /* a field too many */
      "allow x topic wildcard a Read\n",       /* unknown pattern */
      "allow x table literal a Read\n",        /* unknown resource */
      "deny x topic literal a Read\n",         /* unknown row */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char table[128];
    snprintf(table, sizeof table, "# first\n%s", bad[i]);
    err[0] = '\0';
    CHECK_EQ_INT(ka_rows(table, NULL, rows, 256, err, sizeof err), -1);
    CHECK(strstr(err, "line 2") != NULL);
  }
  CHECK_EQ_INT(ka_rows("topic a 4 1 1000 1\ntopic b 4 1 1000 1\n", NULL, rows, 1, err, sizeof err),
               -1);
}

static char *read_table(void) {
  const char *src = getenv("LINDUNG_SOURCE_DIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/deploy/kafka/access", src ? src : "../../..");
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  static char text[65536];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  return text;
}

static int has_op(const ka_row *r, const char *op) {
  char ops[sizeof r->operations], *save = NULL;
  snprintf(ops, sizeof ops, "%s", r->operations);
  for (char *o = strtok_r(ops, ",", &save); o; o = strtok_r(NULL, ",", &save))
    if (!strcmp(o, op)) return 1;
  return 0;
}

/* The shipped table: a partner touches only its own topics and groups; only
 * a partner writes request topics; the analyst reads audit.log only. */
static void test_shipped_table_is_least_privilege(void) {
  const char *table = read_table();
  CHECK(table != NULL);
  if (!table) return;
  char err[128];
  int n = ka_rows(table, "grab", rows, 256, err, sizeof err);
  CHECK(n > 0);
  int writes = 0;
  for (int i = 0; i < n; i++) {
    if (rows[i].kind != KA_ALLOW) continue;
    CHECK_EQ_STR(rows[i].principal, "partner-grab");
    if (!strcmp(rows[i].resource, "cluster")) continue;
    CHECK(strstr(rows[i].name, "grab") != NULL);
    if (!strcmp(rows[i].resource, "topic") && rows[i].prefixed) CHECK(!"a partner topic ACL is prefixed");
    if (has_op(&rows[i], "Write")) {
      CHECK_EQ_STR(rows[i].name, "scan.requests.grab");
      writes++;
    }
    if (has_op(&rows[i], "Read") && !strcmp(rows[i].resource, "topic"))
      CHECK_EQ_STR(rows[i].name, "scan.results.grab");
  }
  CHECK_EQ_INT(writes, 1);

  n = ka_rows(table, NULL, rows, 256, err, sizeof err);
  CHECK(n > 0);
  int analyst_rows = 0;
  for (int i = 0; i < n; i++) {
    if (rows[i].kind != KA_ALLOW) continue;
    if (!strcmp(rows[i].resource, "topic") && !strncmp(rows[i].name, "scan.requests", 13))
      CHECK(!has_op(&rows[i], "Write"));
    if (!strcmp(rows[i].principal, "lindung-analyst")) {
      analyst_rows++;
      if (!strcmp(rows[i].resource, "topic")) {
        CHECK_EQ_STR(rows[i].name, "audit.log");
        CHECK(!rows[i].prefixed);
        CHECK(!has_op(&rows[i], "Write"));
      }
    }
  }
  CHECK(analyst_rows >= 1);
}

/* Topics between services keep what they carry minutes, not days, and roll
 * segments often enough that the retention applies on a quiet topic. */
static void test_internal_topics_keep_an_hour_at_most(void) {
  const char *table = read_table();
  CHECK(table != NULL);
  if (!table) return;
  char err[128];
  int n = ka_rows(table, NULL, rows, 256, err, sizeof err);
  const char *internal[] = {"scan.accepted", "scan.decrypted"};
  for (size_t k = 0; k < sizeof internal / sizeof internal[0]; k++) {
    int found = 0;
    for (int i = 0; i < n; i++) {
      if (rows[i].kind != KA_TOPIC || strcmp(rows[i].name, internal[k])) continue;
      found++;
      CHECK(rows[i].retention_ms > 0 && rows[i].retention_ms <= 3600000);
      CHECK(rows[i].segment_ms > 0 && rows[i].segment_ms <= rows[i].retention_ms / 2);
    }
    CHECK_EQ_INT(found, 1);
  }
}

int main(void) {
  RUN(test_rows_fixed_and_per_partner);
  RUN(test_bad_rows_name_their_line);
  RUN(test_shipped_table_is_least_privilege);
  RUN(test_internal_topics_keep_an_hour_at_most);
  return testing_summary();
}
