/* revbench_round: one timed revocation. Scans go out every period while
 * `lindungctl partner revoke` runs; the clock starts when that command
 * returns, and stops at (a) the first PARTNER_REVOKED answer and (b) the
 * answer to the first request sent after the return (from then on every
 * request must be refused). */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "revbench.h"
#include "service_clock.h"

#define E_PARTNER_REVOKED 3

int revbench_round(revbench *b, const char *token, int period_ms, revbench_timing *out) {
  b->request_count = 0;
  const char *revoke[] = {"partner", "revoke", b->partner_id, "--reason", "benchmark", NULL};
  double start = service_monotonic_s(), next = start, spawned = 0, returned = 0;
  int pid = -1;
  double first_revoked = 0, first_after_answer = 0;
  while (service_monotonic_s() < start + 10) {
    double t = service_monotonic_s();
    if (pid < 0 && !returned && t > start + 0.3) {
      if (revbench_ctl(b, revoke, &pid)) break;
      spawned = t;
    }
    if (pid > 0) {
      int status;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        returned = service_monotonic_s();
        pid = -1;
      }
    }
    if (t >= next) {
      revbench_send(b, PARTNER_SDK_KIND_SCAN, token);
      next += period_ms / 1000.0;
    }
    revbench_poll(b, 0);
    if (returned) {
      for (size_t i = 0; i < b->request_count; i++) {
        const revbench_request *q = &b->requests[i];
        /* An answer that beat the return counts as 0. */
        if (q->answered && q->error == E_PARTNER_REVOKED &&
            (!first_revoked || q->answered < first_revoked))
          first_revoked = q->answered;
        if (!first_after_answer && q->sent > returned && q->answered)
          first_after_answer = q->answered;
      }
      if (first_revoked && first_after_answer && t > returned + 0.2) break;
    }
    usleep(200);
  }
  if (!returned || !first_revoked || !first_after_answer) return -1;
  out->first_ms = first_revoked > returned ? (first_revoked - returned) * 1000 : 0;
  out->cut_ms = (first_after_answer - returned) * 1000;
  out->ctl_ms = (returned - spawned) * 1000;
  return 0;
}

static int revbench_by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double revbench_quantile(double *v, size_t n, double p) {
  qsort(v, n, sizeof *v, revbench_by_value);
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return v[i < n ? i : n - 1];
}
