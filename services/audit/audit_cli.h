/* audit_cli: `lindung-audit verify`, against the database or a capture of
 * audit.log. Prefix audit_cli_. */
#ifndef LINDUNG_AUDIT_CLI_H
#define LINDUNG_AUDIT_CLI_H

/* argv[0] is "verify". Returns the process exit status: 0 intact, 1 broken,
 * 2 usage or access error. */
int audit_cli_verify(int argc, char **argv);

#endif
