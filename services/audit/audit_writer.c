/* audit_writer: appends audit.events to the chain, publishes the records
 * to audit.log and signs the head (see audit_writer.h). */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "audit_writer.h"

#include "audit_chain.h"
#include "audit_store.h"
#include "audit_watch.h"
#include "hex.h"
#include "log.h"
#include "proto_limits.h"
#include "topics.h"

#define AUDIT_FINAL_CHECKPOINT_S 5.0
#define AUDIT_RETRY_S 1.0

typedef struct audit_item {
  kq_input *input;
  Lindung__V1__AuditEvent *event;
  uint8_t source_id[16];
  double taken_at;
} audit_item;

struct audit_writer {
  service *svc;
  audit_writer_config config;

  /* Inputs waiting, in order; the first batch_count are the batch in
   * flight (or to retry). */
  audit_item *queue;
  size_t q_head, q_count, q_cap;
  size_t batch_count;
  bool batch_running;
  bool catch_up; /* an empty append to publish records left unpublished */
  double batch_started;
  size_t careful; /* after a refused batch: append this many one by one */
  double retry_at;
  buffer json;

  bool head_known, head_running;
  bool head_read_once; /* the head was read since the process started */
  uint64_t connects_seen; /* pgq_stats.connects when the head was last read */
  int64_t head_seq;
  uint8_t head_hash[AUDIT_HASH_BYTES];
  int64_t published; /* highest seq produced to audit.log */
  int64_t checkpoint_seq;
  int64_t checkpoint_at_us;
  bool checkpoint_running;
  double checkpoint_due;

  bool db_away;
  bool db_failing;
  const char *last_problem; /* last logged, to log state changes only */
  double final_deadline;
  bool final_reported;
  audit_watch watch;

  metrics_family *appended_total, *duplicates_total, *batch_size, *head_gauge, *checkpoint_age,
      *checkpoints_total, *published_total, *arrival_delay, *commit_delay, *answers_total,
      *verdict_latency;
};


static const double audit_batch_buckets[] = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000};

static void audit_pump(audit_writer *a);

static void audit_problem(audit_writer *a, const char *what, const char *detail) {
  if (a->last_problem == what) return;
  a->last_problem = what;
  LOG_WARN("audit_db_problem", LOG_ID("problem", what),
           LOG_ERRTEXT("reason", detail ? detail : ""));
}

static void audit_recovered(audit_writer *a) {
  if (!a->last_problem) return;
  a->last_problem = NULL;
  LOG_INFO("audit_db_recovered", LOG_INT("head_seq", a->head_seq));
}

static audit_item *audit_item_at(audit_writer *a, size_t i) {
  return &a->queue[a->q_head + i];
}

static int audit_queue_push(audit_writer *a, const audit_item *item) {
  if (a->q_head + a->q_count == a->q_cap) {
    if (a->q_head > 0) {
      memmove(a->queue, a->queue + a->q_head, a->q_count * sizeof *a->queue);
      a->q_head = 0;
    }
    if (a->q_count == a->q_cap) {
      size_t cap = a->q_cap ? a->q_cap * 2 : 1024;
      audit_item *q = realloc(a->queue, cap * sizeof *q);
      if (!q) return -ENOMEM;
      a->queue = q;
      a->q_cap = cap;
    }
  }
  a->queue[a->q_head + a->q_count++] = *item;
  return 0;
}

static void audit_queue_drop(audit_writer *a, size_t n) {
  a->q_head += n;
  a->q_count -= n;
  if (a->q_count == 0) a->q_head = 0;
}

static void audit_item_finish(audit_writer *a, audit_item *item, const char *outcome) {
  service_count(a->svc, outcome, service_monotonic_s() - item->taken_at);
  protobuf_c_message_free_unpacked(&item->event->base, NULL);
  item->event = NULL;
  kq_input_done(item->input);
}

/* ---- inputs ---- */

static void audit_dead_letter(audit_writer *a, kq_input *input, const char *reason, double t0) {
  if (service_dead_letter(a->svc, input, reason) != 0)
    LOG_ERROR("dead_letter_failed", LOG_TEXT("topic", TOPIC_SCAN_DEADLETTER));
  service_count(a->svc, "deadletter", service_monotonic_s() - t0);
  kq_input_done(input);
}

void audit_writer_on_batch(void *ctx, kq_input *const *inputs, size_t count) {
  audit_writer *a = ctx;
  for (size_t i = 0; i < count; i++) {
    kq_input *input = inputs[i];
    double t0 = service_monotonic_s();
    ProtobufCMessage *msg = NULL;
    proto_decode_status st = proto_decode(&lindung__v1__audit_event__descriptor, input->value,
                                          input->value_len, PROTO_MAX_MESSAGE_BYTES, &msg);
    if (st != PROTO_DECODE_OK) {
      audit_dead_letter(a, input, proto_decode_reason(st), t0);
      continue;
    }
    Lindung__V1__AuditEvent *event = (Lindung__V1__AuditEvent *)msg;
    const char *problem = audit_event_problem(event);
    if (problem) {
      protobuf_c_message_free_unpacked(msg, NULL);
      audit_dead_letter(a, input, problem, t0);
      continue;
    }
    audit_item item = {.input = input, .event = event, .taken_at = t0};
    if (input->timestamp_ms > 0)
      metrics_observe(a->arrival_delay, NULL,
                      ((double)service_now_ms() - (double)input->timestamp_ms) / 1000.0);
    /* An event without a request id (an administrative change) still
     * dedupes on redelivery: its id is then a hash of its exact bytes. (Its
     * place in audit.events would not do: offsets start again on a new
     * cluster while the audit trail stays.) */
    crypto_generichash(item.source_id, sizeof item.source_id, input->value, input->value_len, NULL,
                       0);
    if (audit_queue_push(a, &item) != 0) {
      protobuf_c_message_free_unpacked(msg, NULL);
      LOG_ERROR("out_of_memory", LOG_TEXT("where", "queue"));
      audit_dead_letter(a, input, "audit_out_of_memory", t0);
    }
  }
  audit_pump(a);
}

/* ---- appending ---- */

static int audit_publish_row(audit_writer *a, const audit_row *row, kq_input *input) {
  Lindung__V1__AuditRecord record;
  Lindung__V1__AuditEvent event;
  Lindung__V1__AuditLogEntry entry = LINDUNG__V1__AUDIT_LOG_ENTRY__INIT;
  audit_record_fill(row, &record, &event);
  entry.entry_case = LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_RECORD;
  entry.record = &record;
  uint8_t stack[8192];
  size_t len = lindung__v1__audit_log_entry__get_packed_size(&entry);
  uint8_t *buf = len <= sizeof stack ? stack : malloc(len);
  if (!buf) return -ENOMEM;
  lindung__v1__audit_log_entry__pack(&entry, buf);
  uint8_t key[8];
  audit_seq_key(row->seq, key);
  int rc = service_produce(a->svc, input, TOPIC_AUDIT_LOG, key, sizeof key, buf, len);
  if (buf != stack) free(buf);
  return rc;
}

/* The partner-facing golden signals, read off the records as they are
 * appended: answers per partner, and the time from ingest receiving a
 * request to the resolver answering it. Only answered resolve records
 * count: their partner passed ingest's registry check, so the label's
 * values are the registered partners, never a sender's invention. */
static void audit_count_answer(audit_writer *a, const audit_row *row) {
  if (row->stage != LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_RESOLVE ||
      row->outcome != LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_ANSWERED)
    return;
  char partner[65];
  if (row->partner_id.present && row->partner_id.len < sizeof partner) {
    memcpy(partner, row->partner_id.data, row->partner_id.len);
    partner[row->partner_id.len] = '\0';
    metrics_add(a->answers_total, partner, 1);
  }
  if (row->received_at_ms.present && row->handled_at_ms.present &&
      row->handled_at_ms.value >= row->received_at_ms.value)
    metrics_observe(a->verdict_latency, NULL,
                    (double)(row->handled_at_ms.value - row->received_at_ms.value) / 1000.0);
}

/* SQLSTATE classes that blame the batch's data (22 data exception, 23
 * integrity constraint, 54 program limit), rather than the server's state. */
static bool audit_data_error(const char *state) {
  return state &&
         (!strncmp(state, "22", 2) || !strncmp(state, "23", 2) || !strncmp(state, "54", 2));
}

static void audit_on_append(void *arg, const PGresult *res, const char *error) {
  audit_writer *a = arg;
  a->batch_running = false;
  bool catch_up = a->catch_up;
  a->catch_up = false;
  size_t n = a->batch_count;
  if (error) {
    a->db_failing = true;
    if (!res) {
      /* Connection lost or pipeline aborted: the batch stays first in the
       * queue and is retried once PostgreSQL answers again. Whether it
       * committed does not matter: audit_append skips what is recorded and
       * returns what was not yet published. */
      audit_problem(a, "audit_append_interrupted", error);
      a->retry_at = service_monotonic_s() + 0.1;
      return;
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    audit_problem(a, "audit_append_refused", state ? state : error);
    a->retry_at = service_monotonic_s() + AUDIT_RETRY_S;
    if (!audit_data_error(state)) {
      /* The server is shutting down, overloaded, a lock timed out...: not
       * the events' fault, retry them as they are. */
    } else if (n == 1 && !catch_up) {
      /* Refused on its own, so this event is the cause: set it aside
       * rather than stop the chain. */
      audit_item *item = audit_item_at(a, 0);
      protobuf_c_message_free_unpacked(&item->event->base, NULL);
      item->event = NULL;
      audit_dead_letter(a, item->input, "refused_by_database", item->taken_at);
      audit_queue_drop(a, 1);
      a->batch_count = 0;
      if (a->careful) a->careful--;
      a->retry_at = 0;
    } else if (n > 1) {
      a->careful = n; /* find the culprit: one at a time */
    }
    audit_pump(a);
    return;
  }
  a->db_failing = false;
  audit_recovered(a);
  int rows = PQntuples(res);
  bool *appended = calloc(n ? n : 1, sizeof *appended);
  size_t appended_count = 0;
  for (int i = 0; i < rows; i++) {
    audit_store_row row;
    if (audit_store_row_decode(res, i, 1, &row) != 0) {
      LOG_ERROR("audit_row_malformed", LOG_INT("row", i));
      continue;
    }
    long idx = PQgetisnull(res, i, 0) ? -1 : strtol(PQgetvalue(res, i, 0), NULL, 10);
    kq_input *input = NULL;
    if (idx >= 0 && (size_t)idx < n) {
      input = audit_item_at(a, (size_t)idx)->input;
      if (appended) appended[idx] = true;
      appended_count++;
      audit_count_answer(a, &row.row);
    } else if (n > 0) {
      /* A record appended earlier whose publication was lost: it rides
       * with this batch's first input. */
      input = audit_item_at(a, 0)->input;
    }
    if (row.row.seq > a->published) {
      if (audit_publish_row(a, &row.row, input) != 0)
        LOG_ERROR("publish_failed", LOG_TEXT("topic", TOPIC_AUDIT_LOG),
                  LOG_INT("seq", row.row.seq));
      a->published = row.row.seq;
      metrics_add(a->published_total, NULL, 1);
    }
    if (row.row.seq > a->head_seq) {
      a->head_seq = row.row.seq;
      memcpy(a->head_hash, row.row.hash, AUDIT_HASH_BYTES);
    }
    audit_store_row_free(&row);
  }
  double committed_ms = (double)service_now_ms();
  LOG_DEBUG(
      "append_committed", LOG_INT("events", n), LOG_INT("records", rows),
      LOG_DOUBLE("round_trip_s", service_monotonic_s() - a->batch_started),
      LOG_DOUBLE("oldest_wait_s", n ? service_monotonic_s() - audit_item_at(a, 0)->taken_at : 0));
  for (size_t i = 0; i < n; i++) {
    audit_item *item = audit_item_at(a, i);
    if (item->input->timestamp_ms > 0)
      metrics_observe(a->commit_delay, NULL,
                      (committed_ms - (double)item->input->timestamp_ms) / 1000.0);
    audit_item_finish(a, item, appended && appended[i] ? "appended" : "duplicate");
  }
  free(appended);
  audit_queue_drop(a, n);
  a->batch_count = 0;
  if (a->careful) a->careful = a->careful > n ? a->careful - n : 0;
  if (n) metrics_observe(a->batch_size, NULL, (double)n);
  metrics_add(a->appended_total, NULL, (double)appended_count);
  if (n > appended_count) metrics_add(a->duplicates_total, NULL, (double)(n - appended_count));
  metrics_set(a->head_gauge, NULL, (double)a->head_seq);
  audit_pump(a);
}

static void audit_pump(audit_writer *a) {
  if (a->batch_running || !a->head_known || !pgq_connected(service_db(a->svc))) return;
  if (a->q_count == 0 && !a->catch_up) return;
  if (service_monotonic_s() < a->retry_at) return;
  size_t n = a->q_count < a->config.max_append ? a->q_count : a->config.max_append;
  if (a->careful && n > 1) n = 1;
  audit_store_json_begin(&a->json);
  for (size_t i = 0; i < n; i++) {
    audit_item *item = audit_item_at(a, i);
    audit_row row;
    audit_row_from_event(item->event, item->source_id, &row);
    audit_store_json_add(&a->json, &row);
  }
  audit_store_json_end(&a->json);
  if (a->json.failed) {
    LOG_ERROR("out_of_memory", LOG_TEXT("where", "batch"));
    a->retry_at = service_monotonic_s() + AUDIT_RETRY_S;
    return;
  }
  char published[32];
  snprintf(published, sizeof published, "%" PRId64, a->published);
  const char *values[] = {published, a->json.data};
  int rc =
      pgq_exec_prepared(service_db(a->svc), AUDIT_STORE_APPEND, 2, values, NULL, NULL, audit_on_append, a);
  if (rc != 0) {
    if (rc != -ENOTCONN) audit_problem(a, "audit_append_not_sent", strerror(-rc));
    a->retry_at = service_monotonic_s() + 0.1;
    return;
  }
  a->batch_count = n;
  a->batch_running = true;
  a->batch_started = service_monotonic_s();
}

/* ---- chain head and checkpoints ---- */

static void audit_on_head(void *arg, const PGresult *res, const char *error) {
  audit_writer *a = arg;
  a->head_running = false;
  if (error || PQntuples(res) != 1) {
    audit_problem(a, "audit_head_failed", error ? error : "no row");
    return;
  }
  a->head_seq = 0;
  memset(a->head_hash, 0, sizeof a->head_hash);
  if (!PQgetisnull(res, 0, 0)) {
    const char *hash = PQgetvalue(res, 0, 1);
    a->head_seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (strlen(hash) != 2 + 2 * AUDIT_HASH_BYTES ||
        hex_decode(hash + 2, a->head_hash, AUDIT_HASH_BYTES)) {
      audit_problem(a, "audit_head_failed", "malformed hash");
      return;
    }
  }
  a->checkpoint_seq = PQgetisnull(res, 0, 2) ? 0 : strtoll(PQgetvalue(res, 0, 2), NULL, 10);
  a->checkpoint_at_us = PQgetisnull(res, 0, 3) ? 0 : strtoll(PQgetvalue(res, 0, 3), NULL, 10);
  /* Records after the last signed checkpoint may not have reached
   * audit.log before the previous process stopped, and at the start of a
   * process neither may those of the last minutes before the head: a
   * checkpoint is signed once its records are appended, while the Kafka
   * transaction that publishes them (the previous process's) may still be
   * open, and a kill aborts it. Publish them again (readers drop identical
   * copies by seq). A reconnection to PostgreSQL aborts no transaction. */
  a->published = a->checkpoint_seq < a->head_seq ? a->checkpoint_seq : a->head_seq;
  a->head_read_once = true;
  if (!PQgetisnull(res, 0, 4)) {
    int64_t window_start = strtoll(PQgetvalue(res, 0, 4), NULL, 10) - 1;
    if (window_start < a->published) a->published = window_start > 0 ? window_start : 0;
  }
  a->catch_up = a->published < a->head_seq;
  a->head_known = true;
  metrics_set(a->head_gauge, NULL, (double)a->head_seq);
  LOG_INFO("audit_chain_head", LOG_INT("head_seq", a->head_seq),
           LOG_INT("checkpoint_seq", a->checkpoint_seq),
           LOG_INT("republishing", a->head_seq - a->published));
  audit_pump(a);
}

typedef struct audit_checkpoint_job {
  audit_writer *writer;
  audit_checkpoint checkpoint;
} audit_checkpoint_job;

static void audit_on_checkpoint(void *arg, const PGresult *res, const char *error) {
  audit_checkpoint_job *job = arg;
  audit_writer *a = job->writer;
  (void)res;
  a->checkpoint_running = false;
  if (error) {
    LOG_WARN("checkpoint_failed", LOG_ERRTEXT("reason", error),
             LOG_INT("seq", job->checkpoint.seq));
    free(job);
    return;
  }
  Lindung__V1__AuditCheckpoint cp;
  Lindung__V1__AuditLogEntry entry = LINDUNG__V1__AUDIT_LOG_ENTRY__INIT;
  audit_checkpoint_fill(&job->checkpoint, &cp);
  entry.entry_case = LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_CHECKPOINT;
  entry.checkpoint = &cp;
  uint8_t buf[512], key[8];
  size_t len = lindung__v1__audit_log_entry__pack(&entry, buf);
  audit_seq_key(job->checkpoint.seq, key);
  if (service_produce(a->svc, NULL, TOPIC_AUDIT_LOG, key, sizeof key, buf, len) != 0)
    LOG_ERROR("publish_failed", LOG_TEXT("topic", TOPIC_AUDIT_LOG),
              LOG_INT("seq", job->checkpoint.seq));
  a->checkpoint_seq = job->checkpoint.seq;
  a->checkpoint_at_us = job->checkpoint.signed_at_us;
  metrics_add(a->checkpoints_total, NULL, 1);
  LOG_DEBUG("checkpoint_signed", LOG_INT("seq", job->checkpoint.seq));
  free(job);
}

/* Signs the current head when it moved since the last checkpoint. */
static void audit_checkpoint_now(audit_writer *a) {
  if (!a->head_known || a->checkpoint_running || a->head_seq <= a->checkpoint_seq ||
      !pgq_connected(service_db(a->svc)))
    return;
  audit_checkpoint_job *job = calloc(1, sizeof *job);
  if (!job) return;
  job->writer = a;
  job->checkpoint.seq = a->head_seq;
  memcpy(job->checkpoint.head_hash, a->head_hash, AUDIT_HASH_BYTES);
  job->checkpoint.signed_at_us = (int64_t)service_now_ms() * 1000;
  if (audit_checkpoint_sign(&job->checkpoint, a->config.seed) != 0) {
    free(job);
    return;
  }
  char seq[32], hash[2 * AUDIT_HASH_BYTES + 1], at[40], pk[2 * AUDIT_PUBLIC_KEY_BYTES + 1],
      sig[2 * AUDIT_SIGNATURE_BYTES + 1];
  snprintf(seq, sizeof seq, "%" PRId64, job->checkpoint.seq);
  hex_encode(job->checkpoint.head_hash, AUDIT_HASH_BYTES, hash);
  audit_store_timestamp(job->checkpoint.signed_at_us, at);
  hex_encode(job->checkpoint.public_key, AUDIT_PUBLIC_KEY_BYTES, pk);
  hex_encode(job->checkpoint.signature, AUDIT_SIGNATURE_BYTES, sig);
  const char *values[] = {seq, hash, at, pk, sig};
  if (pgq_exec_prepared(service_db(a->svc), AUDIT_STORE_CHECKPOINT, 5, values, NULL, NULL,
                        audit_on_checkpoint, job) != 0) {
    free(job);
    return;
  }
  a->checkpoint_running = true;
}

void audit_writer_on_tick(void *ctx) {
  audit_writer *a = ctx;
  bool connected = pgq_connected(service_db(a->svc));
  /* The runtime pauses consuming meanwhile (before the first connection
   * this is just the start). */
  if (connected != !a->db_away) {
    a->db_away = !connected;
    if (a->db_away && a->head_known) audit_problem(a, "audit_db_unavailable", "consuming paused");
  }
  /* After a reconnection the database may not be where this process left
   * it (an immediate restart under asynchronous commit, a failover to a
   * replica that lagged): read the chain head again before appending,
   * publishing or signing, so no checkpoint signs a head the database lacks
   * and no record is left unpublished because its seq was used before. */
  pgq_stats db_stats;
  pgq_get_stats(service_db(a->svc), &db_stats);
  if (db_stats.connects != a->connects_seen) {
    if (a->connects_seen && a->head_known) {
      a->head_known = false;
      LOG_INFO("audit_chain_head_reread", LOG_INT("head_seq", a->head_seq));
    }
    a->connects_seen = db_stats.connects;
  }
  if (connected && !a->head_known && !a->head_running) {
    /* Only a starting process looks for the republish window. */
    const char *window[] = {a->head_read_once ? "0" : AUDIT_REPUBLISH_RECORDS};
    if (pgq_exec_prepared(service_db(a->svc), AUDIT_STORE_HEAD, 1, window, NULL, NULL, audit_on_head,
                          a) == 0)
      a->head_running = true;
  }
  double now = service_monotonic_s();
  if (now >= a->checkpoint_due) {
    a->checkpoint_due = now + a->config.checkpoint_s;
    audit_checkpoint_now(a);
  }
  /* How long the head has gone unsigned: 0 while the last checkpoint covers
   * it, so an idle chain does not look stale. */
  if (a->head_seq > a->checkpoint_seq && a->checkpoint_at_us)
    metrics_set(a->checkpoint_age, NULL,
                ((double)service_now_ms() * 1000.0 - (double)a->checkpoint_at_us) / 1e6);
  else if (a->head_seq == a->checkpoint_seq)
    metrics_set(a->checkpoint_age, NULL, 0);
  audit_pump(a);
  audit_watch_tick(&a->watch);
}

bool audit_writer_ready(void *ctx, const char **reason) {
  audit_writer *a = ctx;
  if (!a->head_known || a->db_failing) {
    *reason = "postgres";
    return false;
  }
  return true;
}

/* ---- lifetime ---- */

void audit_writer_on_inputs_finished(void *ctx) {
  audit_writer *a = ctx;
  a->final_deadline = service_monotonic_s() + AUDIT_FINAL_CHECKPOINT_S;
  audit_checkpoint_now(a);
}

bool audit_writer_busy(void *ctx) {
  audit_writer *a = ctx;
  if (a->checkpoint_running && service_monotonic_s() < a->final_deadline) return true;
  if (!a->final_reported && a->head_seq > a->checkpoint_seq)
    LOG_WARN("final_checkpoint_missing", LOG_INT("head_seq", a->head_seq));
  a->final_reported = true;
  return false;
}

audit_writer *audit_writer_new(const audit_writer_config *config) {
  audit_writer *a = calloc(1, sizeof *a);
  if (a) a->config = *config;
  return a;
}

void audit_writer_attach(audit_writer *a, service *svc) {
  a->svc = svc;
  metrics_registry *m = service_metrics(svc);
  a->appended_total =
      metrics_counter(m, "lindung_audit_appended_total", "Records appended to the chain.", NULL);
  a->duplicates_total =
      metrics_counter(m, "lindung_audit_duplicates_total",
                      "Events skipped: (request_id, stage) already recorded.", NULL);
  a->published_total =
      metrics_counter(m, "lindung_audit_published_total", "Records produced to audit.log.", NULL);
  a->checkpoints_total =
      metrics_counter(m, "lindung_audit_checkpoints_total", "Signed checkpoints stored.", NULL);
  a->batch_size = metrics_histogram(m, "lindung_audit_batch_size", "Events per append round trip.",
                                    NULL, audit_batch_buckets,
                                    sizeof audit_batch_buckets / sizeof audit_batch_buckets[0]);
  a->arrival_delay = metrics_histogram(m, "lindung_audit_arrival_delay_seconds",
                                       "From an event's Kafka timestamp to its arrival here.", NULL,
                                       metrics_latency_buckets, metrics_latency_bucket_count);
  a->commit_delay =
      metrics_histogram(m, "lindung_audit_commit_delay_seconds",
                        "From an event's Kafka timestamp to its append being committed.", NULL,
                        metrics_latency_buckets, metrics_latency_bucket_count);
  a->answers_total = metrics_counter(m, "lindung_audit_answers_total",
                                     "Answers sent to partners (verdicts and links), per partner, "
                                     "as their records are appended.",
                                     "partner");
  a->verdict_latency = metrics_histogram(
      m, "lindung_audit_verdict_latency_seconds",
      "From ingest receiving a request to the status resolver answering it.", NULL,
      metrics_latency_buckets, metrics_latency_bucket_count);
  a->head_gauge =
      metrics_gauge(m, "lindung_audit_chain_head_seq", "Sequence number of the chain head.", NULL);
  a->checkpoint_age = metrics_gauge(m, "lindung_audit_checkpoint_age_seconds",
                                    "Seconds since the last signed checkpoint while records after "
                                    "it are unsigned (0 when it covers the head).",
                                    NULL);
  audit_watch_init(&a->watch, m, a->config.reverify_s);
  a->watch.db = service_db(a->svc);
  /* Until the first pass reaches the head, "last at the head" is the start:
   * a long chain's first pass is not mistaken for a check that stopped. */
  a->watch.verified_at = (double)service_now_ms() / 1000.0;
  a->checkpoint_due = service_monotonic_s() + a->config.checkpoint_s;
}

void audit_writer_free(audit_writer *a) {
  if (!a) return;
  for (size_t i = 0; i < a->q_count; i++)
    if (audit_item_at(a, i)->event)
      protobuf_c_message_free_unpacked(&audit_item_at(a, i)->event->base, NULL);
  free(a->queue);
  buffer_free(&a->json);
  audit_watch_free(&a->watch);
  sodium_free(a->config.seed);
  free(a);
}
