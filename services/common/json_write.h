/* json_write: a string as a JSON string literal, the one escaping rule of
 * every JSON Lindung writes by hand (logs, HTTP answers, CLI output, audit
 * exports). Quotes and backslashes are escaped, \n \r \t by name, other
 * control characters and DEL as \u00XX; valid UTF-8 passes unchanged and
 * every byte that is not valid UTF-8 becomes \ufffd, so the output is always
 * valid JSON whatever the input. Prefix json_write_. */
#ifndef LINDUNG_JSON_WRITE_H
#define LINDUNG_JSON_WRITE_H

#include <stddef.h>
#include <stdio.h>

#include "buffer.h"

/* The len bytes of s, quoted, appended to b. */
void json_write_string(buffer *b, const char *s, size_t len);

/* The NUL-terminated s, quoted, to out. */
void json_write_fstring(FILE *out, const char *s);

/* The NUL-terminated s escaped but not quoted into out (NUL-terminated).
 * Its length, or -1 when it does not fit (out then holds ""). */
int json_write_escaped(const char *s, char *out, size_t out_len);

#endif
