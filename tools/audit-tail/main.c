/* lindung-audit-tail: the analysts' view of the audit trail. Reads the
 * audit.log topic (partitions assigned directly: no consumer group, no
 * committed offsets) and prints the records as JSON lines, filtered by
 * partner, venue, stage, outcome and time; or, with --raw, every message as
 * a hex line, the capture format `lindung-audit verify --capture` reads.
 * audit.log holds no NIK, token, name or key material (a person appears
 * only as a pseudonym), so neither does anything printed here. */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "hex.h"
#include "json_write.h"
#include "kafka_security.h"
#include "lindung/v1/internal.pb-c.h"
#include "messages.h"
#include "proto_limits.h"
#include "topics.h"

static const char tail_help[] =
    "usage: lindung-audit-tail [options]\n"
    "\n"
    "Prints the audit.log topic as JSON lines, one per record, sorted by seq (with\n"
    "--follow: as they arrive), copies of a record published twice shown once.\n"
    "Stops at the end of the partitions unless --follow.\n"
    "\n"
    "  --partner ID       only records of this partner\n"
    "  --venue ID         only records naming this venue\n"
    "  --stage S          ingest, decrypt, resolve or admin\n"
    "  --outcome O        forwarded, answered, rejected, deadlettered, applied, refused\n"
    "  --since T          only records handled at or after T (ms since the epoch,\n"
    "                     or ISO-8601: 2024-05-01, 2024-05-01T08:00:00Z, ...+07:00)\n"
    "  --until T          only records handled before T\n"
    "  --follow           keep reading new records until interrupted\n"
    "  --from-beginning   read from the start of the topic (the default)\n"
    "  --from-end         read only what arrives from now on (implies --follow)\n"
    "  --checkpoints      also print signed checkpoints ({\"type\":\"checkpoint\",...})\n"
    "  --raw              print every message (records and checkpoints) as one hex\n"
    "                     line, unfiltered: a capture for `lindung-audit verify\n"
    "                     --capture FILE`\n"
    "  -h, --help         this text\n"
    "\n"
    "Environment: LINDUNG_KAFKA_BROKERS (required); LINDUNG_KAFKA_SECURITY_PROTOCOL (ssl),\n"
    "LINDUNG_KAFKA_SSL_CA_FILE, LINDUNG_KAFKA_SSL_CERT_FILE, LINDUNG_KAFKA_SSL_KEY_FILE (the\n"
    "analyst's certificate: it may read audit.log, in consumer groups analyst-*);\n"
    "LINDUNG_KAFKA_PROPERTIES (optional librdkafka settings, name=value separated by commas).\n"
    "Exit status: 0, 1 on a Kafka error, 2 on a usage error.\n";

typedef struct tail_options {
  const char *partner, *venue;
  int stage, outcome; /* -1: any */
  int64_t since_ms, until_ms;
  bool follow, from_end, raw, checkpoints;
} tail_options;

static volatile sig_atomic_t tail_stop;
static void tail_on_signal(int signo) {
  (void)signo;
  tail_stop = 1;
}

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

static int tail_enum_parse(const ProtobufCEnumDescriptor *d, const char *prefix, const char *text) {
  char buf[64];
  for (unsigned i = 0; i < d->n_values; i++) {
    tail_enum_name(d, d->values[i].value, prefix, buf, sizeof buf);
    if (!strcmp(buf, text) && d->values[i].value != 0) return d->values[i].value;
  }
  return -1;
}

/* ms since the epoch, or ISO-8601 date / date-time with optional fraction
 * and zone (Z or +HH:MM; none means UTC). */
static int tail_parse_time(const char *text, int64_t *out) {
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

static bool tail_matches(const tail_options *o, const Lindung__V1__AuditRecord *r) {
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

static void tail_print_record(FILE *out, const Lindung__V1__AuditRecord *r) {
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
    json_write_fstring(out, e->partner_id);
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
    json_write_fstring(out, e->venue_id);
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
  json_write_fstring(out, e->service);
  if (*e->detail) {
    fputs(",\"detail\":", out);
    json_write_fstring(out, e->detail);
  }
  if (*e->actor) {
    fputs(",\"actor\":", out);
    json_write_fstring(out, e->actor);
  }
  fputs(",\"appended_at\":", out);
  tail_iso(out, (int64_t)r->appended_at_us);
  fputs(",\"prev_hash\":", out);
  tail_json_hex(out, r->prev_hash.data, r->prev_hash.len);
  fputs(",\"hash\":", out);
  tail_json_hex(out, r->hash.data, r->hash.len);
  fputs("}\n", out);
}

static void tail_print_checkpoint(FILE *out, const Lindung__V1__AuditCheckpoint *c) {
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

/* Entries collected until the end of the partitions, printed sorted. */
typedef struct tail_entry {
  uint64_t seq;
  int is_checkpoint;
  Lindung__V1__AuditLogEntry *entry;
} tail_entry;

typedef struct tail_state {
  tail_options opts;
  tail_entry *entries;
  size_t count, cap;
  uint8_t *seen; /* bitmap of printed record seqs (follow mode) */
  size_t seen_bytes;
  uint64_t printed, bad;
} tail_state;

static int tail_entry_cmp(const void *a, const void *b) {
  const tail_entry *x = a, *y = b;
  if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
  return x->is_checkpoint - y->is_checkpoint;
}

static bool tail_seen(tail_state *st, uint64_t seq) {
  if (seq / 8 >= st->seen_bytes) {
    size_t bytes = st->seen_bytes ? st->seen_bytes : 4096;
    while (seq / 8 >= bytes) bytes *= 2;
    uint8_t *p = realloc(st->seen, bytes);
    if (!p) return false;
    memset(p + st->seen_bytes, 0, bytes - st->seen_bytes);
    st->seen = p;
    st->seen_bytes = bytes;
  }
  bool was = st->seen[seq / 8] & (1u << (seq % 8));
  st->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
  return was;
}

static void tail_emit(tail_state *st, Lindung__V1__AuditLogEntry *entry) {
  if (entry->entry_case == LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_RECORD) {
    if (!entry->record->event) return;
    if (tail_seen(st, entry->record->seq)) return;
    if (!tail_matches(&st->opts, entry->record)) return;
    tail_print_record(stdout, entry->record);
    st->printed++;
  } else if (entry->entry_case == LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_CHECKPOINT) {
    if (st->opts.checkpoints) tail_print_checkpoint(stdout, entry->checkpoint);
  }
}

static void tail_flush_sorted(tail_state *st) {
  if (st->count > 1) qsort(st->entries, st->count, sizeof *st->entries, tail_entry_cmp);
  for (size_t i = 0; i < st->count; i++) {
    tail_emit(st, st->entries[i].entry);
    protobuf_c_message_free_unpacked(&st->entries[i].entry->base, NULL);
  }
  st->count = 0;
  fflush(stdout);
}

static void tail_message(tail_state *st, const rd_kafka_message_t *m, bool collecting) {
  if (st->opts.raw) {
    char pair[3];
    const uint8_t *p = m->payload;
    for (size_t i = 0; i < m->len; i++) {
      hex_encode(p + i, 1, pair);
      fputs(pair, stdout);
    }
    fputc('\n', stdout);
    st->printed++;
    return;
  }
  ProtobufCMessage *msg = NULL;
  if (proto_decode(&lindung__v1__audit_log_entry__descriptor, m->payload, m->len,
                   PROTO_MAX_MESSAGE_BYTES, &msg) != PROTO_DECODE_OK) {
    st->bad++;
    return;
  }
  Lindung__V1__AuditLogEntry *entry = (Lindung__V1__AuditLogEntry *)msg;
  if (!collecting) {
    tail_emit(st, entry);
    protobuf_c_message_free_unpacked(msg, NULL);
    fflush(stdout);
    return;
  }
  if (st->count == st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 4096;
    tail_entry *p = realloc(st->entries, cap * sizeof *p);
    if (!p) {
      protobuf_c_message_free_unpacked(msg, NULL);
      st->bad++;
      return;
    }
    st->entries = p;
    st->cap = cap;
  }
  tail_entry *t = &st->entries[st->count++];
  t->entry = entry;
  t->is_checkpoint = entry->entry_case == LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_CHECKPOINT;
  t->seq = t->is_checkpoint ? entry->checkpoint->seq
                            : (entry->entry_case == LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_RECORD
                                   ? entry->record->seq
                                   : 0);
}

static int tail_set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char err[256];
  if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "lindung-audit-tail: %s: %s\n", name, err);
    return -1;
  }
  return 0;
}

static int tail_usage_error(const char *what) {
  fprintf(stderr, "lindung-audit-tail: %s (see --help)\n", what);
  return 2;
}

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  tail_state st = {0};
  tail_options *o = &st.opts;
  o->stage = o->outcome = -1;
  o->since_ms = o->until_ms = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(tail_help, stdout);
      return 0;
    } else if (!strcmp(a, "--follow")) {
      o->follow = true;
    } else if (!strcmp(a, "--from-beginning")) {
      o->from_end = false;
    } else if (!strcmp(a, "--from-end")) {
      o->from_end = o->follow = true;
    } else if (!strcmp(a, "--raw")) {
      o->raw = true;
    } else if (!strcmp(a, "--checkpoints")) {
      o->checkpoints = true;
    } else if (!v) {
      return tail_usage_error("unknown option or missing value");
    } else if (!strcmp(a, "--partner")) {
      o->partner = v, i++;
    } else if (!strcmp(a, "--venue")) {
      o->venue = v, i++;
    } else if (!strcmp(a, "--stage")) {
      if ((o->stage = tail_enum_parse(&lindung__v1__audit_stage__descriptor, "AUDIT_STAGE_", v)) <
          0)
        return tail_usage_error("--stage must be ingest, decrypt, resolve or admin");
      i++;
    } else if (!strcmp(a, "--outcome")) {
      if ((o->outcome =
               tail_enum_parse(&lindung__v1__audit_outcome__descriptor, "AUDIT_OUTCOME_", v)) < 0)
        return tail_usage_error(
            "--outcome must be forwarded, answered, rejected, deadlettered, applied or refused");
      i++;
    } else if (!strcmp(a, "--since")) {
      if (tail_parse_time(v, &o->since_ms)) return tail_usage_error("--since: not a time");
      i++;
    } else if (!strcmp(a, "--until")) {
      if (tail_parse_time(v, &o->until_ms)) return tail_usage_error("--until: not a time");
      i++;
    } else {
      return tail_usage_error("unknown option");
    }
  }
  const char *brokers = getenv("LINDUNG_KAFKA_BROKERS");
  if (!brokers || !*brokers) return tail_usage_error("LINDUNG_KAFKA_BROKERS is not set");
  kafka_security security;
  char security_err[256];
  if (ksec_load_env(&security, security_err, sizeof security_err))
    return tail_usage_error(security_err);

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* librdkafka wants a group id even for assign(); this one never joins a
   * group (no subscribe) and never commits. It starts with "analyst-", the
   * only group prefix the analysts' principal may use. */
  char group[64];
  snprintf(group, sizeof group, "analyst-audit-tail-%ld", (long)getpid());
  if (tail_set(conf, "bootstrap.servers", brokers) || tail_set(conf, "group.id", group) ||
      tail_set(conf, "client.id", "lindung-audit-tail") ||
      tail_set(conf, "enable.partition.eof", "true") ||
      tail_set(conf, "enable.auto.commit", "false") ||
      tail_set(conf, "enable.auto.offset.store", "false"))
    return 2;
  if (ksec_conf_set(conf, &security, security_err, sizeof security_err)) {
    fprintf(stderr, "lindung-audit-tail: %s\n", security_err);
    rd_kafka_conf_destroy(conf);
    return 2;
  }
  const char *props = getenv("LINDUNG_KAFKA_PROPERTIES");
  if (props && *props) {
    char *copy = strdup(props), *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
      char *eq = strchr(kv, '=');
      if (!eq) {
        free(copy);
        return tail_usage_error("LINDUNG_KAFKA_PROPERTIES: expected name=value");
      }
      *eq = '\0';
      if (tail_set(conf, kv, eq + 1)) {
        free(copy);
        return 2;
      }
    }
    free(copy);
  }
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "lindung-audit-tail: %s\n", err);
    return 1;
  }
  rd_kafka_topic_t *topic = rd_kafka_topic_new(rk, TOPIC_AUDIT_LOG, NULL);
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t rerr = rd_kafka_metadata(rk, 0, topic, &md, 10000);
  if (rerr || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
    fprintf(stderr, "lindung-audit-tail: cannot read the partitions of %s: %s\n", TOPIC_AUDIT_LOG,
            rd_kafka_err2str(rerr ? rerr
                                  : (md && md->topic_cnt ? md->topics[0].err
                                                         : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)));
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(topic);
    rd_kafka_destroy(rk);
    return 1;
  }
  int partitions = md->topics[0].partition_cnt;
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; p++)
    rd_kafka_topic_partition_list_add(list, TOPIC_AUDIT_LOG, md->topics[0].partitions[p].id)->offset =
        o->from_end ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(topic);
  rerr = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (rerr) {
    fprintf(stderr, "lindung-audit-tail: assign: %s\n", rd_kafka_err2str(rerr));
    rd_kafka_destroy(rk);
    return 1;
  }
  signal(SIGINT, tail_on_signal);
  signal(SIGTERM, tail_on_signal);

  /* Until every partition reached its end once, entries are collected and
   * printed sorted by seq; after that (--follow) as they arrive. */
  bool *at_eof = calloc((size_t)partitions, sizeof *at_eof);
  int eof_count = 0, status = 0;
  bool collecting = !o->from_end;
  while (!tail_stop) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (m->partition >= 0 && m->partition < partitions && !at_eof[m->partition]) {
        at_eof[m->partition] = true;
        eof_count++;
      }
      rd_kafka_message_destroy(m);
      if (eof_count == partitions && collecting) {
        tail_flush_sorted(&st);
        collecting = false;
        if (!o->follow) break;
      }
      continue;
    }
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__TRANSPORT || m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        fprintf(stderr, "lindung-audit-tail: %s\n", rd_kafka_message_errstr(m));
      } else {
        fprintf(stderr, "lindung-audit-tail: %s\n", rd_kafka_message_errstr(m));
        status = 1;
        rd_kafka_message_destroy(m);
        break;
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    tail_message(&st, m, collecting);
    rd_kafka_message_destroy(m);
  }
  if (collecting) tail_flush_sorted(&st);
  fflush(stdout);
  if (st.bad)
    fprintf(stderr, "lindung-audit-tail: %" PRIu64 " messages were not audit.log entries\n",
            st.bad);
  free(at_eof);
  free(st.entries);
  free(st.seen);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return status;
}
