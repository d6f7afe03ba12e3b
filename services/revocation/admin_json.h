/* admin_json: a strict JSON reader for the admin API's request bodies (one
 * flat object whose values are strings or integers) and the escaping its
 * responses need, on libjansson. The accepted language is tiny on purpose,
 * so every body the API takes is easy to reason about.
 *
 * Accepted: whitespace, one object, keys unique, at most ADMIN_JSON_MAX_FIELDS
 * members; values are strings (escapes \" \\ \/ \b \f \n \r \t \uXXXX with
 * surrogate pairs, decoded to UTF-8; no NUL, no raw control characters, the
 * raw bytes must be valid UTF-8) or integers -?(0|[1-9][0-9]*) fitting in
 * int64. Anything else (nesting, true/false/null, fractions, trailing
 * bytes) is refused with a one-line reason that never quotes the input.
 * Prefix admin_json_. */
#ifndef LINDUNG_ADMIN_JSON_H
#define LINDUNG_ADMIN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADMIN_JSON_MAX_FIELDS 16
#define ADMIN_JSON_MAX_KEY 32

typedef enum admin_json_type { ADMIN_JSON_STRING = 1, ADMIN_JSON_INTEGER = 2 } admin_json_type;

typedef struct admin_json_field {
  char key[ADMIN_JSON_MAX_KEY + 1];
  admin_json_type type;
  char *string; /* malloc'd, NUL-terminated (no NUL inside) */
  size_t string_len;
  int64_t integer;
} admin_json_field;

typedef struct admin_json_object {
  size_t count;
  admin_json_field fields[ADMIN_JSON_MAX_FIELDS];
} admin_json_object;

/* Parses text[0..len). Returns 0, or -1 with a reason in err (the object is
 * then empty). Free with admin_json_free either way. */
int admin_json_parse(const char *text, size_t len, admin_json_object *out, char *err,
                     size_t err_len);
void admin_json_free(admin_json_object *object);

const admin_json_field *admin_json_get(const admin_json_object *object, const char *key);

#endif
