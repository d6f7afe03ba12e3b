/* hex: lowercase hex encoding, as public keys travel in the protocol. */
#ifndef LINDUNG_HEX_H
#define LINDUNG_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len characters and a NUL into out. */
void hex_encode(const uint8_t *bytes, size_t len, char *out);
/* Decodes exactly 2*len hex characters (either case); -1 on any other input. */
int hex_decode(const char *text, uint8_t *out, size_t len);

#endif
