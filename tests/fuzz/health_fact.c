/* Fuzzes the status-resolver's health.facts path (resolver_facts.h): a
 * batch of values decoded and checked (resolver_facts_decode), the audit
 * event of each (applied or dead-lettered), and the binary parameter
 * arrays handed to health_facts_apply(). Checks that every audit event is
 * one the audit service appends (audit_event_problem), and that the
 * arrays are well-formed PostgreSQL binary arrays holding exactly the
 * accepted facts, in order, with text PostgreSQL takes (UTF-8).
 *
 * Input: a batch of values, each two length bytes (big-endian) and the
 * HealthFact value. */
#include <arpa/inet.h>
#include <jansson.h>
#include <string.h>

#include "../../services/audit/audit_chain.h"
#include "../../services/status-resolver/resolver_facts.h"
#include "fuzz.h"
#include "messages.h"
#include "proto_limits.h"

#define MAX_BATCH 16

static void check_audit(Lindung__V1__AuditEvent *event) {
  uint8_t out[MESSAGES_MAX_BYTES];
  size_t len = messages_audit_event(event, out, sizeof out);
  FUZZ_ASSERT(len > 0);
  ProtobufCMessage *decoded = NULL;
  FUZZ_ASSERT(proto_decode(&lindung__v1__audit_event__descriptor, out, len,
                           PROTO_MAX_MESSAGE_BYTES, &decoded) == PROTO_DECODE_OK);
  FUZZ_ASSERT(audit_event_problem((const Lindung__V1__AuditEvent *)decoded) == NULL);
  protobuf_c_message_free_unpacked(decoded, NULL);
}

static uint32_t read_be32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return ntohl(v);
}

/* Walks a binary array (array_recv's format) and returns its element i's
 * bytes (NULL for SQL NULL). */
static const uint8_t *array_element(const pg_array *a, uint32_t oid, size_t count,
                                    size_t i, uint32_t *len) {
  FUZZ_ASSERT(a->len >= 20);
  FUZZ_ASSERT(read_be32(a->data) == 1 && read_be32(a->data + 8) == oid);
  FUZZ_ASSERT(read_be32(a->data + 12) == count && read_be32(a->data + 16) == 1);
  size_t at = 20;
  for (size_t k = 0;; k++) {
    FUZZ_ASSERT(at + 4 <= a->len);
    uint32_t n = read_be32(a->data + at);
    at += 4;
    if (n == UINT32_MAX) {
      if (k == i) return NULL;
      continue;
    }
    FUZZ_ASSERT(at + n <= a->len);
    if (k == i) {
      *len = n;
      return a->data + at;
    }
    at += n;
  }
}

/* PostgreSQL refuses a text element that is not UTF-8 (and with it the
 * whole batch, again on every retry); jansson's checker is independent of
 * the code under test. */
static void check_text(const pg_array *a, size_t count, size_t i, const char *text) {
  uint32_t len = 0;
  const uint8_t *p = array_element(a, PG_OID_TEXT, count, i, &len);
  FUZZ_ASSERT(p && len == strlen(text) && memcmp(p, text, len) == 0);
  json_t *utf8 = json_stringn((const char *)p, len);
  FUZZ_ASSERT(utf8);
  json_decref(utf8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader r = {data, size};
  Lindung__V1__HealthFact *messages[MAX_BATCH];
  resolver_fact facts[MAX_BATCH];
  size_t count = 0, valid = 0;
  while (r.len > 0 && count < MAX_BATCH) {
    size_t want = (size_t)fuzz_byte(&r) << 8;
    want |= fuzz_byte(&r);
    size_t len;
    const uint8_t *value = fuzz_bytes(&r, want, &len);
    const char *reason = NULL;
    if (resolver_facts_decode(value, len, FUZZ_NOW_MS, &messages[count], &facts[valid],
                              &reason) != 0) {
      FUZZ_ASSERT(reason);
      uint8_t source_id[16] = {0};
      Lindung__V1__AuditEvent event;
      resolver_dead_letter_audit_fill(source_id, reason, FUZZ_NOW_MS, &event);
      check_audit(&event);
    } else {
      char detail[96];
      Lindung__V1__AuditEvent event;
      resolver_fact_audit_fill(&facts[valid], true, 3, FUZZ_NOW_MS, detail, sizeof detail,
                               &event);
      check_audit(&event);
      valid++;
    }
    count++;
  }
  if (valid > 0) {
    pg_array columns[RESOLVER_FACTS_COLUMNS];
    FUZZ_ASSERT(resolver_facts_columns_init(columns, valid) == 0);
    for (size_t i = 0; i < valid; i++) resolver_facts_columns_put(columns, &facts[i]);
    for (int c = 0; c < RESOLVER_FACTS_COLUMNS; c++)
      FUZZ_ASSERT(pg_array_finish(&columns[c]) == 0);
    for (size_t i = 0; i < valid; i++) {
      uint32_t len = 0;
      const uint8_t *id = array_element(&columns[0], PG_OID_BYTEA, valid, i, &len);
      FUZZ_ASSERT(id && len == HEALTH_FACT_ID_BYTES && memcmp(id, facts[i].fact_id, len) == 0);
      check_text(&columns[5], valid, i, facts[i].detail);
      check_text(&columns[6], valid, i, facts[i].source);
      bool ends = facts[i].fact.until_ms != HEALTH_NONE;
      FUZZ_ASSERT((array_element(&columns[4], PG_OID_INT8, valid, i, &len) != NULL) ==
                  ends);
    }
    for (int c = 0; c < RESOLVER_FACTS_COLUMNS; c++) pg_array_free(&columns[c]);
  }
  for (size_t i = 0; i < count; i++)
    if (messages[i]) protobuf_c_message_free_unpacked(&messages[i]->base, NULL);
  return 0;
}
