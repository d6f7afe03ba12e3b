/* vectors: just enough reading of docs/vectors/envelope-v1.json for the unit
 * tests (the file is ours and flat; no JSON library is needed for it). */
#ifndef LINDUNG_TEST_VECTORS_H
#define LINDUNG_TEST_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#define VECTORS_MAX_CASES 8

typedef struct vectors_file {
  char *text;
  size_t case_count;
  const char *case_begin[VECTORS_MAX_CASES];
  const char *case_end[VECTORS_MAX_CASES];
} vectors_file;

/* Loads $LINDUNG_VECTORS, else ../../../docs/vectors/envelope-v1.json. */
int vectors_load(vectors_file *file);
void vectors_free(vectors_file *file);

/* Points just past the ':' after the first key named `key` (or starting
 * with `key `) in [begin, end), or NULL; use it to scope later lookups. */
const char *vectors_find(const vectors_file *file, const char *begin, const char *end,
                         const char *key);
/* The string value of the first key named `key` (or starting with `key `)
 * in [begin, end); NULL end means the whole file. Returns a malloc'ed copy. */
char *vectors_string(const vectors_file *file, const char *begin, const char *end, const char *key);
/* Decodes a hex string value into a malloc'ed buffer; *len gets its size. */
uint8_t *vectors_hex(const vectors_file *file, const char *begin, const char *end, const char *key,
                     size_t *len);
/* An unsigned number value; -1 when absent. */
int vectors_u64(const vectors_file *file, const char *begin, const char *end, const char *key,
                uint64_t *out);

#endif
