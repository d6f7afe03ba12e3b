/* admin_api: the revocation service's admin API as pure functions: the
 * routing and validation of a request into one registry
 * change (admin_op), the mapping of the database's result codes to HTTP
 * errors, and the PartnerEvent / AuditEvent each change publishes. No I/O:
 * main.c wires these to HTTP, PostgreSQL and Kafka; tests call them
 * directly.
 *
 * Routes (JSON bodies, flat objects of strings and integers; described in
 * docs/admin-api.yaml, table in admin_routes):
 *   POST /v1/partners                          {partner_id, name, key_id, public_key}
 *   POST /v1/partners/{id}/keys                {key_id, public_key}
 *   POST /v1/partners/{id}/keys/{key_id}/revoke {reason?}
 *   POST /v1/partners/{id}/revoke              {reason}
 *   POST /v1/partners/{id}/reinstate           {}
 *   PUT  /v1/partners/{id}/quota               {rate, burst}
 *   POST /v1/system-keys/rotate                {grace_s}
 * Errors are {"error":"<code>","message":"..."}; messages never quote
 * input. Prefix admin_. */
#ifndef LINDUNG_ADMIN_API_H
#define LINDUNG_ADMIN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reasons go into the audit trail's detail (at most 512 bytes there, with
 * the change described in front), so they are capped below that. */
#define ADMIN_MAX_REASON 400
#define ADMIN_MAX_ACTOR 64
#define ADMIN_MAX_GRACE_S (30u * 86400u)
#define ADMIN_MAX_RATE 1000000u
/* Audit detail, always within the audit trail's 512-byte text limit. */
#define ADMIN_DETAIL_MAX 512

typedef enum admin_op_kind {
  ADMIN_OP_NONE = 0,
  ADMIN_OP_PARTNER_ADD,
  ADMIN_OP_KEY_ADD,
  ADMIN_OP_KEY_REVOKE,
  ADMIN_OP_PARTNER_REVOKE,
  ADMIN_OP_PARTNER_REINSTATE,
  ADMIN_OP_PARTNER_QUOTA,
  ADMIN_OP_SYSTEM_KEY_ROTATE,
} admin_op_kind;

typedef struct admin_op {
  admin_op_kind kind;
  char partner_id[33];
  char name[201];
  uint32_t key_id;
  uint8_t public_key[32];
  char reason[ADMIN_MAX_REASON + 1];
  uint32_t rate;
  uint32_t burst;
  uint32_t grace_s;
} admin_op;

typedef struct admin_error {
  int status;       /* HTTP status */
  const char *code; /* "unknown_partner", ... */
  char message[200];
} admin_error;

/* True when host is a numeric loopback address (127.0.0.0/8, ::1): the
 * only place the admin API may listen without TLS. */
bool admin_address_loopback(const char *host);

/* Every route the API answers, in docs/admin-api.yaml's notation (a test
 * holds the two to each other). */
typedef struct admin_route_entry {
  const char *method;
  const char *path; /* "/v1/partners/{partner_id}/keys" */
  admin_op_kind kind;
} admin_route_entry;
extern const admin_route_entry admin_routes[];
extern const size_t admin_route_count;

/* Routes and validates one request. Returns 0 with op filled, or -1 with
 * error filled (400 malformed/invalid, 404 unknown route, 405 method). */
int admin_parse(const char *method, const char *path, const char *body, size_t body_len,
                admin_op *op, admin_error *error);

/* "partner_add", "key_revoke", ... */
const char *admin_op_name(admin_op_kind kind);

/* Maps a database result code ("ok" → 0) to an HTTP error; unknown codes
 * become 500. Returns 0 for "ok", -1 otherwise. */
int admin_db_result(const char *result, admin_error *error);

/* One-line description of a change for the audit trail (and logs): what
 * changed, never key material; the reason text for revocations. At most
 * ADMIN_DETAIL_MAX - 1 bytes; extra is appended (e.g. "tokens_revoked=3"
 * or "refused: unknown_partner"), may be NULL. */
void admin_detail(const admin_op *op, const char *extra, char *out, size_t out_len);

/* What the database said for a system key rotation. */
typedef struct admin_rotation {
  uint32_t key_id;
  uint8_t public_key[32];
  uint64_t retire_after_ms;
} admin_rotation;

/* Packs the PartnerEvent of an applied change into out; returns the length
 * (0 when it does not fit). rotation is used for ADMIN_OP_SYSTEM_KEY_ROTATE. */
size_t admin_partner_event(const admin_op *op, const admin_rotation *rotation,
                           uint64_t registry_version, uint64_t at_ms, uint8_t *out, size_t out_len);

/* The Kafka key of an op's PartnerEvent: the partner id, or "system-keys". */
const char *admin_event_key(const admin_op *op);

/* Packs an AuditEvent (stage ADMIN) into out; returns the length or 0. */
size_t admin_audit_event(const uint8_t request_id[16], const char *partner_id, bool applied,
                         const char *actor, const char *detail, uint64_t received_at_ms,
                         uint64_t handled_at_ms, uint8_t *out, size_t out_len);

#endif
