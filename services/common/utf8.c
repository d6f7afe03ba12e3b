/* utf8: see utf8.h. */
#include "utf8.h"

#include <stdint.h>

bool utf8_valid(const char *text, size_t len) {
  const uint8_t *s = (const uint8_t *)text;
  for (size_t i = 0; i < len;) {
    uint8_t c = s[i];
    size_t extra;
    uint8_t lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (c == 0) return false;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) lo = 0xA0; /* overlong */
      if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) lo = 0x90; /* overlong */
      if (c == 0xF4) hi = 0x8F; /* past U+10FFFF */
    } else {
      return false;
    }
    if (len - i <= extra) return false;
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (size_t k = 2; k <= extra; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return false;
    i += extra + 1;
  }
  return true;
}
