/* Unit tests of services/status-resolver/resolver_rule_audit.c's pure part:
 * a rule change becomes an ADMIN audit event naming the operator, the
 * table, the operation and the row; its id is the same for the same change
 * (the audit trail keeps it once) and differs for another change, or for a
 * change of the same number in a database made afresh; texts are cut at a
 * character boundary within the audit trail's limit. */
#include <sodium.h>
#include <string.h>

#include "audit_chain.h"
#include "resolver_rule_audit.h"
#include "testing.h"
#include "utf8.h"

static const resolver_rule_change change = {
    .change_id = 42,
    .at_ms = 1785000000000,
    .actor = "it-operator",
    .table_name = "rule_sets",
    .operation = "insert",
    .row_json = "{\"rule_set_id\": \"2023-01\", \"scheme\": \"jul2022\"}",
};

static void test_event_names_the_change(void) {
  uint8_t id[16];
  resolver_rule_audit_id(&change, id);
  char detail[RESOLVER_RULE_AUDIT_TEXT_MAX + 1], actor[RESOLVER_RULE_AUDIT_TEXT_MAX + 1];
  Lindung__V1__AuditEvent event;
  resolver_rule_audit_fill(&change, id, 1785000000500, detail, sizeof detail, actor, sizeof actor,
                           &event);
  CHECK_EQ_INT(event.version, 1);
  CHECK_EQ_INT(event.stage, LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_ADMIN);
  CHECK_EQ_INT(event.outcome, LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_APPLIED);
  CHECK_EQ_STR(event.detail,
               "rule_change rule_sets insert {\"rule_set_id\": \"2023-01\", \"scheme\": \"jul2022\"}");
  CHECK_EQ_STR(event.actor, "it-operator");
  CHECK_EQ_STR(event.service, "status-resolver");
  CHECK_EQ_INT(event.request_id.len, 16);
  CHECK_MEM(event.request_id.data, id, 16);
  CHECK_EQ_INT(event.sent_at_ms, 1785000000000);
  CHECK_EQ_INT(event.handled_at_ms, 1785000000500);
  CHECK(audit_event_problem(&event) == NULL);
}

static void test_ids(void) {
  uint8_t a[16], b[16];
  resolver_rule_audit_id(&change, a);
  resolver_rule_audit_id(&change, b);
  CHECK_MEM(a, b, 16);
  resolver_rule_change other = change;
  other.change_id = 43;
  resolver_rule_audit_id(&other, b);
  CHECK(memcmp(a, b, 16) != 0);
  /* Number 42 again, in a database made afresh later. */
  other.change_id = 42;
  other.at_ms += 1;
  resolver_rule_audit_id(&other, b);
  CHECK(memcmp(a, b, 16) != 0);
}

/* A long row of multi-byte text (a rule set's free-text source) and a long
 * actor fit the audit trail's 512 bytes, cut between characters. */
static void test_long_texts_cut(void) {
  char row[2000] = "{\"source\": \"";
  size_t n = strlen(row);
  while (n + 3 < sizeof row - 4) {
    memcpy(row + n, "\xc3\xa9", 2); /* é */
    n += 2;
  }
  row[n++] = '"';
  row[n++] = '}';
  row[n] = '\0';
  char long_actor[700];
  memset(long_actor, 'a', sizeof long_actor - 1);
  long_actor[sizeof long_actor - 1] = '\0';
  resolver_rule_change c = change;
  c.row_json = row;
  c.actor = long_actor;
  c.operation = "update";
  uint8_t id[16];
  resolver_rule_audit_id(&c, id);
  char detail[RESOLVER_RULE_AUDIT_TEXT_MAX + 1], actor[RESOLVER_RULE_AUDIT_TEXT_MAX + 1];
  Lindung__V1__AuditEvent event;
  resolver_rule_audit_fill(&c, id, 1, detail, sizeof detail, actor, sizeof actor, &event);
  CHECK(strlen(event.detail) <= RESOLVER_RULE_AUDIT_TEXT_MAX);
  CHECK(strlen(event.detail) >= RESOLVER_RULE_AUDIT_TEXT_MAX - 1);
  CHECK(utf8_valid(event.detail, strlen(event.detail)));
  CHECK(strncmp(event.detail, "rule_change rule_sets update {", 30) == 0);
  CHECK_EQ_INT(strlen(event.actor), RESOLVER_RULE_AUDIT_TEXT_MAX);
  CHECK(audit_event_problem(&event) == NULL);
  /* A NULL text (no actor recorded) is empty, not a crash. */
  c.actor = NULL;
  c.row_json = NULL;
  resolver_rule_audit_fill(&c, id, 1, detail, sizeof detail, actor, sizeof actor, &event);
  CHECK_EQ_STR(event.actor, "");
  CHECK_EQ_STR(event.detail, "rule_change rule_sets update ");
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_event_names_the_change);
  RUN(test_ids);
  RUN(test_long_texts_cut);
  return testing_summary();
}
