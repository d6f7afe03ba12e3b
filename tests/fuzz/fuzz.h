/* fuzz: what the libFuzzer harnesses of tests/fuzz share: a reader that cuts
 * one fuzz input into fields, the keys of docs/vectors/envelope-v1.json, a
 * registry the decoders are checked against, and an assertion that stops
 * the run (libFuzzer then keeps the input as a crash).
 *
 * Each harness calls the pure function a service calls on what an outsider
 * sent, with no Kafka and no PostgreSQL, and checks what the result
 * promises. Build: cmake -DLINDUNG_FUZZ=ON with clang (scripts/fuzz). */
#ifndef LINDUNG_FUZZ_H
#define LINDUNG_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "proto_limits.h"
#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise of the code under test: report and abort, so libFuzzer
 * records the input. */
#define FUZZ_ASSERT(cond)                                                                \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      fprintf(stderr, "%s:%d: fuzz assertion failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                           \
    }                                                                                    \
  } while (0)

/* An output a service produces must decode again with its own descriptor. */
static inline void fuzz_check_decodes(const ProtobufCMessageDescriptor *descriptor,
                                      const uint8_t *bytes, size_t len) {
  ProtobufCMessage *message = NULL;
  FUZZ_ASSERT(proto_decode(descriptor, bytes, len, PROTO_MAX_MESSAGE_BYTES, &message) ==
              PROTO_DECODE_OK);
  protobuf_c_message_free_unpacked(message, NULL);
}

/* Cuts one input into fields, front to back; a field past the end is empty. */
typedef struct fuzz_reader {
  const uint8_t *data;
  size_t len;
} fuzz_reader;

static inline uint8_t fuzz_byte(fuzz_reader *r) {
  if (r->len == 0) return 0;
  uint8_t b = r->data[0];
  r->data++;
  r->len--;
  return b;
}

static inline uint32_t fuzz_u32(fuzz_reader *r) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v = (v << 8) | fuzz_byte(r);
  return v;
}

/* Up to n bytes (fewer at the end). */
static inline const uint8_t *fuzz_bytes(fuzz_reader *r, size_t n, size_t *got) {
  const uint8_t *p = r->data;
  *got = n < r->len ? n : r->len;
  r->data += *got;
  r->len -= *got;
  return p;
}

/* A malloc'd, NUL-terminated copy of the next field: its length is one
 * byte, its text the bytes after it (NULs included: C readers stop there). */
static inline char *fuzz_string(fuzz_reader *r, size_t max) {
  size_t want = fuzz_byte(r);
  if (want > max) want = max;
  size_t got;
  const uint8_t *p = fuzz_bytes(r, want, &got);
  char *s = malloc(got + 1);
  if (!s) abort();
  memcpy(s, p, got);
  s[got] = '\0';
  return s;
}

/* The keys of docs/vectors/envelope-v1.json ("gojek" key 7, system key 1). */
#define FUZZ_PARTNER_PK_HEX "88ec0fc10a8149791fe704cc1579d7c00e7c25aa3baa17dfe51944036c79666f"
#define FUZZ_PARTNER_SK_HEX "49343c6837abdf9e0b8723978d555121dde42f65e2576e418c2aaf164ea46036"
#define FUZZ_SYSTEM_PK_HEX "c75dca63d937aed11d77c0f061aa12d2b5d7e033e30d3bb56fd68bf79ca82875"
#define FUZZ_SYSTEM_SK_HEX "cdefab7b1d03e25fa1e6ac9ca1bf099284fa92eeb9cb6ad814bed547eaaf276e"
/* The vectors' sent_at_ms: a request with it is fresh at FUZZ_NOW_MS. */
#define FUZZ_NOW_MS 1632700800000ull

static inline void fuzz_hex32(const char *hex, uint8_t out[32]) {
  if (hex_decode(hex, out, 32) != 0) abort();
}

/* Partners in every state a decoder tells apart: "gojek" (the vectors'
 * key 7, a revoked key 8, quota 0), "grab" (revoked), "dana" (a tight
 * quota); system key 1 active (the vectors'), 2 revoked, 3 retiring. */
static inline registry *fuzz_registry(void) {
  uint8_t partner_pk[32], system_pk[32], other_pk[32];
  fuzz_hex32(FUZZ_PARTNER_PK_HEX, partner_pk);
  fuzz_hex32(FUZZ_SYSTEM_PK_HEX, system_pk);
  memset(other_pk, 0x42, 32);
  registry *reg = registry_new();
  if (!reg || registry_put_partner(reg, "gojek", false, 0, 0) ||
      registry_put_partner_key(reg, "gojek", 7, partner_pk, false) ||
      registry_put_partner_key(reg, "gojek", 8, other_pk, true) ||
      registry_put_partner(reg, "grab", true, 0, 0) ||
      registry_put_partner_key(reg, "grab", 7, partner_pk, false) ||
      registry_put_partner(reg, "dana", false, 2, 3) ||
      registry_put_partner_key(reg, "dana", 1, other_pk, false) ||
      registry_put_system_key(reg, 1, system_pk, REGISTRY_SYSTEM_KEY_ACTIVE, 0) ||
      registry_put_system_key(reg, 2, other_pk, REGISTRY_SYSTEM_KEY_REVOKED, 0) ||
      registry_put_system_key(reg, 3, other_pk, REGISTRY_SYSTEM_KEY_RETIRING, FUZZ_NOW_MS))
    abort();
  return reg;
}

#endif
