/* lindungctl operator add/remove/list: who may use the admin API. Each
 * operator gets a random token of their own (written once, 0600, to the
 * file they name); the operators file (LINDUNG_ADMIN_OPERATORS_FILE, or
 * --operators-file) keeps only the token's SHA-256 next to the name, which
 * lindung-revocation records as the actor of every change the token makes.
 * The file is replaced whole (write, sync, rename), so the service, which
 * re-reads it when it changes, never sees half of it. Format and checks:
 * services/revocation/admin_operators.h. */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_operators.h"
#include "ctl.h"
#include "hex.h"

#define CTL_OPERATOR_TOKEN_BYTES 32

static const char *ctl_operators_path(const char *option) {
  return option ? option : ctl_env("LINDUNG_ADMIN_OPERATORS_FILE");
}

/* Reads and checks the operators file; a missing file is an empty one.
 * *text gets the file's text (caller frees) for rewriting. */
static int ctl_operators_read(const char *what, const char *path, admin_operators *ops,
                              char **text) {
  if (!path)
    return ctl_fail(CTL_USAGE, "%s: set LINDUNG_ADMIN_OPERATORS_FILE or --operators-file", what);
  size_t len = 0;
  int err = 0;
  *text = ctl_read_all(path, &len, &err);
  if (!*text && err == ENOENT) *text = calloc(1, 1);
  if (!*text) return ctl_fail(CTL_RUNTIME, "%s: cannot read %s: %s", what, path, strerror(err));
  char reason[200];
  if (admin_operators_parse(*text, ops, reason, sizeof reason) != 0) {
    free(*text);
    *text = NULL;
    return ctl_fail(CTL_RUNTIME, "%s: %s", what, reason);
  }
  return CTL_OK;
}

static int ctl_operators_replace(const char *what, const char *path, const char *content) {
  char tmp[4200];
  if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
    return ctl_fail(CTL_USAGE, "%s: the operators file's path is too long", what);
  int err = ctl_write_file(tmp, content, 0600, true);
  if (err == 0 && rename(tmp, path) != 0) err = -errno;
  if (err) {
    unlink(tmp);
    return ctl_fail(CTL_RUNTIME, "%s: cannot write %s: %s", what, path, strerror(-err));
  }
  return CTL_OK;
}

static const admin_operator *ctl_operator_find(const admin_operators *ops, const char *name) {
  for (size_t i = 0; i < ops->count; i++)
    if (strcmp(ops->list[i].name, name) == 0) return &ops->list[i];
  return NULL;
}

int ctl_cmd_operator_add(int argc, char **argv) {
  const char *token_file = NULL, *operators_file = NULL;
  const ctl_option options[] = {{"token-file", &token_file, NULL},
                                {"operators-file", &operators_file, NULL}};
  const char *positional[1];
  size_t npos = 0;
  int rc = ctl_parse(argc, argv, options, 2, positional, 1, &npos);
  if (rc) return rc;
  if (npos != 1) return ctl_fail(CTL_USAGE, "operator add: missing <name>");
  const char *name = positional[0];
  if (!admin_operator_name_valid(name))
    return ctl_fail(CTL_USAGE, "operator add: invalid name (1 to 64 of A-Z a-z 0-9 . _ @ -)");
  if (!token_file) return ctl_fail(CTL_USAGE, "operator add: missing --token-file <new file>");
  const char *path = ctl_operators_path(operators_file);
  static admin_operators ops;
  char *text = NULL;
  if ((rc = ctl_operators_read("operator add", path, &ops, &text))) return rc;
  if (ctl_operator_find(&ops, name)) {
    free(text);
    return ctl_fail(CTL_RUNTIME, "operator add: an operator of that name exists");
  }

  uint8_t secret[CTL_OPERATOR_TOKEN_BYTES], digest[32];
  char token[8 + 2 * CTL_OPERATOR_TOKEN_BYTES + 2], digest_hex[65];
  /* Never swapped while they hold the token; munlock wipes them. */
  (void)sodium_mlock(secret, sizeof secret);
  (void)sodium_mlock(token, sizeof token);
  randombytes_buf(secret, sizeof secret);
  memcpy(token, "lop_", 4);
  hex_encode(secret, sizeof secret, token + 4);
  sodium_munlock(secret, sizeof secret);
  crypto_hash_sha256(digest, (const uint8_t *)token, strlen(token));
  hex_encode(digest, sizeof digest, digest_hex);
  strcat(token, "\n");
  int err = ctl_write_file(token_file, token, 0600, true);
  sodium_munlock(token, sizeof token);
  if (err) {
    free(text);
    return ctl_fail(CTL_RUNTIME, "operator add: cannot create the token file %s: %s", token_file,
                    strerror(-err));
  }

  size_t len = strlen(text);
  size_t cap = len + ADMIN_OPERATOR_NAME_MAX + 80;
  char *content = malloc(cap);
  if (!content) {
    free(text);
    unlink(token_file);
    return ctl_fail(CTL_RUNTIME, "out of memory");
  }
  snprintf(content, cap, "%s%s%s:%s\n", text, len && text[len - 1] != '\n' ? "\n" : "", name,
           digest_hex);
  rc = ctl_operators_replace("operator add", path, content);
  free(content);
  free(text);
  if (rc) {
    unlink(token_file);
    return rc;
  }
  printf("operator %s added; their token is in %s\n", name, token_file);
  return CTL_OK;
}

int ctl_cmd_operator_remove(int argc, char **argv) {
  const char *operators_file = NULL;
  const ctl_option options[] = {{"operators-file", &operators_file, NULL}};
  const char *positional[1];
  size_t npos = 0;
  int rc = ctl_parse(argc, argv, options, 1, positional, 1, &npos);
  if (rc) return rc;
  if (npos != 1) return ctl_fail(CTL_USAGE, "operator remove: missing <name>");
  const char *name = positional[0];
  const char *path = ctl_operators_path(operators_file);
  static admin_operators ops;
  char *text = NULL;
  if ((rc = ctl_operators_read("operator remove", path, &ops, &text))) return rc;
  if (!ctl_operator_find(&ops, name)) rc = ctl_fail(CTL_RUNTIME, "operator remove: no such operator");
  /* The service keeps its operators when the file names none. */
  else if (ops.count == 1)
    rc = ctl_fail(CTL_RUNTIME, "operator remove: the last operator stays (add another first)");
  if (rc) {
    free(text);
    return rc;
  }
  /* Every line but the operator's, comments included. */
  char *content = calloc(1, strlen(text) + 1);
  size_t used = 0, name_len = strlen(name);
  for (char *line = text; content && *line;) {
    char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line + 1) : strlen(line);
    const char *start = line + strspn(line, " \t");
    if (!(strncmp(start, name, name_len) == 0 && start[name_len] == ':')) {
      memcpy(content + used, line, len);
      used += len;
    }
    line += len;
  }
  free(text);
  if (!content) return ctl_fail(CTL_RUNTIME, "out of memory");
  rc = ctl_operators_replace("operator remove", path, content);
  free(content);
  if (rc == CTL_OK) printf("operator %s removed\n", name);
  return rc;
}

int ctl_cmd_operator_list(int argc, char **argv) {
  const char *operators_file = NULL;
  bool json = false;
  const ctl_option options[] = {{"operators-file", &operators_file, NULL}, {"json", NULL, &json}};
  int rc = ctl_parse(argc, argv, options, 2, NULL, 0, NULL);
  if (rc) return rc;
  static admin_operators ops;
  char *text = NULL;
  if ((rc = ctl_operators_read("operator list", ctl_operators_path(operators_file), &ops, &text)))
    return rc;
  free(text);
  if (!json) {
    for (size_t i = 0; i < ops.count; i++) printf("%s\n", ops.list[i].name);
    return CTL_OK;
  }
  /* Names only: the token hashes stay in the file. */
  json_t *list = json_array();
  for (size_t i = 0; list && i < ops.count; i++)
    if (json_array_append_new(list, json_pack("{ss}", "name", ops.list[i].name)) != 0) {
      json_decref(list);
      list = NULL;
    }
  if (!list || json_dumpf(list, stdout, JSON_COMPACT) != 0)
    rc = ctl_fail(CTL_RUNTIME, "operator list: out of memory");
  else
    putchar('\n');
  json_decref(list);
  return rc;
}
