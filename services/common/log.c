/* log: JSON lines on stderr from typed fields only (see log.h for why). */
#include "log.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "json_write.h"

static const char *log_service = "lindung";
static log_level log_min_level = LOG_LEVEL_INFO;
static FILE *log_stream;

void log_setup(const char *service, log_level min_level) {
  log_service = service;
  log_min_level = min_level;
}

void log_set_stream(FILE *stream) {
  log_stream = stream;
}

/* Runs that could be a NIK (16+ digits), hex key material (32+ hex
 * characters), or a token or base64 key (24+ characters of the base64url
 * alphabet mixing letters and digits) are treated as sensitive. */
int log_value_is_sensitive(const char *value) {
  if (!value) return 0;
  if (strstr(value, "lt1_")) return 1; /* Lindung's token prefix */
  size_t digits = 0, hex = 0, b64 = 0;
  bool b64_letter = false, b64_digit = false;
  for (const char *p = value;; p++) {
    unsigned char c = (unsigned char)*p;
    digits = isdigit(c) ? digits + 1 : 0;
    hex = isxdigit(c) ? hex + 1 : 0;
    if (isalnum(c) || c == '_' || c == '-' || c == '+' || c == '/' || c == '=') {
      b64++;
      if (isalpha(c)) b64_letter = true;
      if (isdigit(c)) b64_digit = true;
    } else {
      b64 = 0;
      b64_letter = b64_digit = false;
    }
    if (digits >= 16 || hex >= 32 || (b64 >= 24 && b64_letter && b64_digit)) return 1;
    if (!c) return 0;
  }
}

static bool log_is_identifier(const char *value) {
  if (!value) return false;
  size_t len = strlen(value);
  if (len == 0 || len > 64) return false;
  for (const char *p = value; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (!(isalnum(c) || c == '_' || c == '.' || c == ':' || c == '/' || c == '-')) return false;
  }
  return true;
}

static void log_write_text_value(FILE *out, const char *value) {
  json_write_fstring(out, log_value_is_sensitive(value) ? "[redacted]" : value);
}

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_emit(log_level level, const char *event, const log_field *fields) {
  if (level < log_min_level) return;
  FILE *out = log_stream ? log_stream : stderr;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm utc;
  gmtime_r(&now.tv_sec, &utc);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);

  flockfile(out);
  fprintf(out, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"service\":", stamp, now.tv_nsec / 1000000,
          log_level_names[level]);
  json_write_fstring(out, log_service);
  fputs(",\"event\":", out);
  json_write_fstring(out, event);
  for (const log_field *field = fields; field && field->type != LOG_FIELD_END; field++) {
    fputc(',', out);
    json_write_fstring(out, field->key);
    fputc(':', out);
    switch (field->type) {
      case LOG_FIELD_TEXT:
      case LOG_FIELD_ERRTEXT:
        log_write_text_value(out, field->text ? field->text : "");
        break;
      case LOG_FIELD_ID:
        log_write_text_value(out, log_is_identifier(field->text) ? field->text : "[invalid]");
        break;
      case LOG_FIELD_INT:
        fprintf(out, "%lld", (long long)field->integer);
        break;
      case LOG_FIELD_DOUBLE:
        fprintf(out, "%.6g", field->real);
        break;
      case LOG_FIELD_BOOL:
        fputs(field->integer ? "true" : "false", out);
        break;
      case LOG_FIELD_END:
        break;
    }
  }
  fputs("}\n", out);
  fflush(out);
  funlockfile(out);
}
