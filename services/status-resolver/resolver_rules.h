/* resolver_rules: the status-resolver's per-message logic, free of Kafka and
 * PostgreSQL so that unit tests call it directly.
 *
 *   resolver_open_request  a scan.decrypted value -> the DecryptedRequest
 *                       sealed in it (inner_seal.h), or a dead-letter reason;
 *   resolver_route      what a decoded DecryptedRequest needs: a dead letter,
 *                       an error answer at once, or a database lookup;
 *   resolver_decide     facts about a scan (token, person, venue, an earlier
 *                       answer) -> an error code or a Verdict (STATUS-RULES.md);
 *   resolver_*_response the sealed ScanResponse for the partner;
 *   resolver_audit_fill the AuditEvent of stage RESOLVE;
 *   resolver_fact_check a HealthFact from health.facts -> a fact to apply,
 *                       or the reason it is dead-lettered;
 *   resolver_fact_audit_fill its AuditEvent.
 *
 * The names stored in check_ins (decision, reason, status) are mapped here
 * too, so the SQL and the protocol enums meet in one place. Prefix resolver_. */
#ifndef LINDUNG_RESOLVER_RULES_H
#define LINDUNG_RESOLVER_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "health_rules.h"
#include "inner_seal.h"
#include "lindung/v1/internal.pb-c.h"
#include "lindung/v1/partner.pb-c.h"

#define RESOLVER_SERVICE_NAME "status-resolver"
#define RESOLVER_INPUT_TOPIC "scan.decrypted"
/* Venue names are up to 200 characters (800 bytes of UTF-8); the answer must
 * fit one response pad, so a name is cut at a character boundary. */
#define RESOLVER_VENUE_NAME_MAX 384
#define RESOLVER_TOKEN_HASH_BYTES 32

typedef enum resolver_route_kind {
  RESOLVER_ROUTE_DEAD_LETTER, /* cannot be attributed: no partner to answer */
  RESOLVER_ROUTE_ERROR,       /* answer the error at once, no lookup */
  RESOLVER_ROUTE_SCAN,        /* look up the scan's facts */
  RESOLVER_ROUTE_LINK,        /* look up the NIK's person */
} resolver_route_kind;

typedef struct resolver_route {
  resolver_route_kind kind;
  Lindung__V1__ErrorCode error; /* RESOLVER_ROUTE_ERROR */
  const char *dead_letter_reason;
} resolver_route;

/* Opens a value of scan.decrypted (a SealedRecord under one of the inner
 * keys held) and decodes the DecryptedRequest it seals into *out (free with
 * protobuf_c_message_free_unpacked). Returns NULL, or the dead-letter reason
 * of a value that does not open or decode (*out stays NULL). The clear text
 * is wiped from the buffer it was opened into. */
const char *resolver_open_request(const inner_seal_keys *inner, const uint8_t *value,
                                  size_t value_len, Lindung__V1__DecryptedRequest **out);

/* Re-checks what decrypt already validated (a defence against a faulty or
 * older decrypt): header sizes, the response pad, the body's fields. */
void resolver_route_request(const Lindung__V1__DecryptedRequest *request, resolver_route *out);

/* The verdict as the partner sees it (checked_at_ms is also the response's
 * created_at_ms, so a redelivered scan is answered byte for byte the same). */
typedef struct resolver_verdict {
  Lindung__V1__Status status; /* STATUS_UNSPECIFIED: no health record */
  Lindung__V1__Decision decision;
  Lindung__V1__Reason reason;
  uint64_t checked_at_ms;
} resolver_verdict;

/* What the lookup of one scan found. */
typedef struct resolver_scan_facts {
  bool token_found;
  bool token_same_partner; /* issued to the partner that asks */
  bool token_revoked;      /* the token, or its partner, revoked */
  int64_t person_id;
  Lindung__V1__Status status; /* STATUS_UNSPECIFIED: no health record */
  bool venue_found;
  bool admits_green;
  bool admits_yellow;
  bool capacity_limited; /* venues.capacity is not NULL */
  int64_t capacity;
  int64_t share_percent; /* of the venue's category at the current PPKM level */
  int64_t occupancy;
  bool recorded; /* check_ins already holds this request's answer */
  resolver_verdict recorded_verdict;
} resolver_scan_facts;

typedef struct resolver_scan_outcome {
  Lindung__V1__ErrorCode error; /* NONE: verdict is the answer */
  resolver_verdict verdict;
  bool person_known; /* a valid token named the person (audit pseudonym) */
  bool venue_known;
  bool record;        /* store the verdict in check_ins (not yet recorded) */
  bool take_seat;     /* take a place first; if none is left: VENUE_FULL */
  int64_t seat_limit; /* effective capacity, when take_seat */
  bool free_seat;     /* CHECK_OUT gives a place back */
} resolver_scan_outcome;

/* capacity * share / 100, rounded down; share 0 means closed. */
int64_t resolver_effective_capacity(int64_t capacity, int64_t share_percent);

/* The rules of STATUS-RULES.md, in this order: a recorded answer (redelivery)
 * is repeated; token unknown, revoked or another partner's -> UNKNOWN_TOKEN;
 * venue unknown -> UNKNOWN_VENUE; CHECK_OUT -> ALLOW CHECKED_OUT; no health
 * record -> DENY NO_HEALTH_RECORD; BLACK -> DENY POSITIVE_OR_CONTACT; RED ->
 * DENY NOT_VACCINATED; a colour the category does not admit -> DENY
 * STATUS_NOT_ALLOWED_HERE; a full or closed venue -> DENY VENUE_FULL;
 * otherwise ALLOW STATUS_ALLOWED (taking a seat where capacity is limited). */
void resolver_decide(const resolver_scan_facts *facts, Lindung__V1__Action action, uint64_t now_ms,
                     resolver_scan_outcome *out);

/* The seat could not be taken (another scan took the last one first). */
void resolver_seat_refused(resolver_scan_outcome *outcome);

/* Names stored in check_ins and health_status; parse returns 0 or -1. */
const char *resolver_status_name(Lindung__V1__Status status); /* "" for none */
int resolver_status_parse(const char *name, Lindung__V1__Status *out);
const char *resolver_decision_name(Lindung__V1__Decision decision);
int resolver_decision_parse(const char *name, Lindung__V1__Decision *out);
const char *resolver_reason_name(Lindung__V1__Reason reason);
int resolver_reason_parse(const char *name, Lindung__V1__Reason *out);
const char *resolver_action_name(Lindung__V1__Action action); /* "check_in", "check_out" */

/* Cuts a UTF-8 text to at most max bytes without splitting a character;
 * returns the length kept. */
size_t resolver_utf8_cut(const char *text, size_t len, size_t max);

/* The sealed answers: a ScanResponse (error NONE) whose ciphertext is the
 * ResponseBody sealed with the request's response pad under the response
 * AD (created_at_ms = the answer's time). Return the packed length, or 0 when
 * it cannot be built (pad missing, out too small). */
size_t resolver_verdict_response(const Lindung__V1__DecryptedRequest *request,
                                 const resolver_verdict *verdict, const char *venue_name,
                                 uint8_t *out, size_t out_len);
size_t resolver_linked_response(const Lindung__V1__DecryptedRequest *request, const char *token,
                                uint64_t created_at_ms, uint8_t *out, size_t out_len);

/* What the audit trail learns about one input. */
typedef struct resolver_audit_facts {
  Lindung__V1__ErrorCode error;
  Lindung__V1__Decision decision; /* verdicts only */
  bool venue_known;
  const uint8_t *pseudonym; /* 16 bytes when the person is known, else NULL */
} resolver_audit_facts;

/* Fills an AuditEvent (stage RESOLVE) pointing into request and facts; pack
 * it before either goes away. Never carries a NIK or a token. */
void resolver_audit_fill(const Lindung__V1__DecryptedRequest *request,
                         const resolver_audit_facts *facts, uint64_t now_ms,
                         Lindung__V1__AuditEvent *out);

/* The AuditEvent of a dead-lettered input (stage RESOLVE), identified by
 * its place (messages_input_id); points into source_id and reason. */
void resolver_dead_letter_audit_fill(const uint8_t source_id[16], const char *reason,
                                     uint64_t now_ms, Lindung__V1__AuditEvent *out);

/* Facts may be stamped a little ahead of the resolver's clock (clocks
 * differ), not more. */
#define RESOLVER_FACT_MAX_AHEAD_MS (10 * 60 * 1000)
#define RESOLVER_FACT_SOURCE_MAX 64

/* A HealthFact checked for applying: the fact and the texts it points to. */
typedef struct resolver_fact {
  health_fact fact;
  const uint8_t *fact_id;  /* HEALTH_FACT_ID_BYTES */
  const uint8_t *nik_hash; /* REG_NIK_HASH_BYTES */
  const char *detail;
  const char *source;
} resolver_fact;

/* 0, or -1 with *reason (a dead-letter reason): version 1, a 16-byte id, a
 * 32-byte NIK hash, a known kind, at in the past (or at most
 * RESOLVER_FACT_MAX_AHEAD_MS ahead of now), until 0 or after at, detail of
 * at most 200 bytes without control characters, source [a-z0-9][a-z0-9_.-]
 * up to 64. */
int resolver_fact_check(const Lindung__V1__HealthFact *message, uint64_t now_ms,
                        resolver_fact *out, const char **reason);

/* The AuditEvent of an applied fact (stage ADMIN, outcome APPLIED, request
 * id the fact id, actor the source, detail "health_fact <kind> new|repeated
 * contacts=<n>"): never a NIK hash. detail_buf holds the detail text and
 * must outlive the event. */
void resolver_fact_audit_fill(const resolver_fact *fact, bool applied, int contacts,
                              uint64_t now_ms, char *detail_buf, size_t detail_len,
                              Lindung__V1__AuditEvent *out);

#endif
