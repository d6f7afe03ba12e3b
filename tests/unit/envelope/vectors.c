/* vectors: a minimal reader of the flat test-vector JSON (see vectors.h). */
#include "vectors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

int vectors_load(vectors_file *file) {
  memset(file, 0, sizeof(*file));
  const char *path = getenv("LINDUNG_VECTORS");
  if (!path || !*path) path = "../../../docs/vectors/envelope-v1.json";
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "vectors: cannot open %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 1 << 16, len = 0;
  file->text = malloc(cap);
  size_t n;
  while (file->text && (n = fread(file->text + len, 1, cap - 1 - len, f)) > 0) {
    len += n;
    if (len == cap - 1) {
      char *bigger = realloc(file->text, cap * 2);
      if (!bigger) {
        free(file->text);
        file->text = NULL;
        break;
      }
      file->text = bigger;
      cap *= 2;
    }
  }
  fclose(f);
  if (!file->text) return -1;
  file->text[len] = '\0';

  /* Every case object starts with its "name" key. */
  const char *cases = strstr(file->text, "\"cases\"");
  const char *p = cases;
  while (p && (p = strstr(p, "\"name\"")) && file->case_count < VECTORS_MAX_CASES) {
    file->case_begin[file->case_count++] = p;
    p += 6;
  }
  for (size_t i = 0; i < file->case_count; i++) {
    file->case_end[i] =
        i + 1 < file->case_count ? file->case_begin[i + 1] : file->text + strlen(file->text);
  }
  return file->case_count > 0 ? 0 : -1;
}

void vectors_free(vectors_file *file) {
  free(file->text);
  memset(file, 0, sizeof(*file));
}

const char *vectors_find(const vectors_file *file, const char *begin, const char *end,
                         const char *key) {
  if (!begin) begin = file->text;
  if (!end) end = file->text + strlen(file->text);
  size_t key_len = strlen(key);
  for (const char *p = begin; p < end; p++) {
    if (*p != '"' || (size_t)(end - p) < key_len + 2) continue;
    if (strncmp(p + 1, key, key_len) != 0) continue;
    char after = p[1 + key_len];
    if (after != '"' && after != ' ') continue;
    const char *close = memchr(p + 1, '"', (size_t)(end - p - 1));
    if (!close) return NULL;
    /* A key, not a string value that happens to start the same way. */
    const char *q = close + 1;
    while (q < end && *q == ' ') q++;
    if (q >= end || *q != ':') continue;
    q++;
    while (q < end && *q == ' ') q++;
    return q;
  }
  return NULL;
}

char *vectors_string(const vectors_file *file, const char *begin, const char *end,
                     const char *key) {
  const char *v = vectors_find(file, begin, end, key);
  if (!v || *v != '"') return NULL;
  const char *close = strchr(v + 1, '"');
  if (!close) return NULL;
  return strndup(v + 1, (size_t)(close - v - 1));
}

uint8_t *vectors_hex(const vectors_file *file, const char *begin, const char *end, const char *key,
                     size_t *len) {
  char *text = vectors_string(file, begin, end, key);
  if (!text) return NULL;
  size_t text_len = strlen(text);
  uint8_t *out = malloc(text_len / 2 + 1);
  if (!out || text_len % 2 || hex_decode(text, out, text_len / 2) != 0) {
    free(out);
    free(text);
    return NULL;
  }
  *len = text_len / 2;
  free(text);
  return out;
}

int vectors_u64(const vectors_file *file, const char *begin, const char *end, const char *key,
                uint64_t *out) {
  const char *v = vectors_find(file, begin, end, key);
  if (!v || *v < '0' || *v > '9') return -1;
  char *stop = NULL;
  errno = 0;
  unsigned long long value = strtoull(v, &stop, 10);
  if (errno) return -1;
  *out = value;
  return 0;
}
