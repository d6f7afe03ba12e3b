/* The C side of crosscheck.py: `unit_envelope crosscheck` reads one command
 * per line on stdin and answers one line on stdout, so the Python side (PyNaCl,
 * an independent libsodium binding) can run hundreds of round trips through
 * one process. Hex fields use "-" for empty; a partner id "=" means empty.
 *
 *   session  <system_pk> <system_sk> <partner_pk>   -> ok <rx> <tx>
 *   psession <partner_pk> <partner_sk> <system_pk>  -> ok <rx> <tx>
 *   ad <request|response> <partner_id> <partner_key_id> <system_key_id> <request_id> <at_ms>
 *                                                   -> ok <ad> | refused
 *   open <key> <ad> <nonce> <sealed>                -> ok <plain> | fail
 *   seal <key> <ad> <plain>                         -> ok <nonce> <sealed> | fail
 *   pad-seal <key> <ad> <plain>                     -> ok <nonce> <sealed> | fail
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "hex.h"

int crosscheck_serve(void);

#define CROSSCHECK_MAX_BYTES 4096

typedef struct crosscheck_bytes {
  uint8_t data[CROSSCHECK_MAX_BYTES];
  size_t len;
} crosscheck_bytes;

static int crosscheck_hex(const char *text, crosscheck_bytes *out) {
  if (!text) return -1;
  if (strcmp(text, "-") == 0) {
    out->len = 0;
    return 0;
  }
  size_t n = strlen(text);
  if (n % 2 || n / 2 > CROSSCHECK_MAX_BYTES) return -1;
  out->len = n / 2;
  return hex_decode(text, out->data, out->len);
}

static void crosscheck_print_hex(const uint8_t *bytes, size_t len) {
  if (len == 0) {
    fputs("-", stdout);
    return;
  }
  char *text = malloc(2 * len + 1);
  if (!text) return;
  hex_encode(bytes, len, text);
  fputs(text, stdout);
  free(text);
}

static int crosscheck_key(const char *text, uint8_t key[32]) {
  crosscheck_bytes b;
  if (crosscheck_hex(text, &b) != 0 || b.len != 32) return -1;
  memcpy(key, b.data, 32);
  return 0;
}

/* Handles one tokenized command; returns 0 if it printed an answer. */
static int crosscheck_command(char **arg, int argc) {
  static crosscheck_bytes ad, plain, sealed, nonce;
  static uint8_t out[CROSSCHECK_MAX_BYTES + ENVELOPE_TAG_BYTES];
  uint8_t k1[32], k2[32], k3[32], nonce_out[ENVELOPE_NONCE_BYTES];

  if ((strcmp(arg[0], "session") == 0 || strcmp(arg[0], "psession") == 0) && argc == 4) {
    if (crosscheck_key(arg[1], k1) || crosscheck_key(arg[2], k2) || crosscheck_key(arg[3], k3))
      return -1;
    envelope_session s;
    int rc = arg[0][0] == 's' ? envelope_system_session(&s, k1, k2, k3)
                              : envelope_partner_session(&s, k1, k2, k3);
    if (rc != 0) {
      puts("fail");
      return 0;
    }
    fputs("ok ", stdout);
    crosscheck_print_hex(s.rx, 32);
    fputs(" ", stdout);
    crosscheck_print_hex(s.tx, 32);
    puts("");
    sodium_memzero(&s, sizeof(s));
    return 0;
  }
  if (strcmp(arg[0], "ad") == 0 && argc == 7) {
    crosscheck_bytes rid;
    if (crosscheck_hex(arg[5], &rid) != 0 || rid.len != ENVELOPE_REQUEST_ID_BYTES) return -1;
    envelope_header h = {
        .partner_id = strcmp(arg[2], "=") == 0 ? "" : arg[2],
        .partner_key_id = (uint32_t)strtoul(arg[3], NULL, 10),
        .system_key_id = (uint32_t)strtoul(arg[4], NULL, 10),
        .request_id = rid.data,
        .at_ms = strtoull(arg[6], NULL, 10),
    };
    envelope_direction dir = strcmp(arg[1], "request") == 0 ? ENVELOPE_REQUEST : ENVELOPE_RESPONSE;
    uint8_t bytes[ENVELOPE_MAX_AD_BYTES];
    size_t n = envelope_associated_data(dir, &h, bytes);
    if (n == 0) {
      puts("refused");
      return 0;
    }
    fputs("ok ", stdout);
    crosscheck_print_hex(bytes, n);
    puts("");
    return 0;
  }
  if (strcmp(arg[0], "open") == 0 && argc == 5) {
    if (crosscheck_key(arg[1], k1) || crosscheck_hex(arg[2], &ad) ||
        crosscheck_hex(arg[3], &nonce) || nonce.len != ENVELOPE_NONCE_BYTES ||
        crosscheck_hex(arg[4], &sealed))
      return -1;
    if (envelope_open(k1, ad.data, ad.len, nonce.data, sealed.data, sealed.len, out) != 0) {
      puts("fail");
      return 0;
    }
    fputs("ok ", stdout);
    crosscheck_print_hex(out, sealed.len - ENVELOPE_TAG_BYTES);
    puts("");
    return 0;
  }
  if ((strcmp(arg[0], "seal") == 0 || strcmp(arg[0], "pad-seal") == 0) && argc == 4) {
    if (crosscheck_key(arg[1], k1) || crosscheck_hex(arg[2], &ad) || crosscheck_hex(arg[3], &plain))
      return -1;
    int rc;
    if (arg[0][0] == 's') {
      rc = envelope_seal(k1, ad.data, ad.len, plain.data, plain.len, nonce_out, out);
    } else {
      uint8_t pad[ENVELOPE_PAD_BYTES];
      rc = envelope_pad_make(k1, nonce_out, pad);
      if (rc == 0) rc = envelope_pad_seal(pad, ad.data, ad.len, plain.data, plain.len, out);
      sodium_memzero(pad, sizeof(pad));
    }
    if (rc != 0) {
      puts("fail");
      return 0;
    }
    fputs("ok ", stdout);
    crosscheck_print_hex(nonce_out, sizeof(nonce_out));
    fputs(" ", stdout);
    crosscheck_print_hex(out, plain.len + ENVELOPE_TAG_BYTES);
    puts("");
    return 0;
  }
  return -1;
}

int crosscheck_serve(void) {
  if (sodium_init() < 0) return 1;
  char *line = NULL;
  size_t cap = 0;
  ssize_t got;
  int status = 0;
  while ((got = getline(&line, &cap, stdin)) > 0) {
    char *arg[8];
    int argc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t\r\n", &save); tok && argc < 8;
         tok = strtok_r(NULL, " \t\r\n", &save))
      arg[argc++] = tok;
    if (argc == 0) continue;
    if (crosscheck_command(arg, argc) != 0) {
      puts("error bad-command");
      status = 1;
    }
    fflush(stdout);
  }
  free(line);
  return status;
}
