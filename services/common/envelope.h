/* envelope: the sealed-body format of docs/partner-protocol.md, version 1.
 *
 * Associated data binds every clear header field to the sealed body; bodies
 * are sealed with XChaCha20-Poly1305-IETF (combined mode) under the crypto_kx
 * session keys of one (partner key, system key) pair.
 *
 * Response pads. Only the decrypt service holds the system secret key, but
 * the status-resolver seals the answer. Decrypt therefore hands the resolver
 * a one-time pad for one nonce: the 32-byte Poly1305 key and the XChaCha20
 * keystream that the AEAD would use under Lindung's tx key and that nonce.
 * The resolver can seal exactly one response of at most ENVELOPE_PAD_MAX_BODY
 * bytes with it (byte-identical to crypto_aead_xchacha20poly1305_ietf_encrypt)
 * and learns nothing that opens or seals any other message.
 *
 * Prefix envelope_. Functions return 0 or -1; nothing logs. */
#ifndef LINDUNG_ENVELOPE_H
#define LINDUNG_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define ENVELOPE_KEY_BYTES 32
#define ENVELOPE_NONCE_BYTES 24
#define ENVELOPE_TAG_BYTES 16
#define ENVELOPE_REQUEST_ID_BYTES 16
#define ENVELOPE_MAX_CIPHERTEXT 1024
#define ENVELOPE_MAX_PARTNER_ID 32
/* 4 + 1 + 2 + 32 + 4 + 4 + 16 + 8 */
#define ENVELOPE_MAX_AD_BYTES 71
#define ENVELOPE_PAD_MAX_BODY 448
#define ENVELOPE_PAD_BYTES (32 + ENVELOPE_PAD_MAX_BODY)

typedef enum envelope_direction {
  ENVELOPE_REQUEST = 0x01,
  ENVELOPE_RESPONSE = 0x02,
} envelope_direction;

typedef struct envelope_header {
  const char *partner_id;
  uint32_t partner_key_id;
  uint32_t system_key_id;
  const uint8_t *request_id; /* 16 bytes */
  uint64_t at_ms;            /* sent_at_ms (request) or created_at_ms (response) */
} envelope_header;

/* Writes the associated data; returns its length, or 0 when the header is
 * invalid (partner id empty or longer than 32 bytes). */
size_t envelope_associated_data(envelope_direction direction, const envelope_header *header,
                                uint8_t out[ENVELOPE_MAX_AD_BYTES]);

typedef struct envelope_session {
  uint8_t rx[ENVELOPE_KEY_BYTES];
  uint8_t tx[ENVELOPE_KEY_BYTES];
} envelope_session;

/* Partner side: rx opens responses, tx seals requests. */
int envelope_partner_session(envelope_session *out, const uint8_t partner_pk[32],
                             const uint8_t partner_sk[32], const uint8_t system_pk[32]);
/* Lindung side: rx opens requests, tx seals responses. */
int envelope_system_session(envelope_session *out, const uint8_t system_pk[32],
                            const uint8_t system_sk[32], const uint8_t partner_pk[32]);

/* Seals plain into out (plain_len + 16 bytes) with a fresh random nonce. */
int envelope_seal(const uint8_t key[32], const uint8_t *ad, size_t ad_len, const uint8_t *plain,
                  size_t plain_len, uint8_t nonce_out[ENVELOPE_NONCE_BYTES], uint8_t *out);

/* Seals with a caller-chosen nonce. Only for tests and the published test
 * vectors: a nonce must never be reused under one key, so production code
 * calls envelope_seal. */
int envelope_seal_with_nonce(const uint8_t key[32], const uint8_t *ad, size_t ad_len,
                             const uint8_t *plain, size_t plain_len,
                             const uint8_t nonce[ENVELOPE_NONCE_BYTES], uint8_t *out);

/* Opens sealed (sealed_len >= 16) into out (sealed_len - 16 bytes). */
int envelope_open(const uint8_t key[32], const uint8_t *ad, size_t ad_len,
                  const uint8_t nonce[ENVELOPE_NONCE_BYTES], const uint8_t *sealed,
                  size_t sealed_len, uint8_t *out);

/* Response pads (see above). envelope_pad_make picks a fresh nonce; the pad
 * is key material: wipe it (sodium_memzero) once it is used. */
int envelope_pad_make(const uint8_t tx_key[32], uint8_t nonce_out[ENVELOPE_NONCE_BYTES],
                      uint8_t pad_out[ENVELOPE_PAD_BYTES]);
/* Seals plain (at most ENVELOPE_PAD_MAX_BODY bytes) into out (plain_len + 16);
 * out may equal plain. A pad must seal one message only. */
int envelope_pad_seal(const uint8_t pad[ENVELOPE_PAD_BYTES], const uint8_t *ad, size_t ad_len,
                      const uint8_t *plain, size_t plain_len, uint8_t *out);

/* A cache of session keys per (partner public key, system key id), so the
 * X25519 work is done once per pair. Fixed capacity, least recently used
 * entry evicted when full; entries are wiped when dropped. Not thread-safe:
 * one cache per thread. */
typedef struct envelope_cache envelope_cache;

envelope_cache *envelope_cache_new(size_t capacity);
/* Returns the cached session, deriving it on a miss; NULL on failure. The
 * pointer stays valid until the next call on this cache. */
const envelope_session *envelope_cache_system_session(envelope_cache *cache,
                                                      uint32_t system_key_id,
                                                      const uint8_t system_pk[32],
                                                      const uint8_t system_sk[32],
                                                      const uint8_t partner_pk[32]);
/* Drops every entry of one system key (after it is retired). */
void envelope_cache_forget_system_key(envelope_cache *cache, uint32_t system_key_id);
void envelope_cache_free(envelope_cache *cache);

#endif
