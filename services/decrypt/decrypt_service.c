/* decrypt_service: decrypt_rules on the service loop (decrypt_service.h). */
#include "decrypt_service.h"

#include "log.h"

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

void decrypt_on_batch(void *ctx, kq_input *const *inputs, size_t count) {
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

void decrypt_on_registry(void *ctx, const registry *current) {
  decrypt_check_keys(ctx, current);
}

void decrypt_service_free(decrypt_service *s) {
  replay_window_free(s->replays);
  envelope_cache_free(s->sessions);
  system_keys_free(s->keys);
  inner_seal_keys_free(s->inner);
}

int decrypt_service_init(decrypt_service *s, const char *key_dir, const char *inner_key_dir,
                         const decrypt_limits *limits) {
  s->key_dir = key_dir;
  s->keys = system_keys_new();
  s->inner = inner_seal_keys_new();
  s->sessions = envelope_cache_new(limits->session_cache);
  s->replays = replay_window_new(limits->replay_capacity, (uint64_t)limits->replay_ttl_s * 1000u);
  if (!s->keys || !s->inner || !s->sessions || !s->replays) {
    LOG_ERROR("out_of_memory");
    decrypt_service_free(s);
    return -1;
  }
  char err[512];
  int held = system_keys_load_dir(s->keys, key_dir, true, err, sizeof err);
  if (held < 0) LOG_ERROR("system_keys_unreadable", LOG_ERRTEXT("reason", err));
  if (held == 0) LOG_ERROR("no_system_keys", LOG_TEXT("expected", "a file system-<id>.key"));
  if (held > 0) LOG_INFO("system_keys_loaded", LOG_INT("count", held));
  int inner = held > 0 ? inner_seal_keys_load_dir(s->inner, inner_key_dir, true, err, sizeof err) : 0;
  if (held > 0 && inner < 0) LOG_ERROR("inner_keys_unreadable", LOG_ERRTEXT("reason", err));
  if (held > 0 && inner == 0) LOG_ERROR("no_inner_keys", LOG_TEXT("expected", "a file inner-<id>.key"));
  if (held <= 0 || inner <= 0) {
    decrypt_service_free(s);
    return -1;
  }
  LOG_INFO("inner_keys_loaded", LOG_INT("count", inner),
           LOG_INT("sealing_key_id", inner_seal_current_id(s->inner)));
  return 0;
}
