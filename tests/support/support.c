/* support: the tests' shared fixtures (see support.h). */
#include "support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int support_write_file(const char *path, const char *text, mode_t mode) {
  unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return -1;
  size_t len = strlen(text);
  int rc = write(fd, text, len) == (ssize_t)len ? 0 : -1;
  close(fd);
  if (chmod(path, mode) != 0) rc = -1;
  return rc;
}

char *support_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *text = NULL;
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size >= 0 && fseek(f, 0, SEEK_SET) == 0) text = malloc((size_t)size + 1);
  if (text && fread(text, 1, (size_t)size, f) != (size_t)size) {
    free(text);
    text = NULL;
  }
  fclose(f);
  if (!text) return NULL;
  text[size] = '\0';
  if (len) *len = (size_t)size;
  return text;
}

const char *stack_env(const char *name) {
  const char *value = getenv(name);
  if (!value || !*value) {
    fprintf(stderr, "%s not set: run under the test stack (. .run/stack.env)\n", name);
    exit(2);
  }
  return value;
}

PGconn *stack_pg_connect(const char *url_variable) {
  PGconn *c = PQconnectdb(stack_env(url_variable));
  if (PQstatus(c) != CONNECTION_OK) {
    /* The URL may carry a password: name the variable only. */
    fprintf(stderr, "cannot connect (%s)\n", url_variable);
    exit(2);
  }
  return c;
}
