/* token: the opaque per-partner tokens a Link issues.
 *
 * A token is derived, not random: HMAC-SHA-512/256 under the resolver's
 * token key over (partner_id, request_id), so a Link processed twice after a
 * redelivery issues the same token, while two partners (or two Links) get
 * unrelated ones. Only the token's hash is ever stored or forwarded.
 * Prefix token_. */
#ifndef LINDUNG_TOKEN_H
#define LINDUNG_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_PREFIX "lt1_"
/* "lt1_" + 43 characters of unpadded base64url of 32 bytes. */
#define TOKEN_TEXT_LEN 47
#define TOKEN_MAX_LEN 64
#define TOKEN_HASH_BYTES 32

void token_derive(const uint8_t key[32], const char *partner_id, const uint8_t request_id[16],
                  char out[TOKEN_TEXT_LEN + 1]);

/* BLAKE2b-256 of the token text (tokens carry 256 bits of entropy, so an
 * unkeyed hash is enough to make the stored form useless to a thief). */
void token_hash(const char *token, size_t len, uint8_t out[TOKEN_HASH_BYTES]);

/* The audit pseudonym of a person: stable within one period, unlinkable
 * across periods and without the key. */
void token_pseudonym(const uint8_t key[32], uint64_t period_index, int64_t person_id,
                     uint8_t out[16]);

#endif
