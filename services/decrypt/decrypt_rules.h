/* decrypt_rules: what decrypt does with one AcceptedRequest from
 * scan.accepted, as a pure function of its inputs (registry snapshot,
 * system keys, session cache, replay window, time): no Kafka, no clock.
 *
 *   not an AcceptedRequest / no request / partner unknown  -> dead letter
 *   header sizes or version wrong (re-checked)             -> MALFORMED
 *   partner revoked                                        -> PARTNER_REVOKED
 *   key ids unknown, or no secret here for the system key  -> UNKNOWN_KEY
 *   partner key revoked, system key no longer usable       -> KEY_REVOKED
 *   ciphertext does not open with rx and the request AD    -> DECRYPT_FAILED
 *   body not a RequestBody, neither scan nor link, a Scan
 *   without a valid action / venue, token over 64, a NIK
 *   that is not 16 digits                                  -> MALFORMED
 *   Scan with an empty token                               -> UNKNOWN_TOKEN
 *   request id seen at another source place within 600 s   -> REPLAYED
 *   else DecryptedRequest to scan.decrypted, with the token only as its
 *   hash and a one-time response pad for the resolver, sealed to the
 *   resolver (inner_seal.h) and keyed by a keyed hash of the person.
 * Errors are answered with an error ScanResponse (never sealed).
 * Prefix decrypt_. */
#ifndef LINDUNG_DECRYPT_RULES_H
#define LINDUNG_DECRYPT_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "inner_seal.h"
#include "kafka_loop.h"
#include "lindung/v1/internal.pb-c.h"
#include "lindung/v1/partner.pb-c.h"
#include "messages.h"
#include "registry.h"
#include "replay_window.h"
#include "system_keys.h"

#define DECRYPT_SERVICE_NAME "decrypt"
#define DECRYPT_TOPIC_MAX 64
#define DECRYPT_KEY_MAX 32

typedef enum decrypt_outcome {
  DECRYPT_FORWARDED = 0, /* DecryptedRequest to scan.decrypted */
  DECRYPT_REJECTED,      /* error ScanResponse to scan.results.<partner> */
  DECRYPT_DEAD_LETTERED, /* the caller sends the input to scan.deadletter */
} decrypt_outcome;

/* What one input is decided against; owned by the caller. */
typedef struct decrypt_context {
  const registry *registry;
  const system_keys *keys;
  envelope_cache *sessions;
  replay_window *replays;
  const inner_seal_keys *inner; /* seals what goes to scan.decrypted */
} decrypt_context;

typedef struct decrypt_result {
  decrypt_outcome outcome;
  Lindung__V1__ErrorCode error; /* DECRYPT_REJECTED */
  const char *reason;           /* DECRYPT_DEAD_LETTERED */
  const char *metric_label;     /* "forwarded", an error name, or "deadletter" */

  /* The output (FORWARDED, REJECTED). A forwarded value is sealed; it is
   * wiped all the same with decrypt_result_wipe() once produced. */
  char topic[DECRYPT_TOPIC_MAX];
  uint8_t key[DECRYPT_KEY_MAX];
  size_t key_len;
  uint8_t value[MESSAGES_MAX_BYTES];
  size_t value_len;

  /* Exactly one audit event per input, for audit.events. */
  uint8_t audit_key[16];
  size_t audit_key_len;
  uint8_t audit[MESSAGES_MAX_BYTES];
  size_t audit_len;
} decrypt_result;

/* Decides one input (topic, partition, offset and value are read). Returns
 * 0, or -1 when the context is incomplete or an output could not be packed. */
int decrypt_process(const decrypt_context *context, uint64_t now_ms, const kq_input *input,
                    decrypt_result *result);

/* Wipes the output value (it may hold a NIK and a response pad). */
void decrypt_result_wipe(decrypt_result *result);

/* The Kafka key of a forwarded request on scan.decrypted: the inner key's
 * partition hash of "nik" and the NIK (a link) or of "token" and the token
 * hash (a scan), so that one person's requests share a partition and a
 * reader of the topic cannot confirm a guessed NIK. 0, or -1 without a key. */
int decrypt_person_key(const inner_seal_keys *inner, const Lindung__V1__RequestBody *body,
                       const uint8_t token_digest[32], uint8_t out[32]);

#endif
