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
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "config.h"
#include "revbench.h"

/* One line of figures: p50, p99 and max of n values. */
static void print_quantiles(const char *what, double *v, size_t n) {
  printf("%-40s ms: p50 %.1f  p99 %.1f  max %.1f\n", what, revbench_quantile(v, n, 0.5),
         revbench_quantile(v, n, 0.99), revbench_quantile(v, n, 1));
}

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  static revbench b;
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
        if (revbench_read_nik(optarg, b.nik) != 0) {
          fprintf(stderr, "lindung-revocation-bench: --nik-file holds no 16-digit NIK\n");
          return 2;
        }
        break;
      case 'v':
        b.venue = optarg;
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
  if (!b.nik[0] || !b.venue || !brokers || !bin || !sys_id || !sys_pk || rounds < 1 || rounds > 1000 ||
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
  snprintf(b.ctl_path, sizeof b.ctl_path, "%s/lindungctl", bin);
  if (revbench_onboard(&b, brokers, &security, (uint32_t)atoi(sys_id), sys_pk)) return 1;

  double first[1000], cut[1000], ctl_time[1000];
  int done = 0;
  for (int round = 0; round < rounds; round++) {
    char token[PARTNER_SDK_MAX_TOKEN + 1];
    if (round > 0) {
      const char *reinstate[] = {"partner", "reinstate", b.partner_id, NULL};
      if (revbench_ctl(&b, reinstate, NULL) != 0) break;
    }
    if (revbench_link(&b, token)) {
      fprintf(stderr, "round %d: link failed\n", round);
      break;
    }
    revbench_timing timing;
    if (revbench_round(&b, token, period_ms, &timing)) {
      fprintf(stderr, "round %d: no PARTNER_REVOKED answer after the revocation returned\n", round);
      break;
    }
    ctl_time[done] = timing.ctl_ms;
    first[done] = timing.first_ms;
    cut[done++] = timing.cut_ms;
  }
  if (done == 0) return 1;
  printf("revocations: %d (scans every %d ms, one ingest consumer group)\n", done, period_ms);
  print_quantiles("lindungctl partner revoke run time", ctl_time, (size_t)done);
  print_quantiles("return -> first PARTNER_REVOKED answer", first, (size_t)done);
  print_quantiles("return -> answer to first later request", cut, (size_t)done);
  const char *final[] = {"partner", "revoke", b.partner_id, "--reason", "benchmark finished", NULL};
  int pid;
  if (revbench_ctl(&b, final, &pid) == 0) waitpid(pid, NULL, 0);
  revbench_close(&b);
  return done == rounds ? 0 : 1;
}
