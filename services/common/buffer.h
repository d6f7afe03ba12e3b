/* buffer: a growable byte buffer. It stays NUL-terminated (text can be read
 * from data at any time) and remembers a failed allocation: later appends do
 * nothing, so a writer appends freely and checks `failed` once at the end.
 * A zeroed buffer is empty and ready. Prefix buffer_. */
#ifndef LINDUNG_BUFFER_H
#define LINDUNG_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct buffer {
  char *data; /* NULL until the first append */
  size_t len, cap;
  bool failed; /* out of memory: the content is incomplete */
} buffer;

void buffer_append(buffer *b, const void *data, size_t len);
void buffer_puts(buffer *b, const char *text);
void buffer_printf(buffer *b, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* Empties it for reuse, keeping the memory; clears `failed`. */
void buffer_reset(buffer *b);
/* Frees the memory; the buffer is empty and ready again. */
void buffer_free(buffer *b);

#endif
