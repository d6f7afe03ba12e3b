/* hex: lowercase hex encoding and strict decoding, on libsodium's
 * constant-time codecs (keys and hashes pass through here). */
#include "hex.h"

#include <sodium.h>
#include <string.h>

void hex_encode(const uint8_t *bytes, size_t len, char *out) {
  sodium_bin2hex(out, 2 * len + 1, bytes, len);
}

int hex_decode(const char *text, uint8_t *out, size_t len) {
  size_t decoded = 0;
  const char *end = NULL;
  /* sodium_hex2bin stops at the first non-hex character: exactly 2*len
   * digits and nothing after them is what strict means here. */
  if (!text || strlen(text) != 2 * len) return -1;
  if (sodium_hex2bin(out, len, text, 2 * len, NULL, &decoded, &end) != 0) return -1;
  return decoded == len && *end == '\0' ? 0 : -1;
}
