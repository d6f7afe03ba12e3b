/* The partner lifecycle through the running services: a partner onboarded
 * through the admin API (lindungctl), revoked while it sends at a steady
 * rate, reinstated (old tokens dead, new Link works), a partner key rotated
 * with both keys live, the system key rotated under load, and a quota.
 * Admin changes run as real `lindungctl` processes while requests keep
 * flowing; a request counts as "sent after the change was acknowledged"
 * when it was built after the lindungctl process had exited.
 *
 *   it_revocation live <state-file> <nik> <venue_id>
 *       (env NEW_SYSTEM_KEY_ID / NEW_SYSTEM_PUBLIC_KEY: a system key created
 *       and placed in decrypt's key directory, not yet rotated to)
 *   it_revocation after-restart <state-file>
 *       the partner left revoked by `live` is answered PARTNER_REVOKED. */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "partner_kafka.h"
#include "partner_sdk.h"
#include "testing.h"
#include "testing_kafka.h"

extern char **environ;

enum {
  E_NONE = 0,
  E_PARTNER_REVOKED = 3,
  E_UNKNOWN_KEY = 4,
  E_KEY_REVOKED = 5,
  E_RATE_LIMITED = 9,
  E_UNKNOWN_TOKEN = 10,
};

#define MAX_SENT 20000

typedef struct sent {
  uint8_t id[16];
  uint64_t sent_ms;
  int tag;
  int answers;
  int error; /* protocol error, or 0 with a body */
  int decision;
  char token[PARTNER_SDK_MAX_TOKEN + 1];
} sent;

static sent sents[MAX_SENT];
static size_t sent_count;
static partner_sdk *sdks[8]; /* indexed by tag's sdk */
static partner_kafka *kafka;
static char partner_id[40];
static char results_topic[80];
static const char *nik, *venue;
static const char *ctl_path;

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void on_message(const char *topic, const void *key, size_t key_len, const void *value,
                       size_t len) {
  if (strcmp(topic, results_topic) != 0 || key_len != 16) return;
  for (size_t i = sent_count; i-- > 0;) {
    sent *s = &sents[i];
    if (memcmp(s->id, key, 16) != 0) continue;
    partner_sdk_response r;
    char err[256];
    int rc = partner_sdk_open_response(sdks[s->tag & 7], value, len, &r, err, sizeof err);
    s->answers++;
    s->error = rc < 0 ? 100 - rc : rc;
    if (rc == 0 && r.kind == PARTNER_SDK_KIND_SCAN) s->decision = r.verdict.decision;
    if (rc == 0 && r.kind == PARTNER_SDK_KIND_LINK) memcpy(s->token, r.token, sizeof s->token);
    return;
  }
}

/* tag: low 3 bits pick the sdk; higher bits are the phase's own marks. */
static sent *send_request(int tag, partner_sdk_kind kind, const char *token) {
  if (sent_count == MAX_SENT) return NULL;
  sent *s = &sents[sent_count];
  memset(s, 0, sizeof *s);
  s->tag = tag;
  partner_sdk_request req = {.kind = kind,
                             .token = token,
                             .venue_id = venue,
                             .scanned_at_ms = now_ms(),
                             .action = PARTNER_SDK_CHECK_IN,
                             .nik = nik};
  uint8_t buf[PARTNER_SDK_REQUEST_BUFFER];
  size_t len;
  char err[256];
  s->sent_ms = now_ms();
  if (partner_sdk_build_request(sdks[tag & 7], &req, s->id, buf, sizeof buf, &len, err,
                                sizeof err)) {
    fprintf(stderr, "build_request: %s\n", err);
    return NULL;
  }
  if (partner_kafka_send(kafka, partner_id, s->id, buf, len)) return NULL;
  sent_count++;
  return s;
}

/* Waits until every request from index from on has an answer (or 30 s). */
static bool await_answers(size_t from) {
  partner_kafka_flush(kafka, 10000);
  uint64_t deadline = now_ms() + 30000;
  for (;;) {
    bool all = true;
    for (size_t i = from; i < sent_count; i++)
      if (!sents[i].answers) all = false;
    if (all) return true;
    if (now_ms() > deadline) return false;
    partner_kafka_poll(kafka, 20, on_message);
  }
}

/* Starts lindungctl with args (NULL-terminated); returns its pid. */
static pid_t ctl_spawn(const char *const *args) {
  const char *argv[16];
  size_t n = 0;
  argv[n++] = ctl_path;
  for (; *args && n < 15; args++) argv[n++] = *args;
  argv[n] = NULL;
  pid_t pid;
  if (posix_spawn(&pid, ctl_path, NULL, NULL, (char *const *)argv, environ) != 0) return -1;
  return pid;
}

static int ctl_wait(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int ctl_run(const char *const *args) {
  pid_t pid = ctl_spawn(args);
  return pid < 0 ? -1 : ctl_wait(pid);
}

/* Sends from a rotation of senders every period_ms while a lindungctl
 * change runs; lead_ms before starting it, tail_ms after it returned.
 * Returns the time the change was acknowledged (its process exited 0), or
 * 0 when it failed. send_one(i) sends the i-th request of the phase. */
static uint64_t under_load(const char *const *args, unsigned period_ms, unsigned lead_ms,
                           unsigned tail_ms, void (*send_one)(unsigned i)) {
  unsigned i = 0;
  uint64_t start = now_ms(), next = start, acked = 0;
  pid_t pid = -1;
  bool failed = false;
  for (;;) {
    uint64_t now = now_ms();
    if (pid < 0 && !acked && !failed && now >= start + lead_ms) {
      pid = ctl_spawn(args);
      if (pid < 0) failed = true;
    }
    if (pid > 0) {
      int status;
      pid_t done = waitpid(pid, &status, WNOHANG);
      if (done == pid) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
          acked = now_ms();
        else
          failed = true;
        pid = -1;
      }
    }
    if (failed) break;
    if (acked && now >= acked + tail_ms) break;
    if (now >= next) {
      send_one(i++);
      next += period_ms;
    }
    partner_kafka_poll(kafka, 0, on_message);
    sleep_ms(1);
  }
  return failed ? 0 : acked;
}

/* ---- phases -------------------------------------------------------------- */

static char token1[PARTNER_SDK_MAX_TOKEN + 1], token2[PARTNER_SDK_MAX_TOKEN + 1];

static bool do_link(int sdk, char *token_out) {
  size_t from = sent_count;
  sent *s = send_request(sdk, PARTNER_SDK_KIND_LINK, NULL);
  if (!s || !await_answers(from)) return false;
  s = &sents[from];
  if (s->error != 0 || !s->token[0]) {
    fprintf(stderr, "link answered error %d\n", s->error);
    return false;
  }
  memcpy(token_out, s->token, PARTNER_SDK_MAX_TOKEN + 1);
  return true;
}

static int scan_once(int sdk, const char *token) {
  size_t from = sent_count;
  if (!send_request(sdk, PARTNER_SDK_KIND_SCAN, token) || !await_answers(from)) return -1;
  return sents[from].error;
}

static void send_revoke_load(unsigned i) {
  (void)i;
  send_request(0, PARTNER_SDK_KIND_SCAN, token1);
}

static void phase_revoke_under_load(void) {
  size_t from = sent_count;
  const char *args[] = {"partner", "revoke", partner_id, "--reason", "integration test: leak drill",
                        NULL};
  /* Two seconds of load first: on a busy machine a request may take most of
   * a second through the real broker, and those before the revocation
   * should mostly have been answered before it. */
  uint64_t acked = under_load(args, 5, 2000, 1000, send_revoke_load);
  CHECK(acked != 0);
  CHECK(await_answers(from));
  size_t before = 0, after = 0, after_revoked = 0, before_allowed = 0, unanswered = 0;
  for (size_t i = from; i < sent_count; i++) {
    sent *s = &sents[i];
    if (!s->answers) unanswered++;
    if (s->sent_ms > acked) {
      after++;
      if (s->error == E_PARTNER_REVOKED) after_revoked++;
    } else {
      before++;
      if (s->error == 0 && s->decision == 1)
        before_allowed++;
      else if (s->error != E_PARTNER_REVOKED && s->error != E_UNKNOWN_TOKEN)
        fprintf(stderr, "  before the revocation: answer %d\n", s->error);
    }
  }
  fprintf(stderr,
          "revoke under load: %zu sent before the ack (%zu allowed), %zu after (%zu "
          "PARTNER_REVOKED), %zu unanswered\n",
          before, before_allowed, after, after_revoked, unanswered);
  CHECK_EQ_INT(unanswered, 0);
  CHECK(before > 50 && before_allowed > 50);
  CHECK(after > 100);
  CHECK_EQ_INT(after_revoked, after);
}

static void phase_reinstate(void) {
  const char *args[] = {"partner", "reinstate", partner_id, NULL};
  CHECK_EQ_INT(ctl_run(args), 0);
  /* Its users must link again: the old token stays dead. */
  CHECK_EQ_INT(scan_once(0, token1), E_UNKNOWN_TOKEN);
  CHECK(do_link(0, token2));
  CHECK_EQ_INT(scan_once(0, token2), 0);
  CHECK_EQ_INT(sents[sent_count - 1].decision, 1);
  CHECK_EQ_INT(scan_once(0, token1), E_UNKNOWN_TOKEN);
}

/* Key rotation: sdk 0 uses partner key 1, sdk 1 partner key 2. */
static void send_key_load(unsigned i) {
  send_request((int)(i & 1), PARTNER_SDK_KIND_SCAN, token2);
}

static void phase_key_rotation(const char *pk2_hex) {
  const char *add[] = {"key", "add", partner_id, "--key-id", "2", "--public-key", pk2_hex, NULL};
  CHECK_EQ_INT(ctl_run(add), 0);
  size_t from = sent_count;
  const char *revoke[] = {"key", "revoke",   partner_id, "--key-id",
                          "1",   "--reason", "rotation", NULL};
  uint64_t acked = under_load(revoke, 5, 600, 1000, send_key_load);
  CHECK(acked != 0);
  CHECK(await_answers(from));
  size_t k2 = 0, k2_ok = 0, k1_after = 0, k1_after_revoked = 0, k1_before_bad = 0;
  for (size_t i = from; i < sent_count; i++) {
    sent *s = &sents[i];
    if ((s->tag & 7) == 1) {
      k2++;
      if (s->answers && s->error == 0 && s->decision == 1) k2_ok++;
    } else if (s->sent_ms > acked) {
      k1_after++;
      if (s->error == E_KEY_REVOKED) k1_after_revoked++;
    } else if (!s->answers || (s->error != 0 && s->error != E_KEY_REVOKED)) {
      k1_before_bad++;
    }
  }
  fprintf(stderr,
          "key rotation: key 2 %zu/%zu allowed; key 1 after the revocation %zu/%zu KEY_REVOKED\n",
          k2_ok, k2, k1_after_revoked, k1_after);
  CHECK(k2 > 100);
  CHECK_EQ_INT(k2_ok, k2);
  CHECK_EQ_INT(k1_before_bad, 0);
  CHECK(k1_after > 50);
  CHECK_EQ_INT(k1_after_revoked, k1_after);
}

/* System key rotation: sdk 1 names the old system key, sdk 2 the new one
 * (partner key 2 both). The new key is used only once the rotation is
 * acknowledged. */
static uint64_t rotation_acked;
static void send_system_load(unsigned i) {
  int sdk = (rotation_acked == 0 || (i & 1)) ? 1 : 2;
  send_request(sdk, PARTNER_SDK_KIND_SCAN, token2);
}

static unsigned phase_system_rotation_calls;
static void send_system_load_tracked(unsigned i) {
  phase_system_rotation_calls++;
  send_system_load(i);
}

static void phase_system_rotation(void) {
  size_t from = sent_count;
  const char *args[] = {"system-key", "rotate", "--grace", "3600", NULL};
  /* under_load does not tell us the ack before it returns; poll for it by
   * watching the process in a loop of our own instead. */
  pid_t pid = -1;
  uint64_t start = now_ms(), next = start;
  unsigned i = 0;
  bool failed = false;
  for (;;) {
    uint64_t now = now_ms();
    if (pid < 0 && !rotation_acked && now >= start + 600) {
      pid = ctl_spawn(args);
      if (pid < 0) failed = true;
    }
    if (pid > 0) {
      int status;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
          rotation_acked = now_ms();
        else
          failed = true;
        pid = -1;
      }
    }
    if (failed || (rotation_acked && now >= rotation_acked + 1500)) break;
    if (now >= next) {
      send_system_load_tracked(i++);
      next += 5;
    }
    partner_kafka_poll(kafka, 0, on_message);
    sleep_ms(1);
  }
  CHECK(!failed);
  CHECK(await_answers(from));
  size_t old_n = 0, old_ok = 0, new_n = 0, new_ok = 0;
  for (size_t j = from; j < sent_count; j++) {
    sent *s = &sents[j];
    bool ok = s->answers && s->error == 0 && s->decision == 1;
    if ((s->tag & 7) == 1)
      old_n++, old_ok += ok;
    else
      new_n++, new_ok += ok;
    if (!ok) fprintf(stderr, "  system rotation: sdk %d answer %d\n", s->tag & 7, s->error);
  }
  fprintf(stderr, "system key rotation: old key %zu/%zu allowed, new key %zu/%zu allowed\n", old_ok,
          old_n, new_ok, new_n);
  CHECK(old_n > 100 && new_n > 50);
  CHECK_EQ_INT(old_ok, old_n);
  CHECK_EQ_INT(new_ok, new_n);
  /* Nothing newer to rotate to: refused, nothing changes. */
  CHECK_EQ_INT(ctl_run(args), 1);
}

static void phase_quota(void) {
  const char *set[] = {"partner", "quota", partner_id, "--rate", "40", "--burst", "10", NULL};
  CHECK_EQ_INT(ctl_run(set), 0);
  size_t from = sent_count;
  uint64_t start = now_ms(), next = start;
  while (now_ms() < start + 3000) {
    if (now_ms() >= next) {
      send_request(1, PARTNER_SDK_KIND_SCAN, token2);
      next += 5;
    }
    partner_kafka_poll(kafka, 0, on_message);
    sleep_ms(1);
  }
  CHECK(await_answers(from));
  size_t accepted = 0, limited = 0;
  for (size_t i = from; i < sent_count; i++) {
    if (sents[i].error == E_RATE_LIMITED)
      limited++;
    else if (sents[i].error == 0)
      accepted++;
  }
  double seconds = (double)(sents[sent_count - 1].sent_ms - sents[from].sent_ms) / 1000.0;
  double expected = 10 + 40 * seconds;
  fprintf(stderr,
          "quota 40/s burst 10 over %.2f s: %zu accepted (expected %.0f), %zu RATE_LIMITED\n",
          seconds, accepted, expected, limited);
  CHECK(accepted >= expected * 0.9 && accepted <= expected * 1.1);
  CHECK(limited > 0);
  /* Lifted live: a burst well over the old rate goes through. */
  const char *lift[] = {"partner", "quota", partner_id, "--rate", "0", NULL};
  CHECK_EQ_INT(ctl_run(lift), 0);
  from = sent_count;
  for (int i = 0; i < 100; i++) send_request(1, PARTNER_SDK_KIND_SCAN, token2);
  CHECK(await_answers(from));
  size_t lifted_limited = 0;
  for (size_t i = from; i < sent_count; i++) lifted_limited += sents[i].error == E_RATE_LIMITED;
  CHECK_EQ_INT(lifted_limited, 0);
}

/* ---- setup ---------------------------------------------------------------- */

static int open_sdk(int slot, const uint8_t sk[32], uint32_t key_id, uint32_t system_key_id,
                    const char *system_pk) {
  partner_sdk_credentials c = {.partner_id = partner_id,
                               .partner_key_id = key_id,
                               .system_key_id = system_key_id,
                               .system_public_key = system_pk,
                               .secret_key = sk};
  char err[256];
  if (partner_sdk_open(&c, &sdks[slot], err, sizeof err)) {
    fprintf(stderr, "partner_sdk_open: %s\n", err);
    return -1;
  }
  return 0;
}

static int open_kafka(const char *brokers) {
  snprintf(results_topic, sizeof results_topic, "scan.results.%s", partner_id);
  /* `lindungctl partner add` created the new partner's topics; the reader
   * starts at the end of its results topic. */
  char err[256];
  const char *topics[] = {results_topic};
  for (int attempt = 0; attempt < 20 && !kafka; attempt++) {
    kafka = partner_kafka_open(brokers, testing_kafka_security(), topics, 1, err, sizeof err);
    if (!kafka) sleep_ms(250);
  }
  if (!kafka) fprintf(stderr, "kafka: %s\n", err);
  return kafka ? 0 : -1;
}

static int mode_live(const char *state_path) {
  const char *brokers = getenv("LINDUNG_KAFKA_BROKERS");
  const char *sys1 = getenv("LINDUNG_SYSTEM_KEY_ID"),
             *sys1_pk = getenv("LINDUNG_SYSTEM_PUBLIC_KEY");
  const char *sys2 = getenv("NEW_SYSTEM_KEY_ID"), *sys2_pk = getenv("NEW_SYSTEM_PUBLIC_KEY");
  if (!brokers || !sys1 || !sys1_pk || !sys2 || !sys2_pk) {
    fprintf(stderr, "missing environment (stack.env and NEW_SYSTEM_KEY_*)\n");
    return 2;
  }
  uint8_t rnd[4];
  randombytes_buf(rnd, sizeof rnd);
  char rnd_hex[9];
  hex_encode(rnd, 4, rnd_hex);
  snprintf(partner_id, sizeof partner_id, "it-rev-%s", rnd_hex);
  uint8_t pk1[32], sk1[32], pk2[32], sk2[32];
  char pk1_hex[65], pk2_hex[65];
  partner_sdk_keygen(pk1, sk1);
  partner_sdk_keygen(pk2, sk2);
  hex_encode(pk1, 32, pk1_hex);
  hex_encode(pk2, 32, pk2_hex);
  if (open_sdk(0, sk1, 1, (uint32_t)atoi(sys1), sys1_pk) ||
      open_sdk(1, sk2, 2, (uint32_t)atoi(sys1), sys1_pk) ||
      open_sdk(2, sk2, 2, (uint32_t)atoi(sys2), sys2_pk))
    return 1;
  const char *add[] = {"partner",  "add", partner_id,     "--name", "Integration Revocation",
                       "--key-id", "1",   "--public-key", pk1_hex,  NULL};
  CHECK_EQ_INT(ctl_run(add), 0);
  if (open_kafka(brokers)) return 1;
  /* Onboarded live: the first Link works without waiting for a poll. */
  CHECK(do_link(0, token1));
  CHECK_EQ_INT(scan_once(0, token1), 0);
  if (testing_failures) return testing_summary();

  RUN(phase_revoke_under_load);
  RUN(phase_reinstate);
  phase_key_rotation(pk2_hex);
  RUN(phase_system_rotation);
  RUN(phase_quota);

  /* Left revoked, for a service started afterwards (run.sh restarts ingest). */
  const char *revoke[] = {"partner", "revoke", partner_id, "--reason", "integration test: final",
                          NULL};
  CHECK_EQ_INT(ctl_run(revoke), 0);
  FILE *f = fopen(state_path, "w");
  if (f) {
    char sk2_hex[65];
    hex_encode(sk2, 32, sk2_hex);
    fprintf(f, "%s %s %s %s\n", partner_id, sk2_hex, token2, venue);
    sodium_memzero(sk2_hex, sizeof sk2_hex);
    fclose(f);
  }
  sodium_memzero(sk1, sizeof sk1);
  sodium_memzero(sk2, sizeof sk2);
  partner_kafka_close(kafka);
  return testing_summary();
}

static int mode_after_restart(const char *state_path) {
  const char *brokers = getenv("LINDUNG_KAFKA_BROKERS");
  const char *sys1 = getenv("LINDUNG_SYSTEM_KEY_ID"),
             *sys1_pk = getenv("LINDUNG_SYSTEM_PUBLIC_KEY");
  FILE *f = fopen(state_path, "r");
  char sk_hex[65];
  static char venue_buf[80];
  if (!f || fscanf(f, "%39s %64s %64s %79s", partner_id, sk_hex, token2, venue_buf) != 4) {
    fprintf(stderr, "cannot read %s\n", state_path);
    if (f) fclose(f);
    return 2;
  }
  fclose(f);
  venue = venue_buf;
  uint8_t sk[32];
  if (hex_decode(sk_hex, sk, 32) || open_sdk(1, sk, 2, (uint32_t)atoi(sys1), sys1_pk)) return 1;
  if (open_kafka(brokers)) return 1;
  size_t from = sent_count;
  for (int i = 0; i < 5; i++) send_request(1, PARTNER_SDK_KIND_SCAN, token2);
  CHECK(await_answers(from));
  for (size_t i = from; i < sent_count; i++) CHECK_EQ_INT(sents[i].error, E_PARTNER_REVOKED);
  partner_kafka_close(kafka);
  return testing_summary();
}

int main(int argc, char **argv) {
  if (sodium_init() < 0) return 1;
  signal(SIGPIPE, SIG_IGN);
  const char *bin = getenv("LINDUNG_BIN_DIR");
  static char path[4096];
  snprintf(path, sizeof path, "%s/lindungctl", bin ? bin : ".");
  ctl_path = path;
  if (argc >= 5 && !strcmp(argv[1], "live")) {
    nik = argv[3];
    venue = argv[4];
    return mode_live(argv[2]);
  }
  if (argc >= 3 && !strcmp(argv[1], "after-restart")) return mode_after_restart(argv[2]);
  fprintf(stderr, "usage: it_revocation live <state> <nik> <venue> | after-restart <state>\n");
  return 2;
}
