/* Fuzzes the admin API's request decoding (admin_parse: route, path
 * parameters, JSON body, field rules), its bearer check, and
 * what an accepted request turns into. Checks that every change the API
 * accepts yields a PartnerEvent the scan-path services accept
 * (partner_events_validate) and an AuditEvent the audit service appends
 * (audit_event_problem), and that its audit detail fits the trail.
 *
 * Input: one byte choosing the method, the path (length byte), the
 * Authorization header, the operator's name, then the body. */
#include <string.h>

#include "../../services/audit/audit_chain.h"
#include "../../services/revocation/admin_api.h"
#include "../../services/revocation/admin_operators.h"
#include "fuzz.h"
#include "messages.h"
#include "partner_events.h"
#include "proto_limits.h"

static const char *const methods[] = {"POST", "PUT", "GET", "DELETE", "PATCH"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader r = {data, size};
  const char *method = methods[fuzz_byte(&r) % (sizeof methods / sizeof methods[0])];
  char *path = fuzz_string(&r, 255);
  char *authorization = fuzz_string(&r, 159);
  char *actor_header = fuzz_string(&r, 79);

  /* The actor is an operator's name, which the operators file restricts. */
  static admin_operators ops;
  if (ops.count == 0) {
    char err[120];
    FUZZ_ASSERT(admin_operators_parse(
                    "ops:c0a4e8e3c5b6f3f9d7e2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0\n", &ops,
                    err, sizeof err) == 0);
  }
  (void)admin_operators_match(&ops, authorization);
  const char *actor = admin_operator_name_valid(actor_header) ? actor_header : "ops";
  FUZZ_ASSERT(strlen(actor) >= 1 && strlen(actor) <= ADMIN_MAX_ACTOR);

  admin_op op;
  admin_error error;
  memset(&error, 0, sizeof error);
  if (admin_parse(method, path, (const char *)r.data, r.len, &op, &error) != 0) {
    FUZZ_ASSERT(error.code && (error.status == 400 || error.status == 404 || error.status == 405));
    FUZZ_ASSERT(strlen(error.message) < sizeof error.message);
    goto out;
  }
  FUZZ_ASSERT(op.kind != ADMIN_OP_NONE && admin_op_name(op.kind));

  char detail[ADMIN_DETAIL_MAX];
  admin_detail(&op, "tokens_revoked=4294967295", detail, sizeof detail);
  FUZZ_ASSERT(strlen(detail) < AUDIT_MAX_TEXT);

  admin_rotation rotation = {.key_id = 2, .retire_after_ms = FUZZ_NOW_MS};
  memset(rotation.public_key, 0x5a, sizeof rotation.public_key);
  uint8_t out[MESSAGES_MAX_BYTES];
  size_t len = admin_partner_event(&op, &rotation, 12, FUZZ_NOW_MS, out, sizeof out);
  FUZZ_ASSERT(len > 0);
  ProtobufCMessage *event = NULL;
  FUZZ_ASSERT(proto_decode(&lindung__v1__partner_event__descriptor, out, len,
                           PROTO_MAX_MESSAGE_BYTES, &event) == PROTO_DECODE_OK);
  partner_events_change change;
  const char *reason = NULL;
  FUZZ_ASSERT(partner_events_validate((const Lindung__V1__PartnerEvent *)event, &change,
                                      &reason) == 0);
  protobuf_c_message_free_unpacked(event, NULL);
  FUZZ_ASSERT(admin_event_key(&op)[0] != '\0');

  static const uint8_t request_id[16] = {1};
  len = admin_audit_event(request_id, op.partner_id, true, actor, detail, FUZZ_NOW_MS,
                          FUZZ_NOW_MS + 1, out, sizeof out);
  FUZZ_ASSERT(len > 0);
  ProtobufCMessage *audit = NULL;
  FUZZ_ASSERT(proto_decode(&lindung__v1__audit_event__descriptor, out, len,
                           PROTO_MAX_MESSAGE_BYTES, &audit) == PROTO_DECODE_OK);
  FUZZ_ASSERT(audit_event_problem((const Lindung__V1__AuditEvent *)audit) == NULL);
  protobuf_c_message_free_unpacked(audit, NULL);
out:
  free(path);
  free(authorization);
  free(actor_header);
  return 0;
}
