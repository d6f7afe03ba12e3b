/* process_guard: no core dumps of key-holding processes (process_guard.h). */
#include "process_guard.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int process_guard_secrets(char *err, size_t err_len) {
  const struct rlimit no_core = {0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) {
    snprintf(err, err_len, "cannot disable core dumps: %s", strerror(errno));
    return -1;
  }
#if defined(__SANITIZE_ADDRESS__)
  /* LeakSanitizer attaches to the process with ptrace at exit, which a
   * process that is not dumpable refuses: sanitizer builds stay dumpable
   * (still with no core file). */
  (void)err_len;
#else
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    snprintf(err, err_len, "cannot mark the process not dumpable: %s", strerror(errno));
    return -1;
  }
#endif
  return 0;
}
