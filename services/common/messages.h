/* messages: the outputs every scan-path service builds the same way:
 * error responses to a partner, audit events and dead-letter records.
 * Each builder packs into a caller buffer and returns the length (0 when
 * it does not fit). Prefix messages_. */
#ifndef LINDUNG_MESSAGES_H
#define LINDUNG_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#include "kafka_loop.h"
#include "lindung/v1/internal.pb-c.h"
#include "lindung/v1/partner.pb-c.h"

/* Large enough for any Lindung message (PROTO_MAX_MESSAGE_BYTES). */
#define MESSAGES_MAX_BYTES 4096

/* An error ScanResponse (no nonce, no ciphertext) for a request's header. */
size_t messages_error_response(const char *partner_id, uint32_t partner_key_id,
                               uint32_t system_key_id, const uint8_t *request_id,
                               size_t request_id_len, uint64_t created_at_ms,
                               Lindung__V1__ErrorCode error, uint8_t *out, size_t out_len);

/* A dead letter keeps this much of the refused input's key and value, plus
 * their lengths and a hash: whatever a sender wrote, the record stays far
 * below any broker's size limit. */
#define MESSAGES_DEAD_LETTER_KEEP_KEY 64
#define MESSAGES_DEAD_LETTER_KEEP_VALUE 1024
/* Room for any dead letter messages_dead_letter() builds. */
#define MESSAGES_DEAD_LETTER_MAX_BYTES 2048

/* A dead-letter record reporting a refused input: its place, a bounded
 * prefix of its key and value, their lengths and a hash of the value. */
size_t messages_dead_letter(const char *service, const char *reason, const char *topic,
                            int32_t partition, int64_t offset, const void *key, size_t key_len,
                            const void *value, size_t value_len, uint64_t at_ms, uint8_t *out,
                            size_t out_len);

/* An unattributable input's identity for the audit trail, which keeps one
 * record per (request_id, stage): 16 bytes derived from its topic,
 * partition, offset and Kafka timestamp. A redelivery has the same identity;
 * the timestamp keeps a broker whose offsets started again (the embedded
 * one, after a restart) from reusing an identity already in the trail. */
void messages_input_id(const kq_input *input, uint8_t out[16]);

/* Packs an audit event (version set here). */
size_t messages_audit_event(Lindung__V1__AuditEvent *event, uint8_t *out, size_t out_len);

/* Short stable names for metrics labels and logs: "stale_request", ... */
const char *messages_error_name(Lindung__V1__ErrorCode error);

#endif
