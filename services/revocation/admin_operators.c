/* admin_operators: the operators file (see admin_operators.h). */
#include "admin_operators.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hex.h"

#define ADMIN_OPERATORS_FILE_MAX (ADMIN_OPERATORS_MAX * 160)
#define ADMIN_OPERATORS_CHECK_MS 1000

bool admin_operator_name_valid(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n > ADMIN_OPERATOR_NAME_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/* One "name:hash" line (blanks around it allowed) into op; -1 if bad. */
static int admin_operators_line(char *line, admin_operator *op) {
  while (*line == ' ' || *line == '\t') line++;
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r')) line[--n] = '\0';
  char *colon = strchr(line, ':');
  if (!colon) return -1;
  *colon = '\0';
  const char *hash = colon + 1;
  if (!admin_operator_name_valid(line) || strlen(hash) != 64) return -1;
  if (hex_decode(hash, op->token_sha256, sizeof op->token_sha256) != 0) return -1;
  snprintf(op->name, sizeof op->name, "%s", line);
  return 0;
}

int admin_operators_parse(const char *text, admin_operators *ops, char *err, size_t err_len) {
  static admin_operator parsed[ADMIN_OPERATORS_MAX];
  size_t count = 0, number = 0;
  const char *p = text;
  while (*p) {
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    number++;
    char line[256];
    if (len >= sizeof line) {
      snprintf(err, err_len, "operators file: line %zu is too long", number);
      return -1;
    }
    memcpy(line, p, len);
    line[len] = '\0';
    p += len + (end ? 1 : 0);
    const char *first = line + strspn(line, " \t\r");
    if (*first == '\0' || *first == '#') continue;
    if (count == ADMIN_OPERATORS_MAX) {
      snprintf(err, err_len, "operators file: more than %d operators", ADMIN_OPERATORS_MAX);
      return -1;
    }
    if (admin_operators_line(line, &parsed[count]) != 0) {
      snprintf(err, err_len, "operators file: line %zu is not name:<sha256 of the token, 64 hex>",
               number);
      return -1;
    }
    for (size_t i = 0; i < count; i++) {
      if (strcmp(parsed[i].name, parsed[count].name) == 0) {
        snprintf(err, err_len, "operators file: line %zu repeats an operator's name", number);
        return -1;
      }
    }
    count++;
  }
  memcpy(ops->list, parsed, count * sizeof parsed[0]);
  ops->count = count;
  return 0;
}

const admin_operator *admin_operators_match(const admin_operators *ops, const char *authorization) {
  static const char prefix[] = "Bearer ";
  if (!authorization || strncmp(authorization, prefix, sizeof prefix - 1) != 0) return NULL;
  const char *token = authorization + sizeof prefix - 1;
  if (!*token) return NULL;
  uint8_t presented[32];
  crypto_hash_sha256(presented, (const uint8_t *)token, strlen(token));
  const admin_operator *found = NULL;
  for (size_t i = 0; i < ops->count; i++) {
    /* No early exit: every entry costs the same. */
    if (sodium_memcmp(presented, ops->list[i].token_sha256, 32) == 0) found = &ops->list[i];
  }
  sodium_memzero(presented, sizeof presented);
  return found;
}

static int admin_operators_read(admin_operators *ops, const char *path, const struct stat *st,
                                char *err, size_t err_len) {
  if (st->st_mode & (S_IWGRP | S_IWOTH)) {
    snprintf(err, err_len, "operators file %s is writable by group or others (chmod go-w)", path);
    return -1;
  }
  if (st->st_size > ADMIN_OPERATORS_FILE_MAX) {
    snprintf(err, err_len, "operators file %s is too large", path);
    return -1;
  }
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, err_len, "cannot read the operators file %s: %s", path, strerror(errno));
    return -1;
  }
  static char text[ADMIN_OPERATORS_FILE_MAX + 1];
  size_t n = fread(text, 1, ADMIN_OPERATORS_FILE_MAX, f);
  fclose(f);
  text[n] = '\0';
  static admin_operators parsed;
  int rc = admin_operators_parse(text, &parsed, err, err_len);
  if (rc == 0 && parsed.count == 0) {
    snprintf(err, err_len, "operators file %s names no operator (lindungctl operator add)", path);
    rc = -1;
  }
  if (rc == 0) {
    memcpy(ops->list, parsed.list, parsed.count * sizeof parsed.list[0]);
    ops->count = parsed.count;
    snprintf(ops->path, sizeof ops->path, "%s", path);
    ops->inode = st->st_ino;
    ops->size = st->st_size;
    ops->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
  }
  return rc;
}

int admin_operators_load(admin_operators *ops, const char *path, char *err, size_t err_len) {
  struct stat st;
  if (!path || stat(path, &st) != 0) {
    snprintf(err, err_len, "cannot read the operators file %s: %s", path ? path : "(unset)",
             path ? strerror(errno) : "LINDUNG_ADMIN_OPERATORS_FILE is not set");
    return -1;
  }
  return admin_operators_read(ops, path, &st, err, err_len);
}

int admin_operators_refresh(admin_operators *ops, uint64_t now_ms, char *err, size_t err_len) {
  if (!ops->path[0] || now_ms - ops->checked_at_ms < ADMIN_OPERATORS_CHECK_MS) return 0;
  ops->checked_at_ms = now_ms;
  struct stat st;
  if (stat(ops->path, &st) != 0) {
    snprintf(err, err_len, "operators file %s: %s (the previous operators stay)", ops->path,
             strerror(errno));
    return -1;
  }
  int64_t mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  if (st.st_ino == ops->inode && st.st_size == ops->size && mtime_ns == ops->mtime_ns) return 0;
  char path[sizeof ops->path];
  snprintf(path, sizeof path, "%s", ops->path);
  return admin_operators_read(ops, path, &st, err, err_len) == 0 ? 1 : -1;
}
