/* lindung-revocation-bench: how fast a revocation cuts a partner off.
 *
 * Onboards its own partner through lindungctl, links one person, then runs
 * N rounds of: reinstate, link again, send scans every --period-ms, run
 * `lindungctl partner revoke`, and measure from the moment that command
 * returned to (a) the first PARTNER_REVOKED answer and (b) the answer of
 * the first request sent after the return (every request from then on must
 * be refused). Prints p50/p99/max of both and the lindungctl run time.
 * Not a test: figures only. Needs stack.env (LINDUNG_KAFKA_BROKERS,
 * LINDUNG_SYSTEM_KEY_ID, LINDUNG_SYSTEM_PUBLIC_KEY, LINDUNG_BIN_DIR,
 * LINDUNG_ADMIN_URL, LINDUNG_ADMIN_CACERT, LINDUNG_ADMIN_TOKEN_FILE), a green
 * NIK (--nik-file, never argv) and a venue. */
#include <fcntl.h>
#include <getopt.h>
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

#include "config.h"
#include "hex.h"
#include "partner_kafka.h"
#include "partner_sdk.h"

extern char **environ;

#define BENCH_MAX 4096
#define E_PARTNER_REVOKED 3

typedef struct bench_req {
  uint8_t id[16];
  double sent;
  double answered;
  int error;
  char token[PARTNER_SDK_MAX_TOKEN + 1];
} bench_req;

static bench_req reqs[BENCH_MAX];
static size_t req_count;
static partner_sdk *sdk;
static partner_kafka *kafka;
static char partner_id[40], topic[80], ctl_path[4096];
static const char *venue;
static char nik[64];

/* The NIK comes from a file ("-": stdin), never argv, which ps shows. */
static int read_nik(const char *path) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  if (!f) return -1;
  bool ok = fgets(nik, sizeof nik, f) != NULL;
  if (f != stdin) fclose(f);
  nik[strcspn(nik, "\r\n")] = '\0';
  return ok && strlen(nik) == 16 && strspn(nik, "0123456789") == 16 ? 0 : -1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_message(const char *t, const void *key, size_t key_len, const void *value,
                       size_t len) {
  if (strcmp(t, topic) || key_len != 16) return;
  for (size_t i = req_count; i-- > 0;) {
    if (memcmp(reqs[i].id, key, 16)) continue;
    if (reqs[i].answered) return;
    partner_sdk_response r;
    char err[256];
    int rc = partner_sdk_open_response(sdk, value, len, &r, err, sizeof err);
    reqs[i].answered = now_s();
    reqs[i].error = rc;
    if (rc == 0 && r.kind == PARTNER_SDK_KIND_LINK) memcpy(reqs[i].token, r.token, sizeof r.token);
    return;
  }
}

static bench_req *bench_send(partner_sdk_kind kind, const char *token) {
  if (req_count == BENCH_MAX) req_count = 0; /* rounds are independent */
  bench_req *q = &reqs[req_count];
  memset(q, 0, sizeof *q);
  partner_sdk_request r = {
      .kind = kind, .token = token, .venue_id = venue, .nik = nik, .action = PARTNER_SDK_CHECK_IN};
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  r.scanned_at_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
  uint8_t buf[PARTNER_SDK_REQUEST_BUFFER];
  size_t len;
  char err[256];
  if (partner_sdk_build_request(sdk, &r, q->id, buf, sizeof buf, &len, err, sizeof err))
    return NULL;
  q->sent = now_s();
  if (partner_kafka_send(kafka, partner_id, q->id, buf, len)) return NULL;
  req_count++;
  return q;
}

static int ctl(const char *const *args, pid_t *pid_out) {
  const char *argv[16];
  size_t n = 0;
  argv[n++] = ctl_path;
  for (; *args && n < 15; args++) argv[n++] = *args;
  argv[n] = NULL;
  pid_t pid;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  int rc = posix_spawn(&pid, ctl_path, &fa, NULL, (char *const *)argv, environ);
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

static int link_token(char *out) {
  bench_req *q = bench_send(PARTNER_SDK_KIND_LINK, NULL);
  if (!q) return -1;
  size_t idx = (size_t)(q - reqs);
  partner_kafka_flush(kafka, 5000);
  double deadline = now_s() + 20;
  while (!reqs[idx].answered && now_s() < deadline) partner_kafka_poll(kafka, 10, on_message);
  if (reqs[idx].error != 0 || !reqs[idx].token[0]) return -1;
  memcpy(out, reqs[idx].token, PARTNER_SDK_MAX_TOKEN + 1);
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p) {
  qsort(v, n, sizeof *v, cmp_double);
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return v[i < n ? i : n - 1];
}

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  int rounds = 20, period_ms = 2;
  static const struct option opts[] = {
      {"rounds", required_argument, NULL, 'r'}, {"period-ms", required_argument, NULL, 'p'},
      {"nik-file", required_argument, NULL, 'n'}, {"venue", required_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
      case 'r':
        rounds = atoi(optarg);
        break;
      case 'p':
        period_ms = atoi(optarg);
        break;
      case 'n':
        if (read_nik(optarg) != 0) {
          fprintf(stderr, "lindung-revocation-bench: --nik-file holds no 16-digit NIK\n");
          return 2;
        }
        break;
      case 'v':
        venue = optarg;
        break;
      default:
        printf(
            "usage: lindung-revocation-bench --nik-file <file with a green NIK>|- --venue <venue id> "
            "[--rounds 20] [--period-ms 2]\n");
        return c == 'h' ? 0 : 2;
    }
  }
  const char *brokers = getenv("LINDUNG_KAFKA_BROKERS"), *bin = getenv("LINDUNG_BIN_DIR");
  const char *sys_id = getenv("LINDUNG_SYSTEM_KEY_ID"),
             *sys_pk = getenv("LINDUNG_SYSTEM_PUBLIC_KEY");
  if (!nik[0] || !venue || !brokers || !bin || !sys_id || !sys_pk || rounds < 1 || rounds > 1000 ||
      period_ms < 1) {
    fprintf(stderr, "lindung-revocation-bench: needs --nik-file, --venue and stack.env (see --help)\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  signal(SIGPIPE, SIG_IGN);
  kafka_security security;
  char security_err[256];
  if (ksec_load_env(&security, security_err, sizeof security_err)) {
    fprintf(stderr, "lindung-revocation-bench: %s\n", security_err);
    return 2;
  }
  snprintf(ctl_path, sizeof ctl_path, "%s/lindungctl", bin);
  uint8_t rnd[4], pk[32], sk[32];
  char rnd_hex[9], pk_hex[65];
  randombytes_buf(rnd, 4);
  hex_encode(rnd, 4, rnd_hex);
  snprintf(partner_id, sizeof partner_id, "bench-rev-%s", rnd_hex);
  snprintf(topic, sizeof topic, "scan.results.%s", partner_id);
  partner_sdk_keygen(pk, sk);
  hex_encode(pk, 32, pk_hex);
  partner_sdk_credentials cred = {.partner_id = partner_id,
                                  .partner_key_id = 1,
                                  .system_key_id = (uint32_t)atoi(sys_id),
                                  .system_public_key = sys_pk,
                                  .secret_key = sk};
  char err[256];
  if (partner_sdk_open(&cred, &sdk, err, sizeof err)) {
    fprintf(stderr, "lindung-revocation-bench: %s\n", err);
    return 1;
  }
  sodium_memzero(sk, sizeof sk);
  const char *add[] = {"partner",  "add", partner_id,     "--name", "Revocation Benchmark",
                       "--key-id", "1",   "--public-key", pk_hex,   NULL};
  if (ctl(add, NULL) != 0) return 1;
  const char *topics[] = {topic};
  for (int i = 0; i < 20 && !kafka; i++) {
    kafka = partner_kafka_open(brokers, &security, topics, 1, err, sizeof err);
    if (!kafka) usleep(250000);
  }
  if (!kafka) return 1;

  double first[1000], cut[1000], ctl_time[1000];
  int done = 0;
  for (int round = 0; round < rounds; round++) {
    char token[PARTNER_SDK_MAX_TOKEN + 1];
    if (round > 0) {
      const char *reinstate[] = {"partner", "reinstate", partner_id, NULL};
      if (ctl(reinstate, NULL) != 0) break;
    }
    if (link_token(token)) {
      fprintf(stderr, "round %d: link failed\n", round);
      break;
    }
    req_count = 0;
    const char *revoke[] = {"partner", "revoke", partner_id, "--reason", "benchmark", NULL};
    double start = now_s(), next = start, spawned = 0, returned = 0;
    pid_t pid = -1;
    double first_revoked = 0, first_after_answer = 0;
    while (now_s() < start + 10) {
      double t = now_s();
      if (pid < 0 && !returned && t > start + 0.3) {
        if (ctl(revoke, &pid)) break;
        spawned = t;
      }
      if (pid > 0) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
          returned = now_s();
          pid = -1;
        }
      }
      if (t >= next) {
        bench_send(PARTNER_SDK_KIND_SCAN, token);
        next += period_ms / 1000.0;
      }
      partner_kafka_poll(kafka, 0, on_message);
      if (returned) {
        for (size_t i = 0; i < req_count; i++) {
          /* An answer that beat the return counts as 0. */
          if (reqs[i].answered && reqs[i].error == E_PARTNER_REVOKED &&
              (!first_revoked || reqs[i].answered < first_revoked))
            first_revoked = reqs[i].answered;
          if (!first_after_answer && reqs[i].sent > returned && reqs[i].answered)
            first_after_answer = reqs[i].answered;
        }
        if (first_revoked && first_after_answer && t > returned + 0.2) break;
      }
      usleep(200);
    }
    if (!returned || !first_revoked || !first_after_answer) {
      fprintf(stderr, "round %d: no PARTNER_REVOKED answer after the revocation returned\n", round);
      break;
    }
    first[done] = first_revoked > returned ? (first_revoked - returned) * 1000 : 0;
    cut[done] = (first_after_answer - returned) * 1000;
    ctl_time[done] = (returned - spawned) * 1000;
    done++;
  }
  if (done == 0) return 1;
  printf("revocations: %d (scans every %d ms, one ingest consumer group)\n", done, period_ms);
  printf("lindungctl partner revoke run time       ms: p50 %.1f  p99 %.1f  max %.1f\n",
         pct(ctl_time, done, 0.5), pct(ctl_time, done, 0.99), pct(ctl_time, done, 1));
  printf("return -> first PARTNER_REVOKED answer   ms: p50 %.1f  p99 %.1f  max %.1f\n",
         pct(first, done, 0.5), pct(first, done, 0.99), pct(first, done, 1));
  printf("return -> answer to first later request  ms: p50 %.1f  p99 %.1f  max %.1f\n",
         pct(cut, done, 0.5), pct(cut, done, 0.99), pct(cut, done, 1));
  const char *final[] = {"partner", "revoke", partner_id, "--reason", "benchmark finished", NULL};
  pid_t pid;
  if (ctl(final, &pid) == 0) waitpid(pid, NULL, 0);
  partner_kafka_close(kafka);
  partner_sdk_close(sdk);
  return done == rounds ? 0 : 1;
}
