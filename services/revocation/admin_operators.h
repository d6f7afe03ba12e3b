/* admin_operators: who may use the admin API. Each operator has a name (the
 * actor of every audit record its requests cause) and a random bearer
 * token of their own, of which only the SHA-256 is kept, one line per
 * operator in the operators file:
 *
 *     # comment
 *     rina.ops:<64 hex: sha256 of the token>
 *
 * (`lindungctl operator add NAME` makes a token and its line; a line can
 * also be made by hand with sha256sum.) No token is shared, and the actor
 * comes from the token that authenticated, never from what a client says.
 * Parsing and matching are pure; admin_operators_refresh() re-reads the
 * file when it changed, so adding or removing an operator needs no restart.
 * Prefix admin_operators_. Nothing here logs or exits. */
#ifndef LINDUNG_ADMIN_OPERATORS_H
#define LINDUNG_ADMIN_OPERATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ADMIN_OPERATORS_MAX 256
#define ADMIN_OPERATOR_NAME_MAX 64

typedef struct admin_operator {
  char name[ADMIN_OPERATOR_NAME_MAX + 1];
  uint8_t token_sha256[32];
} admin_operator;

typedef struct admin_operators {
  admin_operator list[ADMIN_OPERATORS_MAX];
  size_t count;
  /* The file it was read from, and what it looked like then. */
  char path[1024];
  ino_t inode;
  off_t size;
  int64_t mtime_ns;
  uint64_t checked_at_ms;
} admin_operators;

/* True for 1..64 characters of A-Z a-z 0-9 . _ @ - . */
bool admin_operator_name_valid(const char *name);

/* Parses the file's text into ops->list (count 0 for a file of comments);
 * -1 with err (naming the line, never quoting it) on any bad line or a
 * duplicate name, ops unchanged. */
int admin_operators_parse(const char *text, admin_operators *ops, char *err, size_t err_len);

/* The operator whose token authorization ("Bearer <token>") carries, or
 * NULL. Every entry is compared (in constant time, over hashes), so timing
 * tells neither which operator nor how close a guess came. */
const admin_operator *admin_operators_match(const admin_operators *ops, const char *authorization);

/* Reads path (it must not be writable by group or others: whoever can
 * write it can make themselves an operator; and it must name at least one
 * operator). 0 or -1 with err, ops unchanged. */
int admin_operators_load(admin_operators *ops, const char *path, char *err, size_t err_len);

/* Re-reads the file when it changed since the last look (looked at most
 * once a second, at now_ms). 1 when reloaded, 0 when unchanged, -1 with
 * err when the new content is refused (the previous operators stay). */
int admin_operators_refresh(admin_operators *ops, uint64_t now_ms, char *err, size_t err_len);

#endif
