/* json_write: JSON string literals (see json_write.h). */
#include "json_write.h"

#include <stdint.h>
#include <string.h>

typedef void json_write_sink(void *ctx, const char *bytes, size_t len);

/* The length of the valid UTF-8 sequence at s (at most len bytes), or 0. */
static size_t json_write_utf8_len(const unsigned char *s, size_t len) {
  size_t n;
  uint32_t cp;
  if (s[0] < 0xc2 || s[0] > 0xf4) return 0;
  if (s[0] < 0xe0) {
    n = 2;
    cp = s[0] & 0x1f;
  } else if (s[0] < 0xf0) {
    n = 3;
    cp = s[0] & 0x0f;
  } else {
    n = 4;
    cp = s[0] & 0x07;
  }
  if (n > len) return 0;
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

/* Writes the escaped bytes of s to sink, runs of plain text at once. */
static void json_write_escape(const char *text, size_t len, json_write_sink *sink, void *ctx) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)text;
  size_t start = 0, i = 0;
  while (i < len) {
    unsigned char c = s[i];
    size_t n = 1;
    char esc[7] = {'\\', 0};
    const char *out = esc;
    size_t out_len = 2;
    if (c == '"' || c == '\\') {
      esc[1] = (char)c;
    } else if (c == '\n') {
      esc[1] = 'n';
    } else if (c == '\r') {
      esc[1] = 'r';
    } else if (c == '\t') {
      esc[1] = 't';
    } else if (c < 0x20 || c == 0x7f) {
      memcpy(esc + 1, "u00", 3);
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      out_len = 6;
    } else if (c < 0x80) {
      i++;
      continue;
    } else if ((n = json_write_utf8_len(s + i, len - i)) != 0) {
      i += n;
      continue;
    } else {
      n = 1;
      out = "\\ufffd";
      out_len = 6;
    }
    if (i > start) sink(ctx, text + start, i - start);
    sink(ctx, out, out_len);
    i += n;
    start = i;
  }
  if (i > start) sink(ctx, text + start, i - start);
}

static void json_write_to_buffer(void *ctx, const char *bytes, size_t len) {
  buffer_append(ctx, bytes, len);
}

static void json_write_to_file(void *ctx, const char *bytes, size_t len) {
  fwrite(bytes, 1, len, ctx);
}

void json_write_string(buffer *b, const char *s, size_t len) {
  buffer_append(b, "\"", 1);
  json_write_escape(s, len, json_write_to_buffer, b);
  buffer_append(b, "\"", 1);
}

void json_write_fstring(FILE *out, const char *s) {
  fputc('"', out);
  json_write_escape(s, strlen(s), json_write_to_file, out);
  fputc('"', out);
}

typedef struct json_write_fixed {
  char *out;
  size_t cap, len;
  int overflow;
} json_write_fixed;

static void json_write_to_fixed(void *ctx, const char *bytes, size_t len) {
  json_write_fixed *f = ctx;
  if (f->overflow || len >= f->cap - f->len) {
    f->overflow = 1;
    return;
  }
  memcpy(f->out + f->len, bytes, len);
  f->len += len;
}

int json_write_escaped(const char *s, char *out, size_t out_len) {
  if (out_len == 0) return -1;
  json_write_fixed f = {out, out_len, 0, 0};
  json_write_escape(s, strlen(s), json_write_to_fixed, &f);
  if (f.overflow || f.len > INT32_MAX) {
    out[0] = '\0';
    return -1;
  }
  out[f.len] = '\0';
  return (int)f.len;
}
