/* resolver_answers: the pure rules of the answer log (resolver_answers,
 * db/migrations/lindung/0500_answer_log.sql): a request_id is answered
 * once, for as long as the log keeps it, not only within decrypt's replay
 * window.
 *
 *   - resolver_request_digest: what a request asked, as a 16-byte BLAKE2b
 *     digest of its meaning (partner, id, sent time, key, and the scan's
 *     token hash, venue, action and time, or the Link's keyed NIK hash).
 *     The same record read again (a redelivery, a decrypt restart) gives
 *     the same digest; a different request reusing the id does not.
 *   - resolver_answer_check: what an earlier answer on record means for
 *     this delivery: none, the same answer again, or REPLAYED.
 *
 * Prefix resolver_answer_. No I/O. */
#ifndef LINDUNG_RESOLVER_ANSWERS_H
#define LINDUNG_RESOLVER_ANSWERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lindung/v1/internal.pb-c.h"

#define RESOLVER_ANSWER_DIGEST_BYTES 16

/* nik_hash (32 bytes) for a Link, NULL for a Scan. 0, or -1 when the
 * request is neither a Scan nor a Link. */
int resolver_request_digest(const Lindung__V1__DecryptedRequest *req, const uint8_t *nik_hash,
                            size_t nik_hash_len, uint8_t out[RESOLVER_ANSWER_DIGEST_BYTES]);

typedef enum resolver_answer_kind {
  RESOLVER_ANSWER_NEW = 0,    /* nothing on record: decide, then record */
  RESOLVER_ANSWER_REPEAT = 1, /* this request was answered: the same answer again */
  RESOLVER_ANSWER_REPLAYED = 2, /* another request used this id: REPLAYED */
} resolver_answer_kind;

/* recorded: an answer is on record with recorded_digest (of digest_len
 * bytes) and recorded_error (0: a verdict or a token, which check_ins or
 * tokens hold; else the error code answered). *error is set to the error to
 * answer for REPEAT of an error and for REPLAYED, left alone otherwise. */
resolver_answer_kind resolver_answer_check(bool recorded, const uint8_t *recorded_digest,
                                           size_t digest_len, int32_t recorded_error,
                                           const uint8_t digest[RESOLVER_ANSWER_DIGEST_BYTES],
                                           Lindung__V1__ErrorCode *error);

/* The audit identity of a REPLAYED answer: the audit trail keeps one
 * record per (request id, stage), so a replay keyed by its request id would
 * vanish as a duplicate of the original answer's record. Keyed by the id and
 * the replaying request's digest instead, every replay has its own record,
 * and a redelivery of that same replay stays one. */
void resolver_answer_replay_audit_id(const uint8_t *request_id, size_t request_id_len,
                                     const uint8_t digest[RESOLVER_ANSWER_DIGEST_BYTES],
                                     uint8_t out[16]);

/* Whether an answer with this error goes into the log: UNAVAILABLE is not
 * an answer to keep (the database was away; the partner retries with a new
 * id) and a REPLAYED answer belongs to the other request. */
bool resolver_answer_recordable(Lindung__V1__ErrorCode error);

#endif
