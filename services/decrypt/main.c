/* lindung-decrypt: the only process holding the system secret keys. Reads
 * accepted requests from scan.accepted, opens them, and forwards what the
 * resolver needs to scan.decrypted (the token only as its hash, plus a
 * one-time response pad), or answers an error code on the partner's topic.
 * The rules are in decrypt_rules.c, the replay window in replay_window.c,
 * the key store in system_keys.c; this file only wires them. */
#include <sodium.h>
#include <stdlib.h>

#include "decrypt_rules.h"
#include "log.h"
#include "partner_events.h"
#include "registry_pg.h"
#include "replay_window.h"
#include "service.h"
#include "system_keys.h"

typedef struct decrypt_service {
  service svc;
  const char *key_dir;
  registry_pg *registry;
  partner_events *events; /* partner.events applied live */
  system_keys *keys;
  envelope_cache *sessions;
  replay_window *replays;
  uv_signal_t sigterm, sigint; /* besides the runtime's own, see decrypt_stop */
  bool consuming;
  bool stopped;
  bool failed;
  int exit_status;
  decrypt_result result; /* reused for every input: no allocation per message */
} decrypt_service;

static decrypt_service main_decrypt;

static void decrypt_stop_registry_timer(uv_handle_t *handle, void *loader) {
  if (handle->type == UV_TIMER && handle->data == loader && !uv_is_closing(handle)) {
    uv_timer_stop((uv_timer_t *)handle);
  }
}

/* Every way out goes through here. The runtime's stop runs the loop until
 * no handle is active, so the registry's poll timer must stop first; the
 * loader itself is freed only after service_run, once the database client
 * has failed its pending queries (whose callbacks still use the loader). */
static void decrypt_stop(decrypt_service *s) {
  if (s->stopped) return;
  s->stopped = true;
  uv_walk(s->svc.loop, decrypt_stop_registry_timer, s->registry);
  partner_events_stop(s->events);
  uv_signal_stop(&s->sigterm);
  uv_signal_stop(&s->sigint);
  uv_close((uv_handle_t *)&s->sigterm, NULL);
  uv_close((uv_handle_t *)&s->sigint, NULL);
  uv_stop(s->svc.loop);
}

static void decrypt_on_signal(uv_signal_t *handle, int signum) {
  (void)signum;
  decrypt_stop(handle->data);
}

/* A failed produce means a broken producer: leave the input incomplete so
 * its offset is never stored, and stop; a restart reads it again. */
static void decrypt_fail(decrypt_service *s, int rc) {
  if (s->failed) return;
  s->failed = true;
  s->exit_status = 1;
  LOG_ERROR("produce_failed", LOG_INT("rc", rc));
  decrypt_stop(s);
}

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
  if (r->outcome == DECRYPT_DEAD_LETTERED) {
    rc = service_dead_letter(&s->svc, input, r->reason ? r->reason : "internal_error");
  } else {
    rc = service_produce(&s->svc, input, r->topic, r->key_len ? r->key : NULL, r->key_len, r->value,
                         r->value_len);
    decrypt_result_wipe(r);
  }
  if (rc == 0 && r->audit_len) {
    rc = service_produce(&s->svc, input, "audit.events", r->audit_key, r->audit_key_len, r->audit,
                         r->audit_len);
  }
  if (rc != 0) {
    decrypt_fail(s, rc);
    return;
  }
  kq_input_done(input);
  service_count(&s->svc, r->metric_label, service_monotonic_s() - started);
}

static void decrypt_on_batch(void *ctx, kq_input *const *inputs, size_t count) {
  decrypt_service *s = ctx;
  /* Events already fetched apply first (see ingest). */
  partner_events_poll(s->events);
  /* One snapshot per batch: a reload swaps it only between batches. */
  decrypt_context context = {
      .registry = registry_pg_current(s->registry),
      .keys = s->keys,
      .sessions = s->sessions,
      .replays = s->replays,
  };
  for (size_t i = 0; i < count && !s->failed; i++) decrypt_handle(s, &context, inputs[i]);
}

static bool decrypt_ready(void *ctx, const char **reason) {
  decrypt_service *s = ctx;
  if (!registry_pg_current(s->registry)) {
    *reason = "registry";
    return false;
  }
  return partner_events_ready(s->events, reason);
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
  decrypt_service *s = ctx;
  /* A load older than events already applied is brought forward first. */
  if (partner_events_registry_changed(s->events, current)) return;
  LOG_INFO("registry_loaded", LOG_INT("version", registry_version(current)),
           LOG_INT("partners", registry_partner_count(current)));
  decrypt_check_keys(s, current);
  /* Inputs are taken only once the registry is known. */
  if (!s->consuming && !s->stopped) {
    s->consuming = true;
    if (service_start_consuming(&s->svc) != 0) {
      s->exit_status = 1;
      decrypt_stop(s);
    }
  }
}

static void decrypt_free(decrypt_service *s) {
  replay_window_free(s->replays);
  envelope_cache_free(s->sessions);
  system_keys_free(s->keys);
}

int main(int argc, char **argv) {
  static service_common common;
  static const char *key_dir;
  static uint32_t poll_ms, replay_capacity, replay_ttl_s, session_cache;
  const cfg_option options[] = {
      CFG_STRING("LINDUNG_SYSTEM_KEY_DIR", &key_dir, NULL,
                 "directory of the system secret keys, files system-<id>.key (64 hex "
                 "characters, mode 0600 or stricter)"),
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
  s->sessions = envelope_cache_new(session_cache);
  s->replays = replay_window_new(replay_capacity, (uint64_t)replay_ttl_s * 1000u);
  if (!s->keys || !s->sessions || !s->replays) {
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

  service_settings settings = {
      .name = "decrypt",
      .input_topic = "scan.accepted",
      .uses_db = true,
      .statements = registry_pg_statements,
      .statement_count = registry_pg_statement_count,
      .on_batch = decrypt_on_batch,
      .ready = decrypt_ready,
      .ctx = s,
  };
  if (service_open(&s->svc, &settings, &common) != 0) {
    decrypt_free(s);
    return 1;
  }
  s->registry = registry_pg_start(s->svc.loop, s->svc.db, poll_ms, decrypt_on_registry, s);
  if (!s->registry) {
    LOG_ERROR("registry_start_failed");
    decrypt_free(s);
    return 1;
  }
  if (partner_events_start(&s->svc, s->registry, &s->events) != 0) {
    LOG_ERROR("partner_events_start_failed");
    decrypt_free(s);
    return 1;
  }
  uv_signal_init(s->svc.loop, &s->sigterm);
  uv_signal_init(s->svc.loop, &s->sigint);
  s->sigterm.data = s->sigint.data = s;
  uv_signal_start(&s->sigterm, decrypt_on_signal, SIGTERM);
  uv_signal_start(&s->sigint, decrypt_on_signal, SIGINT);
  int status = service_run(&s->svc);
  /* The loader's timer was stopped, not closed: close it now and let the
   * loop run its close callback. */
  decrypt_stop(s);
  registry_pg_stop(s->registry);
  uv_run(s->svc.loop, UV_RUN_DEFAULT);
  uv_loop_close(s->svc.loop);
  partner_events_free(s->events);
  decrypt_free(s);
  return s->exit_status ? s->exit_status : status;
}
