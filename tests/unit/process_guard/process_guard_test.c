/* process_guard: a guarded process writes no core file and is not dumpable. */
#include "process_guard.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include "testing.h"

static void test_guard_forbids_core_dumps(void) {
  char err[128] = "";
  CHECK_EQ_INT(process_guard_secrets(err, sizeof err), 0);
  struct rlimit core;
  CHECK_EQ_INT(getrlimit(RLIMIT_CORE, &core), 0);
  CHECK_EQ_INT(core.rlim_cur, 0);
  CHECK_EQ_INT(core.rlim_max, 0);
#if !defined(__SANITIZE_ADDRESS__)
  CHECK_EQ_INT(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
#endif
}

int main(void) {
  RUN(test_guard_forbids_core_dumps);
  return testing_summary();
}
