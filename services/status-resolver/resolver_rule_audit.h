/* resolver_rule_audit: carries every change of the rules (rule_changes,
 * written by the triggers of 0300_health_facts.sql on rule_sets, the region
 * tables, venue_categories and settings) into the audit trail, so that a
 * rule change, made without a release, is as tamper-evident as a verdict.
 * One AuditEvent per change (stage ADMIN, outcome APPLIED, actor the
 * operator, detail "rule_change <table> <operation> <row as JSON>"), its
 * request id derived from the change (resolver_rule_audit_id), so that the
 * audit trail keeps each change once however many resolvers send it, and
 * again after a restart (which sends every change from the first). Rules
 * hold no personal data. Prefix resolver_rule_audit_. */
#ifndef LINDUNG_RESOLVER_RULE_AUDIT_H
#define LINDUNG_RESOLVER_RULE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "lindung/v1/internal.pb-c.h"
#include "pg_client.h"
#include "service.h"

/* An audit text is at most 512 bytes (audit_chain.h). */
#define RESOLVER_RULE_AUDIT_TEXT_MAX 500

typedef struct resolver_rule_audit resolver_rule_audit;

extern const pgq_statement resolver_rule_audit_statements[];
extern const size_t resolver_rule_audit_statement_count;

/* One row of rule_changes, as read. */
typedef struct resolver_rule_change {
  int64_t change_id;
  int64_t at_ms;
  const char *actor, *table_name, *operation, *row_json;
} resolver_rule_change;

/* The pure part. The audit request id of a change: BLAKE2b-128 over its id
 * and time (a database made afresh numbers its changes from 1 again). */
void resolver_rule_audit_id(const resolver_rule_change *change, uint8_t out[16]);
/* Fills *out pointing into change, id, detail_buf and actor_buf (texts cut
 * at a character boundary to RESOLVER_RULE_AUDIT_TEXT_MAX bytes); pack it
 * before they go away. */
void resolver_rule_audit_fill(const resolver_rule_change *change, const uint8_t id[16],
                              uint64_t now_ms, char *detail_buf, size_t detail_len,
                              char *actor_buf, size_t actor_len, Lindung__V1__AuditEvent *out);

/* Looks for new changes every interval_ms; NULL when out of memory. */
resolver_rule_audit *resolver_rule_audit_new(service *svc, uint32_t interval_ms);
void resolver_rule_audit_stop(resolver_rule_audit *audit);
void resolver_rule_audit_free(resolver_rule_audit *audit);

#endif
