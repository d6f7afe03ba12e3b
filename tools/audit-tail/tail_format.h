/* tail_format: what lindung-audit-tail prints and filters: audit records
 * and checkpoints as JSON lines, enum names, times. Pure: no Kafka. Prefix
 * tail_. */
#ifndef LINDUNG_TAIL_FORMAT_H
#define LINDUNG_TAIL_FORMAT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lindung/v1/internal.pb-c.h"

typedef struct tail_options {
  const char *partner, *venue;
  int stage, outcome; /* -1: any */
  int64_t since_ms, until_ms;
  bool follow, from_end, raw, checkpoints;
} tail_options;

/* "ingest" -> LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_INGEST, with prefix
 * "AUDIT_STAGE_"; -1 when no value has that name. */
int tail_enum_parse(const ProtobufCEnumDescriptor *d, const char *prefix, const char *text);
/* ms since the epoch, or ISO-8601; 0 or -1. */
int tail_parse_time(const char *text, int64_t *out);
bool tail_matches(const tail_options *o, const Lindung__V1__AuditRecord *r);
void tail_print_record(FILE *out, const Lindung__V1__AuditRecord *r);
void tail_print_checkpoint(FILE *out, const Lindung__V1__AuditCheckpoint *c);

#endif
