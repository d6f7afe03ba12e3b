/* inner_seal: seals what one Lindung service hands another over Kafka, so
 * that no NIK, token hash or response pad is readable on an internal topic
 * by anyone but the two services that hold the inner key (today decrypt,
 * which seals, and the status-resolver, which opens).
 *
 * Why an AEAD with a shared key rather than a sealed box to the resolver's
 * public key: decrypt sees every clear text anyway, so a public-key seal
 * would protect nothing more; the shared key costs no X25519 per record,
 * binds the topic and key id as associated data (a sealed box has none),
 * and also keys the partition hash, which only decrypt needs.
 *
 * A value is a SealedRecord (internal.proto): key_id, a random 24-byte
 * nonce and XChaCha20-Poly1305-IETF ciphertext of the packed inner message,
 * with associated data "lindung.inner.v1" 0 context 0 key_id (4 bytes, big
 * endian); context is the topic. Each key file holds a 32-byte master key
 * from which a sealing key and a partition hash key are derived
 * (crypto_kdf). Records are sealed under the current key, the highest id
 * held; every key held opens, so a rotation adds a key with a higher id to
 * the opener first, then to the sealer, and drops the previous key once the
 * topic's retention has passed. Keys sit in guarded, locked memory.
 * Not thread-safe. Prefix inner_seal_ (and inner_open_). */
#ifndef LINDUNG_INNER_SEAL_H
#define LINDUNG_INNER_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INNER_SEAL_KEY_BYTES 32
#define INNER_SEAL_NONCE_BYTES 24
#define INNER_SEAL_TAG_BYTES 16
/* A current and a previous key, with room for an operator's mistakes. */
#define INNER_SEAL_KEYS_MAX 8
/* What a SealedRecord adds to its clear text, at most (tag, nonce, fields). */
#define INNER_SEAL_OVERHEAD 64
#define INNER_SEAL_CONTEXT_MAX 64
#define INNER_SEAL_HASH_BYTES 32
/* The key files in a key directory: inner-<id>.key. */
#define INNER_SEAL_FILE_PREFIX "inner"

typedef struct inner_seal_keys inner_seal_keys;

inner_seal_keys *inner_seal_keys_new(void);
/* Wipes and frees every key. */
void inner_seal_keys_free(inner_seal_keys *keys);

/* Adds (or replaces) the master key of key_id; -1 when full or key_id is 0. */
int inner_seal_keys_add(inner_seal_keys *keys, uint32_t key_id,
                        const uint8_t master[INNER_SEAL_KEY_BYTES]);

/* Reads every inner-<id>.key of dir (key_dir.h). Returns the number of keys
 * held afterwards, or -1 with a reason in err. */
int inner_seal_keys_load_dir(inner_seal_keys *keys, const char *dir, bool strict, char *err,
                             size_t err_len);

size_t inner_seal_keys_count(const inner_seal_keys *keys);
/* The key records are sealed under: the highest id held, 0 when none. */
uint32_t inner_seal_current_id(const inner_seal_keys *keys);

/* Seals plain (a packed inner message) for context under the current key
 * into out as a packed SealedRecord. Returns its length, or 0 when no key is
 * held, context is empty or too long, or out is too small. */
size_t inner_seal(const inner_seal_keys *keys, const char *context, const uint8_t *plain,
                  size_t plain_len, uint8_t *out, size_t out_cap);

typedef enum inner_open_status {
  INNER_OPEN_OK = 0,
  INNER_OPEN_MALFORMED,   /* not a SealedRecord, or its fields the wrong size */
  INNER_OPEN_UNKNOWN_KEY, /* sealed under a key id not held here */
  INNER_OPEN_FORGED,      /* does not open: wrong key, other context or altered */
} inner_open_status;

/* Opens a packed SealedRecord of context into plain (plain_cap bytes) and
 * sets *plain_len. Nothing is written to plain unless it opens. */
inner_open_status inner_open(const inner_seal_keys *keys, const char *context, const uint8_t *in,
                             size_t in_len, uint8_t *plain, size_t plain_cap, size_t *plain_len);

/* A short fixed reason for dead letters: "sealed_malformed",
 * "sealed_unknown_key", "sealed_not_opened" (or "ok"). */
const char *inner_open_reason(inner_open_status status);

/* A keyed BLAKE2b-256 of label 0 data under the current key's partition
 * key, for Kafka keys that spread people over partitions without letting a
 * reader of the topic confirm a guessed NIK. 0, or -1 when no key is held.
 * A rotation moves people to other partitions once; scan.accepted is keyed
 * by request id, so no per-person order exists upstream to lose. */
int inner_seal_partition_hash(const inner_seal_keys *keys, const char *label, const void *data,
                              size_t len, uint8_t out[INNER_SEAL_HASH_BYTES]);

#endif
