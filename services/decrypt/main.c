/* lindung-decrypt: the only process holding the system secret keys. Reads
 * accepted requests from scan.accepted, opens them, and forwards what the
 * resolver needs to scan.decrypted (the token only as its hash, plus a
 * one-time response pad, all sealed to the resolver with the inner key), or
 * answers an error code on the partner's topic.
 * The rules are in decrypt_rules.c, the replay window in replay_window.c,
 * the key store in system_keys.c; this file only wires them. */
#include <sodium.h>
#include <stdlib.h>

#include "decrypt_rules.h"
#include "inner_seal.h"
#include "log.h"
#include "replay_window.h"
#include "service.h"
#include "system_keys.h"
#include "topics.h"

typedef struct decrypt_service {
  service *svc;
  const char *key_dir;
  system_keys *keys;
  inner_seal_keys *inner;
  envelope_cache *sessions;
  replay_window *replays;
  decrypt_result result; /* reused for every input: no allocation per message */
} decrypt_service;

static decrypt_service main_decrypt;

static void decrypt_handle(decrypt_service *s, const decrypt_context *context, kq_input *input) {
  double started = service_monotonic_s();
  decrypt_result *r = &s->result;
  int rc = decrypt_process(context, service_now_ms(), input, r);
  if (rc != 0 && r->outcome != DECRYPT_DEAD_LETTERED) {
    /* An output that does not fit is a bug; keep the input for operators. */
    decrypt_result_wipe(r);
    r->outcome = DECRYPT_DEAD_LETTERED;
    r->reason = "internal_error";
    r->metric_label = "deadletter";
  }
  service_outputs outputs = {
      .dead_letter_reason =
          r->outcome == DECRYPT_DEAD_LETTERED ? (r->reason ? r->reason : "internal_error") : NULL,
      .topic = r->topic,
      .key = r->key,
      .key_len = r->key_len,
      .value = r->value,
      .value_len = r->value_len,
      .audit_key = r->audit_key,
      .audit_key_len = r->audit_key_len,
      .audit = r->audit,
      .audit_len = r->audit_len,
      .metric_label = r->metric_label,
  };
  service_finish_input(s->svc, input, &outputs, started);
  /* The forwarded clear text is copied into the producer's queue by now. */
  decrypt_result_wipe(r);
}

static void decrypt_on_batch(void *ctx, kq_input *const *inputs, size_t count) {
  decrypt_service *s = ctx;
  /* One snapshot per batch: a reload or an event swaps it only between batches. */
  decrypt_context context = {
      .registry = service_registry(s->svc),
      .keys = s->keys,
      .sessions = s->sessions,
      .replays = s->replays,
      .inner = s->inner,
  };
  for (size_t i = 0; i < count && !service_stopping(s->svc); i++) decrypt_handle(s, &context, inputs[i]);
}

/* After every registry change: pick up key files added by a rotation, say
 * which held keys the registry does not vouch for, and drop the sessions of
 * keys that may no longer open requests. */
static void decrypt_check_keys(decrypt_service *s, const registry *current) {
  char err[512];
  if (system_keys_load_dir(s->keys, s->key_dir, true, err, sizeof err) < 0) {
    LOG_WARN("system_keys_reload_failed", LOG_ERRTEXT("reason", err));
  }
  uint64_t now = service_now_ms();
  size_t usable = 0;
  for (size_t i = 0; i < system_keys_count(s->keys); i++) {
    uint32_t key_id = system_keys_id_at(s->keys, i);
    const registry_system_key *registered = registry_find_system_key(current, key_id);
    if (!registered) {
      LOG_WARN("system_key_not_registered", LOG_INT("key_id", key_id));
    } else if (!system_keys_secret(s->keys, key_id, registered->public_key)) {
      LOG_ERROR("system_key_mismatch", LOG_INT("key_id", key_id),
                LOG_TEXT("detail", "the secret key file does not match the registered public key"));
    } else if (!registry_system_key_usable(registered, now)) {
      envelope_cache_forget_system_key(s->sessions, key_id);
    } else {
      usable++;
    }
  }
  if (usable == 0) LOG_WARN("no_usable_system_key");
}

static void decrypt_on_registry(void *ctx, const registry *current) {
  decrypt_check_keys(ctx, current);
}

static void decrypt_free(decrypt_service *s) {
  replay_window_free(s->replays);
  envelope_cache_free(s->sessions);
  system_keys_free(s->keys);
  inner_seal_keys_free(s->inner);
}

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
  s->key_dir = key_dir;
  s->keys = system_keys_new();
  s->inner = inner_seal_keys_new();
  s->sessions = envelope_cache_new(session_cache);
  s->replays = replay_window_new(replay_capacity, (uint64_t)replay_ttl_s * 1000u);
  if (!s->keys || !s->inner || !s->sessions || !s->replays) {
    LOG_ERROR("out_of_memory");
    decrypt_free(s);
    return 1;
  }
  char err[512];
  int held = system_keys_load_dir(s->keys, key_dir, true, err, sizeof err);
  if (held <= 0) {
    if (held < 0) {
      LOG_ERROR("system_keys_unreadable", LOG_ERRTEXT("reason", err));
    } else {
      LOG_ERROR("no_system_keys", LOG_TEXT("expected", "a file system-<id>.key"));
    }
    decrypt_free(s);
    return 1;
  }
  LOG_INFO("system_keys_loaded", LOG_INT("count", held));
  int inner = inner_seal_keys_load_dir(s->inner, inner_key_dir, true, err, sizeof err);
  if (inner <= 0) {
    if (inner < 0) {
      LOG_ERROR("inner_keys_unreadable", LOG_ERRTEXT("reason", err));
    } else {
      LOG_ERROR("no_inner_keys", LOG_TEXT("expected", "a file inner-<id>.key"));
    }
    decrypt_free(s);
    return 1;
  }
  LOG_INFO("inner_keys_loaded", LOG_INT("count", inner),
           LOG_INT("sealing_key_id", inner_seal_current_id(s->inner)));

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
    decrypt_free(s);
    return 1;
  }
  int status = service_run(s->svc);
  decrypt_free(s);
  return status;
}
