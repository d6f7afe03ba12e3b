/* pcli_json: the JSON lines lindung-partner prints. Text from Lindung (venue
 * names) is escaped, and bytes that are not valid UTF-8 become U+FFFD so a
 * line always parses. */
#include <stdint.h>
#include <string.h>

#include "partner_cli.h"

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t pcli_utf8_len(const unsigned char *s) {
  size_t n;
  uint32_t cp;
  if (s[0] < 0x80) return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf) {
    n = 2;
    cp = s[0] & 0x1f;
  } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
    n = 3;
    cp = s[0] & 0x0f;
  } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
    n = 4;
    cp = s[0] & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

void pcli_json_string(FILE *out, const char *text) {
  const unsigned char *s = (const unsigned char *)text;
  fputc('"', out);
  while (*s) {
    if (*s == '"' || *s == '\\') {
      fputc('\\', out);
      fputc(*s++, out);
    } else if (*s < 0x20 || *s == 0x7f) {
      fprintf(out, "\\u%04x", *s++);
    } else {
      size_t n = pcli_utf8_len(s);
      if (n == 0) {
        fputs("\\ufffd", out);
        s++;
      } else {
        fwrite(s, 1, n, out);
        s += n;
      }
    }
  }
  fputc('"', out);
}

void pcli_json_response_fields(FILE *out, const partner_sdk_response *r, int rc) {
  fputs(",\"error\":", out);
  pcli_json_string(out, rc < 0 ? "UNREADABLE" : partner_sdk_error_name(r->error));
  if (rc != 0) return;
  if (r->kind == PARTNER_SDK_KIND_SCAN) {
    fprintf(out, ",\"status\":\"%s\",\"decision\":\"%s\",\"reason\":\"%s\",\"venue_name\":",
            partner_sdk_status_name(r->verdict.status),
            partner_sdk_decision_name(r->verdict.decision),
            partner_sdk_reason_name(r->verdict.reason));
    pcli_json_string(out, r->verdict.venue_name);
    fprintf(out, ",\"checked_at_ms\":%llu", (unsigned long long)r->verdict.checked_at_ms);
  } else if (r->kind == PARTNER_SDK_KIND_LINK) {
    /* The token goes to the partner's own operator: that is this output's
     * purpose. */
    fputs(",\"token\":", out);
    pcli_json_string(out, r->token);
  }
}
