/* process_guard: keeps a key-holding process's memory out of core dumps.
 *
 * Every Lindung service holds key material (the system key, the NIK and
 * token keys, the audit signing key, the admin token). A core dump would
 * write it to disk, and a dumpable process can be read through ptrace by
 * any process of the same user. Services call process_guard_secrets() once,
 * before they read a secret. */
#ifndef LINDUNG_PROCESS_GUARD_H
#define LINDUNG_PROCESS_GUARD_H

#include <stddef.h>

/* No core file, not dumpable: 0, or -1 with the reason in err. */
int process_guard_secrets(char *err, size_t err_len);

#endif
