/* config: LINDUNG_* environment variables described by a table, and
 * secrets read from files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cfg_parse_uint(const char *text, uint32_t *out) {
  if (!text || !*text) return -1;
  for (const char *p = text; *p; p++)
    if (*p < '0' || *p > '9') return -1;
  errno = 0;
  unsigned long long value = strtoull(text, NULL, 10);
  if (errno || value > UINT32_MAX) return -1;
  *out = (uint32_t)value;
  return 0;
}

static int cfg_parse_bool(const char *text, bool *out) {
  if (!strcmp(text, "1") || !strcmp(text, "true") || !strcmp(text, "yes")) {
    *out = true;
    return 0;
  }
  if (!strcmp(text, "0") || !strcmp(text, "false") || !strcmp(text, "no")) {
    *out = false;
    return 0;
  }
  return -1;
}

int cfg_load(const cfg_option *options, size_t count, char *err, size_t err_len) {
  for (size_t i = 0; i < count; i++) {
    const cfg_option *option = &options[i];
    const char *value = getenv(option->name);
    if (!value || !*value) value = option->default_value;
    if (!value) {
      snprintf(err, err_len, "%s is required (see --help)", option->name);
      return -1;
    }
    switch (option->type) {
      case CFG_TYPE_STRING:
        *(const char **)option->target = value;
        break;
      case CFG_TYPE_UINT:
        if (cfg_parse_uint(value, (uint32_t *)option->target)) {
          snprintf(err, err_len, "%s must be a whole number from 0 to 4294967295", option->name);
          return -1;
        }
        break;
      case CFG_TYPE_BOOL:
        if (cfg_parse_bool(value, (bool *)option->target)) {
          snprintf(err, err_len, "%s must be true or false", option->name);
          return -1;
        }
        break;
    }
  }
  return 0;
}

bool cfg_answer_version(int argc, char **argv, FILE *out) {
  if (argc < 2 || strcmp(argv[1], "--version") != 0) return false;
  const char *slash = strrchr(argv[0], '/');
  fprintf(out, "%s %s\n", slash ? slash + 1 : argv[0], LINDUNG_VERSION);
  return true;
}

bool cfg_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return true;
  return false;
}

void cfg_print_help(FILE *out, const char *usage, const char *summary, const cfg_option *options,
                    size_t count) {
  fprintf(out, "usage: %s\n\n%s\n", usage, summary);
  if (count) fprintf(out, "\nenvironment:\n");
  for (size_t i = 0; i < count; i++) {
    fprintf(out, "  %-34s %s", options[i].name, options[i].help);
    if (options[i].default_value)
      fprintf(out, " (default: %s)\n", *options[i].default_value ? options[i].default_value : "\"\"");
    else
      fprintf(out, " (required)\n");
  }
}

long cfg_read_secret(const char *path, uint8_t *buf, size_t cap, bool strict_mode, char *err,
                     size_t err_len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, err_len, "cannot open secret file %s: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    snprintf(err, err_len, "secret file %s is not a regular file", path);
    close(fd);
    return -1;
  }
  if (strict_mode && (st.st_mode & (S_IRWXG | S_IRWXO))) {
    snprintf(err, err_len, "secret file %s must not be readable by group or others", path);
    close(fd);
    return -1;
  }
  size_t len = 0;
  for (;;) {
    if (len == cap) {
      /* One byte more than fits means the file is too long. */
      uint8_t extra;
      ssize_t n = read(fd, &extra, 1);
      if (n > 0 && !(n == 1 && extra == '\n')) {
        snprintf(err, err_len, "secret file %s is longer than %zu bytes", path, cap);
        close(fd);
        return -1;
      }
      break;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      snprintf(err, err_len, "cannot read secret file %s: %s", path, strerror(errno));
      close(fd);
      return -1;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  if (len > 0 && buf[len - 1] == '\n') len--;
  if (len == 0) {
    snprintf(err, err_len, "secret file %s is empty", path);
    return -1;
  }
  return (long)len;
}
