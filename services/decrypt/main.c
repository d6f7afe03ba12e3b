/* lindung-decrypt: the only process holding the system secret keys. Reads
 * accepted requests from scan.accepted, opens them, and forwards what the
 * resolver needs to scan.decrypted (the token only as its hash, plus a
 * one-time response pad, all sealed to the resolver with the inner key), or
 * answers an error code on the partner's topic.
 * The rules are in decrypt_rules.c, their service handler in
 * decrypt_service.c, the replay window in replay_window.c, the key store in
 * system_keys.c; this file only configures and wires them. */
#include <sodium.h>

#include "decrypt_service.h"
#include "log.h"
#include "topics.h"

static decrypt_service main_decrypt;

int main(int argc, char **argv) {
  static service_common common;
  static const char *key_dir, *inner_key_dir;
  static uint32_t poll_ms, replay_capacity, replay_ttl_s, session_cache;
  const cfg_option options[] = {
      CFG_STRING("LINDUNG_SYSTEM_KEY_DIR", &key_dir, NULL,
                 "directory of the system secret keys, files system-<id>.key (64 hex "
                 "characters, mode 0600 or stricter)"),
      CFG_STRING("LINDUNG_INNER_KEY_DIR", &inner_key_dir, NULL,
                 "directory of the inner keys shared with the status-resolver only, files "
                 "inner-<id>.key (64 hex characters, mode 0600 or stricter); the highest id "
                 "seals"),
      CFG_UINT("LINDUNG_REGISTRY_POLL_MS", &poll_ms, "500",
               "how often to look for registry changes in PostgreSQL"),
      CFG_UINT("LINDUNG_REPLAY_CAPACITY", &replay_capacity, "2000000",
               "most request ids the replay window remembers (about 48 bytes each)"),
      CFG_UINT("LINDUNG_REPLAY_WINDOW_S", &replay_ttl_s, "600",
               "seconds a request id counts as used"),
      CFG_UINT("LINDUNG_SESSION_CACHE", &session_cache, "256",
               "session keys cached, one per (partner key, system key)"),
  };
  int rc = service_configure(argc, argv, "lindung-decrypt",
                             "Opens accepted partner requests with the system secret keys and "
                             "forwards them to scan.decrypted, or answers an error code.",
                             &common, options, sizeof options / sizeof options[0]);
  if (rc) return rc > 0 ? 0 : 2;
  if (poll_ms == 0 || replay_capacity == 0 || replay_ttl_s == 0 || session_cache == 0) {
    LOG_ERROR("bad_setting", LOG_TEXT("expected",
                                      "LINDUNG_REGISTRY_POLL_MS, LINDUNG_REPLAY_CAPACITY, "
                                      "LINDUNG_REPLAY_WINDOW_S and LINDUNG_SESSION_CACHE "
                                      "of at least 1"));
    return 2;
  }
  if (sodium_init() < 0) {
    LOG_ERROR("sodium_init_failed");
    return 1;
  }
  decrypt_service *s = &main_decrypt;
  decrypt_limits limits = {session_cache, replay_capacity, replay_ttl_s};
  if (decrypt_service_init(s, key_dir, inner_key_dir, &limits)) return 1;
  service_settings settings = {
      .name = "decrypt",
      .input_topic = TOPIC_SCAN_ACCEPTED,
      .uses_db = true,
      /* exactly one scan.decrypted record per request, even across a kill:
       * the resolver would answer a redelivered copy again, and after an
       * UNAVAILABLE (which it cannot record while PostgreSQL is away)
       * differently */
      .transactional = true,
      .on_batch = decrypt_on_batch,
      .uses_registry = true,
      .registry_poll_ms = poll_ms,
      .on_registry = decrypt_on_registry,
      .ctx = s,
  };
  if (service_open(&s->svc, &settings, &common) != 0) {
    decrypt_service_free(s);
    return 1;
  }
  int status = service_run(s->svc);
  decrypt_service_free(s);
  return status;
}
