/* audit_cli: `lindung-audit verify`, against the database or a capture of
 * audit.log. Prefix audit_cli_. */
#ifndef LINDUNG_AUDIT_CLI_H
#define LINDUNG_AUDIT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* argv[0] is "verify". Returns the process exit status: 0 intact, 1 broken,
 * 2 usage or access error. */
int audit_cli_verify(int argc, char **argv);

/* Verifies a capture of audit.log read from f (one hex line per message,
 * as lindung-audit-tail --raw prints them); path names it in messages.
 * key is the trusted checkpoint key when have_key. Returns the exit status
 * as above. */
int audit_cli_verify_stream(FILE *f, const char *path, const uint8_t *key, bool have_key);

#endif
