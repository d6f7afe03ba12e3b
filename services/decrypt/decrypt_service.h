/* decrypt_service: decrypt_rules on the service loop: the key stores and
 * caches one process holds, the batch handler that turns each result into
 * the service's outputs, and the key check after every registry change.
 * Prefix decrypt_. */
#ifndef LINDUNG_DECRYPT_SERVICE_H
#define LINDUNG_DECRYPT_SERVICE_H

#include <stdint.h>

#include "decrypt_rules.h"
#include "replay_window.h"
#include "service.h"
#include "system_keys.h"

typedef struct decrypt_service {
  service *svc;
  const char *key_dir;
  system_keys *keys;
  inner_seal_keys *inner;
  envelope_cache *sessions;
  replay_window *replays;
  decrypt_result result; /* reused for every input: no allocation per message */
} decrypt_service;

typedef struct decrypt_limits {
  uint32_t session_cache, replay_capacity, replay_ttl_s;
} decrypt_limits;

/* Makes the stores and loads the system keys from key_dir and the inner
 * keys from inner_key_dir: 0, or -1 after logging why (s is then freed). */
int decrypt_service_init(decrypt_service *s, const char *key_dir, const char *inner_key_dir,
                         const decrypt_limits *limits);
/* service_settings.on_batch and .on_registry; ctx is the decrypt_service. */
void decrypt_on_batch(void *ctx, kq_input *const *inputs, size_t count);
void decrypt_on_registry(void *ctx, const registry *current);
void decrypt_service_free(decrypt_service *s);

#endif
