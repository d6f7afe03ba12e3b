/* ingest_rules: what the ingest edge decides for one value read from a
 * partner's own topic scan.requests.<partner_id>, as a pure function (no Kafka, no PostgreSQL, no clock):
 * the registry snapshot, the quota table and the time come in, the outputs
 * come out packed and ready to produce.
 *
 * Checks, in this order (docs/architecture.md, docs/partner-protocol.md):
 *   not a ScanRequest (empty, too large, not protobuf)   -> dead letter
 *   topic not scan.requests.<valid partner id>            -> dead letter
 *   partner_id other than the topic's owner               -> dead letter
 *   owner not registered                                  -> dead letter
 *   version, request_id, nonce, ciphertext sizes, key     -> MALFORMED
 *   partner revoked                                       -> PARTNER_REVOKED
 *   key ids 0 or not registered                           -> UNKNOWN_KEY
 *   partner key revoked, system key no longer usable      -> KEY_REVOKED
 *   sent_at_ms more than 300 s from now                   -> STALE_REQUEST
 *   partner over quota                                    -> RATE_LIMITED
 *   else AcceptedRequest to scan.accepted.
 * Only the owner's principal may write its topic (broker ACLs), so the
 * topic is the partner's authenticated identity: a record naming another
 * partner is never answered into that partner's topic nor charged to its
 * quota, and its audit event names the topic's owner.
 * Ingest never opens the ciphertext; the replay check is decrypt's, after
 * authentication. Prefix ingest_. */
#ifndef LINDUNG_INGEST_RULES_H
#define LINDUNG_INGEST_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "kafka_loop.h"
#include "lindung/v1/internal.pb-c.h"
#include "lindung/v1/partner.pb-c.h"
#include "messages.h"
#include "quota.h"
#include "registry.h"
#include "topics.h"

#define INGEST_SERVICE_NAME "ingest"
#define INGEST_MAX_CLOCK_SKEW_MS 300000u
/* "scan.results." + 32 characters of partner id. */
#define INGEST_TOPIC_MAX 64

typedef enum ingest_outcome {
  INGEST_FORWARDED = 0, /* AcceptedRequest to scan.accepted */
  INGEST_REJECTED,      /* error ScanResponse to scan.results.<partner> */
  INGEST_DEAD_LETTERED, /* unattributable: the caller sends it to scan.deadletter */
} ingest_outcome;

typedef struct ingest_result {
  ingest_outcome outcome;
  Lindung__V1__ErrorCode error; /* INGEST_REJECTED */
  const char *reason;           /* INGEST_DEAD_LETTERED: "empty", "unknown_partner", ... */
  const char *metric_label;     /* "forwarded", an error name, or "deadletter" */

  /* The output (FORWARDED, REJECTED); a dead letter is built by the caller
   * because it keeps the whole input, which may be larger than any buffer. */
  char topic[INGEST_TOPIC_MAX];
  uint8_t key[16];
  size_t key_len;
  uint8_t value[MESSAGES_MAX_BYTES];
  size_t value_len;

  /* Exactly one audit event per input, for audit.events. */
  uint8_t audit_key[16];
  size_t audit_key_len;
  uint8_t audit[MESSAGES_MAX_BYTES];
  size_t audit_len;
} ingest_result;

/* How far behind the clock the Kafka timestamp of a request may be and
 * still count for the quota (see ingest_quota_time). */
#define INGEST_QUOTA_SKEW_MS 2000

/* The time a request is charged at in its partner's token bucket. */
uint64_t ingest_quota_time(const kq_input *input, uint64_t now_ms);

/* The partner that owns a request topic: copies the id after
 * "scan.requests." into owner (33 bytes) and returns 0, or -1 when the
 * topic is not a request topic of a well-formed partner id. */
int ingest_topic_owner(const char *topic, char owner[33]);

/* Decides one input (its topic, partition, offset, timestamp, key and value
 * are read; nothing else). quotas may be NULL to skip the quota rule.
 * Returns 0, or -1 when an output could not be packed (a bug: every output
 * fits). */
int ingest_decide(const registry *reg, quota_table *quotas, uint64_t now_ms, const kq_input *input,
                  ingest_result *result);

#endif
