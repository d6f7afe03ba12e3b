/* tail_format: JSON lines, enum names and times (see tail_format.h). */
#include "tail_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "messages.h"

/* "AUDIT_STAGE_INGEST" -> "ingest": the enum's value name, lowercased,
 * without prefix. */
static const char *tail_enum_name(const ProtobufCEnumDescriptor *d, int value, const char *prefix,
                                  char *buf, size_t len) {
  const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
  if (!v) {
    snprintf(buf, len, "%d", value);
    return buf;
  }
  const char *name = v->name;
  size_t plen = strlen(prefix);
  if (!strncmp(name, prefix, plen)) name += plen;
  size_t i = 0;
  for (; name[i] && i + 1 < len; i++)
    buf[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
  buf[i] = '\0';
  return buf;
}

int tail_enum_parse(const ProtobufCEnumDescriptor *d, const char *prefix, const char *text) {
  char buf[64];
  for (unsigned i = 0; i < d->n_values; i++) {
    tail_enum_name(d, d->values[i].value, prefix, buf, sizeof buf);
    if (!strcmp(buf, text) && d->values[i].value != 0) return d->values[i].value;
  }
  return -1;
}

/* ms since the epoch, or ISO-8601 date / date-time with optional fraction
 * and zone (Z or +HH:MM; none means UTC). */
int tail_parse_time(const char *text, int64_t *out) {
  char *end;
  errno = 0;
  long long ms = strtoll(text, &end, 10);
  if (!errno && end != text && !*end) {
    *out = ms;
    return 0;
  }
  int y, mo, d, h = 0, mi = 0, n = 0;
  double s = 0;
  if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3) return -1;
  const char *p = text + n;
  if (*p == 'T' || *p == ' ') {
    int m = 0;
    if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &m) != 2) return -1;
    p += 1 + m;
    if (*p == ':') {
      char *e;
      s = strtod(p + 1, &e);
      if (e == p + 1) return -1;
      p = e;
    }
  }
  long offset_s = 0;
  if (*p == 'Z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om = 0, m = 0;
    if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) < 1) return -1;
    if (m == 0) m = 2;
    offset_s = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
    p += 1 + m;
  }
  if (*p) return -1;
  struct tm tm = {0};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  time_t t = timegm(&tm);
  *out = ((int64_t)t - offset_s) * 1000 + (int64_t)(s * 1000.0 + 0.5);
  return 0;
}

static void tail_json_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c < 0x20)
      fprintf(out, "\\u%04x", c);
    else
      fputc(c, out);
  }
  fputc('"', out);
}

static void tail_json_hex(FILE *out, const uint8_t *data, size_t len) {
  char pair[3];
  fputc('"', out);
  for (size_t i = 0; i < len; i++) {
    hex_encode(data + i, 1, pair);
    fputs(pair, out);
  }
  fputc('"', out);
}

static void tail_iso(FILE *out, int64_t us) {
  time_t secs = (time_t)(us / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  fprintf(out, "\"%s.%06" PRId64 "Z\"", date, us % 1000000);
}

static int64_t tail_record_time_ms(const Lindung__V1__AuditRecord *r) {
  if (r->event->handled_at_ms) return (int64_t)r->event->handled_at_ms;
  return (int64_t)(r->appended_at_us / 1000);
}

bool tail_matches(const tail_options *o, const Lindung__V1__AuditRecord *r) {
  const Lindung__V1__AuditEvent *e = r->event;
  if (o->partner && strcmp(e->partner_id, o->partner)) return false;
  if (o->venue && strcmp(e->venue_id, o->venue)) return false;
  if (o->stage >= 0 && (int)e->stage != o->stage) return false;
  if (o->outcome >= 0 && (int)e->outcome != o->outcome) return false;
  int64_t t = tail_record_time_ms(r);
  if (o->since_ms >= 0 && t < o->since_ms) return false;
  if (o->until_ms >= 0 && t >= o->until_ms) return false;
  return true;
}

void tail_print_record(FILE *out, const Lindung__V1__AuditRecord *r) {
  const Lindung__V1__AuditEvent *e = r->event;
  char b1[64];
  fprintf(out, "{\"type\":\"record\",\"seq\":%" PRIu64 ",\"stage\":\"%s\"", r->seq,
          tail_enum_name(&lindung__v1__audit_stage__descriptor, e->stage, "AUDIT_STAGE_", b1,
                         sizeof b1));
  fprintf(out, ",\"outcome\":\"%s\"",
          tail_enum_name(&lindung__v1__audit_outcome__descriptor, e->outcome, "AUDIT_OUTCOME_", b1,
                         sizeof b1));
  fputs(",\"request_id\":", out);
  tail_json_hex(out, e->request_id.data, e->request_id.len);
  if (*e->partner_id) {
    fputs(",\"partner_id\":", out);
    tail_json_string(out, e->partner_id);
  }
  if (e->kind)
    fprintf(out, ",\"kind\":\"%s\"",
            tail_enum_name(&lindung__v1__request_kind__descriptor, e->kind, "REQUEST_KIND_", b1,
                           sizeof b1));
  if (e->action)
    fprintf(out, ",\"action\":\"%s\"",
            tail_enum_name(&lindung__v1__action__descriptor, e->action, "", b1, sizeof b1));
  if (*e->venue_id) {
    fputs(",\"venue_id\":", out);
    tail_json_string(out, e->venue_id);
  }
  if (e->decision)
    fprintf(out, ",\"decision\":\"%s\"",
            tail_enum_name(&lindung__v1__decision__descriptor, e->decision, "", b1, sizeof b1));
  if (e->error) fprintf(out, ",\"error\":\"%s\"", messages_error_name(e->error));
  if (e->subject_pseudonym.len) {
    fputs(",\"subject_pseudonym\":", out);
    tail_json_hex(out, e->subject_pseudonym.data, e->subject_pseudonym.len);
  }
  if (e->sent_at_ms) fprintf(out, ",\"sent_at_ms\":%" PRIu64, e->sent_at_ms);
  if (e->received_at_ms) fprintf(out, ",\"received_at_ms\":%" PRIu64, e->received_at_ms);
  if (e->handled_at_ms) fprintf(out, ",\"handled_at_ms\":%" PRIu64, e->handled_at_ms);
  fputs(",\"service\":", out);
  tail_json_string(out, e->service);
  if (*e->detail) {
    fputs(",\"detail\":", out);
    tail_json_string(out, e->detail);
  }
  if (*e->actor) {
    fputs(",\"actor\":", out);
    tail_json_string(out, e->actor);
  }
  fputs(",\"appended_at\":", out);
  tail_iso(out, (int64_t)r->appended_at_us);
  fputs(",\"prev_hash\":", out);
  tail_json_hex(out, r->prev_hash.data, r->prev_hash.len);
  fputs(",\"hash\":", out);
  tail_json_hex(out, r->hash.data, r->hash.len);
  fputs("}\n", out);
}

void tail_print_checkpoint(FILE *out, const Lindung__V1__AuditCheckpoint *c) {
  fprintf(out, "{\"type\":\"checkpoint\",\"seq\":%" PRIu64 ",\"head_hash\":", c->seq);
  tail_json_hex(out, c->head_hash.data, c->head_hash.len);
  fputs(",\"signed_at\":", out);
  tail_iso(out, (int64_t)c->signed_at_us);
  fputs(",\"public_key\":", out);
  tail_json_hex(out, c->public_key.data, c->public_key.len);
  fputs(",\"signature\":", out);
  tail_json_hex(out, c->signature.data, c->signature.len);
  fputs("}\n", out);
}

