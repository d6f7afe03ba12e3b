/* buffer: a growable, NUL-terminated byte buffer (see buffer.h). */
#include "buffer.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for extra more bytes and the NUL; false once failed. */
static bool buffer_reserve(buffer *b, size_t extra) {
  if (b->failed) return false;
  if (extra > SIZE_MAX / 2 - b->len) {
    b->failed = true;
    return false;
  }
  if (b->len + extra + 1 <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *grown = realloc(b->data, cap);
  if (!grown) {
    b->failed = true;
    return false;
  }
  b->data = grown;
  b->cap = cap;
  return true;
}

void buffer_append(buffer *b, const void *data, size_t len) {
  if (!buffer_reserve(b, len)) return;
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

void buffer_puts(buffer *b, const char *text) { buffer_append(b, text, strlen(text)); }

void buffer_printf(buffer *b, const char *format, ...) {
  va_list args;
  va_start(args, format);
  int n = vsnprintf(NULL, 0, format, args);
  va_end(args);
  if (n < 0) {
    b->failed = true;
    return;
  }
  if (!buffer_reserve(b, (size_t)n)) return;
  va_start(args, format);
  vsnprintf(b->data + b->len, (size_t)n + 1, format, args);
  va_end(args);
  b->len += (size_t)n;
}

void buffer_reset(buffer *b) {
  b->len = 0;
  b->failed = false;
  if (b->data) b->data[0] = '\0';
}

void buffer_free(buffer *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->failed = false;
}
