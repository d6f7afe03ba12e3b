/* admin_json: the strict flat-object reader of the admin API (see
 * admin_json.h). A recursive-descent reader over a bounded buffer; every
 * refusal names what was wrong and where, never the bytes themselves. */
#include "admin_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct admin_json_reader {
  const unsigned char *p, *end, *start;
  char *err;
  size_t err_len;
} admin_json_reader;

static int admin_json_fail(admin_json_reader *r, const char *what) {
  snprintf(r->err, r->err_len, "%s at byte %zu", what, (size_t)(r->p - r->start));
  return -1;
}

static void admin_json_ws(admin_json_reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int admin_json_hex4(admin_json_reader *r, uint32_t *out) {
  if (r->end - r->p < 4) return admin_json_fail(r, "truncated \\u escape");
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned char c = r->p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= c - '0';
    else if (c >= 'a' && c <= 'f')
      v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v |= c - 'A' + 10;
    else
      return admin_json_fail(r, "bad \\u escape");
  }
  r->p += 4;
  *out = v;
  return 0;
}

static size_t admin_json_utf8_put(uint32_t cp, unsigned char *out) {
  if (cp < 0x80) {
    out[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (unsigned char)(0xc0 | (cp >> 6));
    out[1] = (unsigned char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (unsigned char)(0xe0 | (cp >> 12));
    out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (unsigned char)(0xf0 | (cp >> 18));
  out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
  out[3] = (unsigned char)(0x80 | (cp & 0x3f));
  return 4;
}

/* Length of one valid UTF-8 sequence at p (no overlongs, no surrogates),
 * 0 when invalid. */
static size_t admin_json_utf8_len(const unsigned char *p, const unsigned char *end) {
  unsigned char c = p[0];
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if ((size_t)(end - p) < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  return n;
}

/* Reads a string (r->p at the opening quote) into a malloc'd buffer; the
 * decoded form is never longer than the encoded one. */
static int admin_json_string(admin_json_reader *r, char **out, size_t *out_len) {
  r->p++; /* the quote */
  const unsigned char *scan = r->p;
  while (scan < r->end && *scan != '"') scan += (*scan == '\\' && scan + 1 < r->end) ? 2 : 1;
  if (scan >= r->end) return admin_json_fail(r, "unterminated string");
  unsigned char *buf = malloc((size_t)(scan - r->p) + 1);
  if (!buf) return admin_json_fail(r, "out of memory");
  size_t n = 0;
  while (*r->p != '"') {
    unsigned char c = *r->p;
    if (c < 0x20) {
      free(buf);
      return admin_json_fail(r, "control character in string");
    }
    if (c != '\\') {
      size_t len = admin_json_utf8_len(r->p, r->end);
      if (!len) {
        free(buf);
        return admin_json_fail(r, "invalid UTF-8 in string");
      }
      memcpy(buf + n, r->p, len);
      n += len;
      r->p += len;
      continue;
    }
    r->p++;
    char e = (char)*r->p++;
    uint32_t cp;
    switch (e) {
      case '"':
        buf[n++] = '"';
        break;
      case '\\':
        buf[n++] = '\\';
        break;
      case '/':
        buf[n++] = '/';
        break;
      case 'b':
        buf[n++] = '\b';
        break;
      case 'f':
        buf[n++] = '\f';
        break;
      case 'n':
        buf[n++] = '\n';
        break;
      case 'r':
        buf[n++] = '\r';
        break;
      case 't':
        buf[n++] = '\t';
        break;
      case 'u':
        if (admin_json_hex4(r, &cp)) {
          free(buf);
          return -1;
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
          uint32_t low;
          if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u') {
            free(buf);
            return admin_json_fail(r, "unpaired surrogate");
          }
          r->p += 2;
          if (admin_json_hex4(r, &low)) {
            free(buf);
            return -1;
          }
          if (low < 0xdc00 || low > 0xdfff) {
            free(buf);
            return admin_json_fail(r, "unpaired surrogate");
          }
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
          free(buf);
          return admin_json_fail(r, "unpaired surrogate");
        } else if (cp == 0) {
          free(buf);
          return admin_json_fail(r, "NUL in string");
        }
        n += admin_json_utf8_put(cp, buf + n);
        break;
      default:
        free(buf);
        return admin_json_fail(r, "bad escape");
    }
  }
  r->p++; /* closing quote */
  buf[n] = '\0';
  *out = (char *)buf;
  *out_len = n;
  return 0;
}

static int admin_json_integer(admin_json_reader *r, int64_t *out) {
  bool negative = false;
  if (*r->p == '-') {
    negative = true;
    r->p++;
  }
  if (r->p >= r->end || *r->p < '0' || *r->p > '9') return admin_json_fail(r, "bad number");
  if (*r->p == '0' && r->p + 1 < r->end && r->p[1] >= '0' && r->p[1] <= '9')
    return admin_json_fail(r, "leading zero in number");
  uint64_t v = 0;
  while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
    v = v * 10 + (uint64_t)(*r->p - '0');
    if (v > (uint64_t)INT64_MAX) return admin_json_fail(r, "number out of range");
    r->p++;
  }
  if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E'))
    return admin_json_fail(r, "only integers are accepted");
  *out = negative ? -(int64_t)v : (int64_t)v;
  return 0;
}

void admin_json_free(admin_json_object *object) {
  if (!object) return;
  for (size_t i = 0; i < object->count; i++) free(object->fields[i].string);
  memset(object, 0, sizeof *object);
}

int admin_json_parse(const char *text, size_t len, admin_json_object *out, char *err,
                     size_t err_len) {
  memset(out, 0, sizeof *out);
  admin_json_reader r = {(const unsigned char *)text, (const unsigned char *)text + len,
                         (const unsigned char *)text, err, err_len};
  int rc = -1;
  admin_json_ws(&r);
  if (r.p >= r.end || *r.p != '{') {
    admin_json_fail(&r, "expected a JSON object");
    goto done;
  }
  r.p++;
  admin_json_ws(&r);
  if (r.p < r.end && *r.p == '}') {
    r.p++;
  } else {
    for (;;) {
      admin_json_ws(&r);
      if (r.p >= r.end || *r.p != '"') {
        admin_json_fail(&r, "expected a member name");
        goto done;
      }
      char *key;
      size_t key_len;
      if (admin_json_string(&r, &key, &key_len)) goto done;
      if (key_len == 0 || key_len > ADMIN_JSON_MAX_KEY) {
        free(key);
        admin_json_fail(&r, "member name empty or too long");
        goto done;
      }
      if (admin_json_get(out, key)) {
        free(key);
        admin_json_fail(&r, "duplicate member");
        goto done;
      }
      if (out->count == ADMIN_JSON_MAX_FIELDS) {
        free(key);
        admin_json_fail(&r, "too many members");
        goto done;
      }
      admin_json_field *f = &out->fields[out->count];
      memcpy(f->key, key, key_len + 1);
      free(key);
      admin_json_ws(&r);
      if (r.p >= r.end || *r.p != ':') {
        admin_json_fail(&r, "expected ':'");
        goto done;
      }
      r.p++;
      admin_json_ws(&r);
      if (r.p >= r.end) {
        admin_json_fail(&r, "expected a value");
        goto done;
      }
      if (*r.p == '"') {
        if (admin_json_string(&r, &f->string, &f->string_len)) goto done;
        f->type = ADMIN_JSON_STRING;
      } else if (*r.p == '-' || (*r.p >= '0' && *r.p <= '9')) {
        if (admin_json_integer(&r, &f->integer)) goto done;
        f->type = ADMIN_JSON_INTEGER;
      } else {
        admin_json_fail(&r, "only string and integer values are accepted");
        goto done;
      }
      out->count++;
      admin_json_ws(&r);
      if (r.p < r.end && *r.p == ',') {
        r.p++;
        continue;
      }
      if (r.p < r.end && *r.p == '}') {
        r.p++;
        break;
      }
      admin_json_fail(&r, "expected ',' or '}'");
      goto done;
    }
  }
  admin_json_ws(&r);
  if (r.p != r.end) {
    admin_json_fail(&r, "trailing bytes after the object");
    goto done;
  }
  rc = 0;
done:
  if (rc) admin_json_free(out);
  return rc;
}

const admin_json_field *admin_json_get(const admin_json_object *object, const char *key) {
  for (size_t i = 0; i < object->count; i++)
    if (strcmp(object->fields[i].key, key) == 0) return &object->fields[i];
  return NULL;
}

int admin_json_escape(const char *s, char *out, size_t out_len) {
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char tmp[8];
    size_t len;
    if (*p == '"' || *p == '\\') {
      tmp[0] = '\\';
      tmp[1] = (char)*p;
      len = 2;
    } else if (*p < 0x20) {
      len = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", *p);
    } else {
      tmp[0] = (char)*p;
      len = 1;
    }
    if (n + len + 1 > out_len) return -1;
    memcpy(out + n, tmp, len);
    n += len;
  }
  if (n + 1 > out_len) return -1;
  out[n] = '\0';
  return (int)n;
}
