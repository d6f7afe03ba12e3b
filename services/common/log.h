/* log: JSON lines on stderr, built only from typed fields.
 *
 * There is no free-text message: an event name must be a string literal,
 * and every field is typed. String fields take literals (LOG_TEXT) or
 * identifiers checked against a strict alphabet (LOG_ID: partner ids, topic
 * names, error-code names), so nothing copied from a message body can
 * reach the log by accident. Any string value that still looks like a NIK
 * (16 digits), a token or key material (long hex or base64 runs) is printed
 * as "[redacted]".
 *
 *   LOG_INFO("partition_assigned", LOG_ID("topic", topic), LOG_INT("partition", p));
 *
 * Prefix log_. */
#ifndef LINDUNG_LOG_H
#define LINDUNG_LOG_H

#include <stdint.h>
#include <stdio.h>

typedef enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR } log_level;

typedef enum log_field_type {
  LOG_FIELD_END,
  LOG_FIELD_TEXT, /* a literal */
  LOG_FIELD_ID,   /* [A-Za-z0-9_.:/-], at most 64 characters, else "[invalid]" */
  LOG_FIELD_INT,
  LOG_FIELD_DOUBLE,
  LOG_FIELD_BOOL,
  LOG_FIELD_ERRTEXT, /* a library's error text, redacted if it looks sensitive */
} log_field_type;

typedef struct log_field {
  log_field_type type;
  const char *key;
  const char *text;
  int64_t integer;
  double real;
} log_field;

#define LOG_TEXT(k, literal) ((log_field){LOG_FIELD_TEXT, "" k "", "" literal "", 0, 0})
#define LOG_ID(k, id) ((log_field){LOG_FIELD_ID, "" k "", (id), 0, 0})
#define LOG_INT(k, v) ((log_field){LOG_FIELD_INT, "" k "", NULL, (int64_t)(v), 0})
#define LOG_DOUBLE(k, v) ((log_field){LOG_FIELD_DOUBLE, "" k "", NULL, 0, (double)(v)})
#define LOG_BOOL(k, v) ((log_field){LOG_FIELD_BOOL, "" k "", NULL, (v) ? 1 : 0, 0})

/* The one place a non-literal string may enter a log line: a library's
 * error text (librdkafka, libpq, libuv), which never holds message contents
 * in Lindung's use. It is still redacted like every other value. */
#define LOG_ERRTEXT(k, text) ((log_field){LOG_FIELD_ERRTEXT, "" k "", (text), 0, 0})

void log_setup(const char *service, log_level min_level);
void log_set_stream(FILE *stream); /* for tests; default stderr */

void log_emit(log_level level, const char *event, const log_field *fields);

#define LOG_EMIT_(level, event, ...) \
  log_emit(level, "" event "", (const log_field[]){__VA_ARGS__ __VA_OPT__(, ) (log_field){0}})
#define LOG_DEBUG(event, ...) LOG_EMIT_(LOG_LEVEL_DEBUG, event, __VA_ARGS__)
#define LOG_INFO(event, ...) LOG_EMIT_(LOG_LEVEL_INFO, event, __VA_ARGS__)
#define LOG_WARN(event, ...) LOG_EMIT_(LOG_LEVEL_WARN, event, __VA_ARGS__)
#define LOG_ERROR(event, ...) LOG_EMIT_(LOG_LEVEL_ERROR, event, __VA_ARGS__)

/* Exposed for tests: true when a value would be redacted. */
int log_value_is_sensitive(const char *value);

#endif
