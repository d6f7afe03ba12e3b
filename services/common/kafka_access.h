/* kafka_access: reads deploy/kafka/access, the one table of Lindung's Kafka
 * topics and ACLs, as a pure function (text in, rows out). Rows naming
 * {partner} are templates made for each partner; the others are the
 * cluster's fixed part. Prefix ka_. */
#ifndef LINDUNG_KAFKA_ACCESS_H
#define LINDUNG_KAFKA_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ka_kind { KA_TOPIC, KA_ALLOW } ka_kind;

typedef struct ka_row {
  ka_kind kind;
  char name[128]; /* the topic, or the ACL's resource name ({partner} filled in) */
  /* topic rows */
  int partitions, replicas, min_insync_replicas;
  int64_t retention_ms;
  int64_t segment_ms; /* 0: the broker's default */
  /* allow rows */
  char principal[64];   /* the certificate CN, e.g. lindung-ingest, partner-gojek */
  char resource[8];     /* topic, group or cluster */
  bool prefixed;        /* pattern: prefixed, else literal */
  char operations[96];  /* comma-separated Kafka operation names, e.g. Read,Describe */
} ka_row;

/* The rows of table: with partner NULL the fixed rows, with a partner id
 * only that partner's rows ({partner} replaced). Returns the row count, or
 * -1 with the reason (and line number) in err: an unknown row kind, a
 * missing field, a bad number or name, more rows than cap. */
int ka_rows(const char *table, const char *partner, ka_row *out, size_t cap, char *err,
            size_t err_len);

#endif
