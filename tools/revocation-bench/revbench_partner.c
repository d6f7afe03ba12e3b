/* revbench_partner: the benchmark's own partner: onboarded through
 * lindungctl with fresh keys, sending Links and Scans and matching each
 * answer to its request. */
#include <fcntl.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hex.h"
#include "revbench.h"
#include "service_clock.h"
#include "topics.h"

extern char **environ;

/* The partner_kafka callback takes no context: one benchmark per process. */
static revbench *polled;

int revbench_read_nik(const char *path, char nik[REVBENCH_NIK_BUFFER]) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  if (!f) return -1;
  bool ok = fgets(nik, REVBENCH_NIK_BUFFER, f) != NULL;
  if (f != stdin) fclose(f);
  nik[strcspn(nik, "\r\n")] = '\0';
  return ok && strlen(nik) == 16 && strspn(nik, "0123456789") == 16 ? 0 : -1;
}

static void revbench_on_message(const char *t, const void *key, size_t key_len, const void *value,
                                size_t len) {
  revbench *b = polled;
  if (strcmp(t, b->topic) || key_len != 16) return;
  for (size_t i = b->request_count; i-- > 0;) {
    revbench_request *q = &b->requests[i];
    if (memcmp(q->id, key, 16)) continue;
    if (q->answered) return;
    partner_sdk_response r;
    char err[256];
    int rc = partner_sdk_open_response(b->sdk, value, len, &r, err, sizeof err);
    q->answered = service_monotonic_s();
    q->error = rc;
    if (rc == 0 && r.kind == PARTNER_SDK_KIND_LINK) memcpy(q->token, r.token, sizeof r.token);
    return;
  }
}

void revbench_poll(revbench *b, int wait_ms) {
  polled = b;
  partner_kafka_poll(b->kafka, wait_ms, revbench_on_message);
}

revbench_request *revbench_send(revbench *b, partner_sdk_kind kind, const char *token) {
  if (b->request_count == REVBENCH_MAX_REQUESTS) b->request_count = 0; /* rounds are independent */
  revbench_request *q = &b->requests[b->request_count];
  memset(q, 0, sizeof *q);
  partner_sdk_request r = {.kind = kind,
                           .token = token,
                           .venue_id = b->venue,
                           .nik = b->nik,
                           .action = PARTNER_SDK_CHECK_IN,
                           .scanned_at_ms = service_now_ms()};
  uint8_t buf[PARTNER_SDK_REQUEST_BUFFER];
  size_t len;
  char err[256];
  if (partner_sdk_build_request(b->sdk, &r, q->id, buf, sizeof buf, &len, err, sizeof err))
    return NULL;
  q->sent = service_monotonic_s();
  if (partner_kafka_send(b->kafka, b->partner_id, q->id, buf, len)) return NULL;
  b->request_count++;
  return q;
}

int revbench_ctl(const revbench *b, const char *const *args, int *pid_out) {
  const char *argv[16];
  size_t n = 0;
  argv[n++] = b->ctl_path;
  for (; *args && n < 15; args++) argv[n++] = *args;
  argv[n] = NULL;
  pid_t pid;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  int rc = posix_spawn(&pid, b->ctl_path, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) return -1;
  if (pid_out) {
    *pid_out = pid;
    return 0;
  }
  int status;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int revbench_link(revbench *b, char token[PARTNER_SDK_MAX_TOKEN + 1]) {
  revbench_request *q = revbench_send(b, PARTNER_SDK_KIND_LINK, NULL);
  if (!q) return -1;
  partner_kafka_flush(b->kafka, 5000);
  double deadline = service_monotonic_s() + 20;
  while (!q->answered && service_monotonic_s() < deadline) revbench_poll(b, 10);
  if (q->error != 0 || !q->token[0]) return -1;
  memcpy(token, q->token, PARTNER_SDK_MAX_TOKEN + 1);
  return 0;
}

int revbench_onboard(revbench *b, const char *brokers, const kafka_security *security,
                     uint32_t system_key_id, const char *system_public_key) {
  uint8_t rnd[4], pk[32], sk[32];
  char rnd_hex[9], pk_hex[65];
  randombytes_buf(rnd, 4);
  hex_encode(rnd, 4, rnd_hex);
  snprintf(b->partner_id, sizeof b->partner_id, "bench-rev-%s", rnd_hex);
  topics_scan_results(b->partner_id, b->topic, sizeof b->topic);
  partner_sdk_keygen(pk, sk);
  hex_encode(pk, 32, pk_hex);
  partner_sdk_credentials cred = {.partner_id = b->partner_id,
                                  .partner_key_id = 1,
                                  .system_key_id = system_key_id,
                                  .system_public_key = system_public_key,
                                  .secret_key = sk};
  char err[256];
  int rc = partner_sdk_open(&cred, &b->sdk, err, sizeof err);
  sodium_memzero(sk, sizeof sk);
  if (rc) {
    fprintf(stderr, "lindung-revocation-bench: %s\n", err);
    return -1;
  }
  const char *add[] = {"partner",  "add", b->partner_id, "--name", "Revocation Benchmark",
                       "--key-id", "1",   "--public-key", pk_hex, NULL};
  if (revbench_ctl(b, add, NULL) != 0) return -1;
  const char *topics[] = {b->topic};
  for (int i = 0; i < 20 && !b->kafka; i++) {
    b->kafka = partner_kafka_open(brokers, security, topics, 1, err, sizeof err);
    if (!b->kafka) usleep(250000);
  }
  return b->kafka ? 0 : -1;
}

void revbench_close(revbench *b) {
  if (b->kafka) partner_kafka_close(b->kafka);
  if (b->sdk) partner_sdk_close(b->sdk);
  sodium_memzero(b->nik, sizeof b->nik);
}
