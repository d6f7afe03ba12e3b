/* utf8: the one check of "is this text PostgreSQL takes": well-formed
 * UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF) without NUL. Text from outside that reaches a text column must
 * pass it, or the database refuses the whole batch it is in. Prefix utf8_. */
#ifndef LINDUNG_UTF8_H
#define LINDUNG_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool utf8_valid(const char *text, size_t len);

#endif
