/* kafka_access: the Kafka access table parser (kafka_access.h). */
#include "kafka_access.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KA_PLACEHOLDER "{partner}"
#define KA_MAX_FIELDS 8

/* Copies field into out with {partner} replaced; -1 if it does not fit. */
static int ka_expand(const char *field, const char *partner, char *out, size_t cap) {
  const char *at = strstr(field, KA_PLACEHOLDER);
  int n = at ? snprintf(out, cap, "%.*s%s%s", (int)(at - field), field, partner ? partner : "",
                        at + strlen(KA_PLACEHOLDER))
             : snprintf(out, cap, "%s", field);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int ka_number(const char *text, int64_t min, int64_t max, int64_t *out) {
  char *end = NULL;
  long long v = strtoll(text, &end, 10);
  if (!*text || *end || v < min || v > max) return -1;
  *out = v;
  return 0;
}

static int ka_topic_row(char **f, size_t n, const char *partner, ka_row *row) {
  int64_t partitions, replicas, retention, isr, segment = 0;
  if ((n != 6 && n != 7) || ka_number(f[2], 1, 10000, &partitions) ||
      ka_number(f[3], 1, 100, &replicas) || ka_number(f[4], -1, INT64_MAX, &retention) ||
      ka_number(f[5], 1, replicas, &isr) || (n == 7 && ka_number(f[6], 1, INT64_MAX, &segment)))
    return -1;
  row->segment_ms = segment;
  row->kind = KA_TOPIC;
  row->partitions = (int)partitions;
  row->replicas = (int)replicas;
  row->retention_ms = retention;
  row->min_insync_replicas = (int)isr;
  return ka_expand(f[1], partner, row->name, sizeof row->name);
}

static int ka_allow_row(char **f, size_t n, const char *partner, ka_row *row) {
  if (n != 6) return -1;
  row->kind = KA_ALLOW;
  if (strcmp(f[2], "topic") && strcmp(f[2], "group") && strcmp(f[2], "cluster")) return -1;
  if (strcmp(f[3], "literal") && strcmp(f[3], "prefixed")) return -1;
  snprintf(row->resource, sizeof row->resource, "%s", f[2]);
  row->prefixed = !strcmp(f[3], "prefixed");
  if (ka_expand(f[1], partner, row->principal, sizeof row->principal) ||
      ka_expand(f[4], partner, row->name, sizeof row->name))
    return -1;
  int w = snprintf(row->operations, sizeof row->operations, "%s", f[5]);
  return w < 0 || (size_t)w >= sizeof row->operations ? -1 : 0;
}

int ka_rows(const char *table, const char *partner, ka_row *out, size_t cap, char *err,
            size_t err_len) {
  size_t count = 0;
  int line_no = 0;
  const char *line = table;
  while (line && *line) {
    line_no++;
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char buf[512];
    if (len >= sizeof buf) {
      snprintf(err, err_len, "line %d: too long", line_no);
      return -1;
    }
    memcpy(buf, line, len);
    buf[len] = '\0';
    line = end ? end + 1 : NULL;
    char *hash = strchr(buf, '#');
    if (hash) *hash = '\0';
    char *fields[KA_MAX_FIELDS + 1], *save = NULL;
    size_t n = 0;
    for (char *tok = strtok_r(buf, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
      if (n == KA_MAX_FIELDS) break;
      fields[n++] = tok;
    }
    if (n == 0) continue;
    /* A row is the partner's when any field names {partner}. */
    bool templated = false;
    for (size_t i = 1; i < n; i++) templated |= strstr(fields[i], KA_PLACEHOLDER) != NULL;
    if (templated != (partner != NULL)) continue;
    if (count == cap) {
      snprintf(err, err_len, "line %d: more than %zu rows", line_no, cap);
      return -1;
    }
    ka_row *row = &out[count];
    memset(row, 0, sizeof *row);
    int rc = !strcmp(fields[0], "topic")   ? ka_topic_row(fields, n, partner, row)
             : !strcmp(fields[0], "allow") ? ka_allow_row(fields, n, partner, row)
                                           : -1;
    if (rc) {
      snprintf(err, err_len, "line %d: not a valid %s row", line_no, fields[0]);
      return -1;
    }
    count++;
  }
  return (int)count;
}
