/* resolver_facts: health.facts -> health_facts (see resolver_facts.h). */
#include "resolver_facts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "messages.h"
#include "pg_array.h"
#include "proto_limits.h"
#include "resolver_db.h"
#include "resolver_rules.h"
#include "topics.h"

#define RESOLVER_FACTS_RETRY_MS 1000
#define RESOLVER_FACTS_LOG_INTERVAL_MS 10000

static const char resolver_facts_apply_sql[] =
    "SELECT o_applied, o_contacts FROM health_facts_apply($1::bytea[], $2::bytea[], $3::text[],"
    " $4::bigint[], $5::bigint[], $6::text[], $7::text[])";

const pgq_statement resolver_facts_statements[] = {
    {"health_facts_apply", resolver_facts_apply_sql, 7},
};
const size_t resolver_facts_statement_count =
    sizeof resolver_facts_statements / sizeof resolver_facts_statements[0];

typedef struct resolver_facts_item {
  kq_input *input;
  Lindung__V1__HealthFact *message; /* NULL when not decodable */
  resolver_fact fact;               /* valid when dead_letter_reason is NULL */
  const char *dead_letter_reason;
} resolver_facts_item;

typedef struct resolver_facts_batch {
  resolver_facts *owner;
  struct resolver_facts_batch *next; /* in the retry list */
  double started_s;
  size_t count, valid;
  resolver_facts_item items[];
} resolver_facts_batch;

struct resolver_facts {
  service *svc;
  uv_timer_t retry_timer;
  resolver_facts_batch *waiting; /* batches to try again */
  bool stopping;
  uint64_t last_log_ms;
};

static void resolver_facts_submit(resolver_facts_batch *batch);
static void resolver_facts_on_retry(uv_timer_t *timer);

static void resolver_facts_note(resolver_facts *f, const char *event, const char *reason) {
  uint64_t now = service_now_ms();
  if (f->last_log_ms != 0 && now - f->last_log_ms < RESOLVER_FACTS_LOG_INTERVAL_MS) return;
  f->last_log_ms = now;
  LOG_WARN("health_facts_problem", LOG_ID("what", event),
           LOG_ERRTEXT("reason", reason ? reason : "unknown"));
}

static void resolver_facts_produce(resolver_facts *f, kq_input *input, const void *key,
                                   size_t key_len, Lindung__V1__AuditEvent *event) {
  uint8_t out[MESSAGES_MAX_BYTES];
  size_t len = messages_audit_event(event, out, sizeof out);
  if (!len) return;
  int rc = service_produce(f->svc, input, TOPIC_AUDIT_EVENTS, key, key_len, out, len);
  if (rc) resolver_facts_note(f, "produce_failed", strerror(-rc));
}

static void resolver_facts_free_batch(resolver_facts_batch *batch) {
  for (size_t i = 0; i < batch->count; i++)
    if (batch->items[i].message)
      protobuf_c_message_free_unpacked(&batch->items[i].message->base, NULL);
  free(batch);
}

/* Dead letters and audit events of the facts that cannot be applied. */
static void resolver_facts_refuse(resolver_facts *f, resolver_facts_batch *batch,
                                  uint64_t now_ms) {
  for (size_t i = 0; i < batch->count; i++) {
    resolver_facts_item *item = &batch->items[i];
    if (!item->dead_letter_reason) continue;
    int rc = service_dead_letter(f->svc, item->input, item->dead_letter_reason);
    if (rc) resolver_facts_note(f, "produce_failed", strerror(-rc));
    uint8_t source_id[16];
    messages_input_id(item->input, source_id);
    Lindung__V1__AuditEvent event;
    resolver_dead_letter_audit_fill(source_id, item->dead_letter_reason, now_ms, &event);
    resolver_facts_produce(f, item->input, source_id, sizeof source_id, &event);
    service_count(f->svc, "deadletter", service_monotonic_s() - batch->started_s);
    kq_input_done(item->input);
  }
}

static void resolver_facts_retry_later(resolver_facts_batch *batch) {
  resolver_facts *f = batch->owner;
  if (f->stopping) {
    resolver_facts_free_batch(batch);
    return;
  }
  batch->next = f->waiting;
  f->waiting = batch;
  if (!uv_is_active((uv_handle_t *)&f->retry_timer))
    uv_timer_start(&f->retry_timer, resolver_facts_on_retry, RESOLVER_FACTS_RETRY_MS, 0);
}

static void resolver_facts_on_retry(uv_timer_t *timer) {
  resolver_facts *f = timer->data;
  resolver_facts_batch *list = f->waiting;
  f->waiting = NULL;
  while (list) {
    resolver_facts_batch *batch = list;
    list = list->next;
    resolver_facts_submit(batch);
  }
}

static void resolver_facts_on_applied(void *arg, const PGresult *res, const char *error) {
  resolver_facts_batch *batch = arg;
  resolver_facts *f = batch->owner;
  if (error || !res || PQresultStatus(res) != PGRES_TUPLES_OK ||
      PQntuples(res) != (int)batch->valid || PQnfields(res) != 2) {
    resolver_facts_note(f, "health_facts_apply_failed", error ? error : "unexpected result");
    resolver_facts_retry_later(batch);
    return;
  }
  uint64_t now_ms = service_now_ms();
  double seconds = service_monotonic_s() - batch->started_s;
  int row = 0;
  for (size_t i = 0; i < batch->count; i++) {
    resolver_facts_item *item = &batch->items[i];
    if (item->dead_letter_reason) continue;
    bool applied = PQgetvalue(res, row, 0)[0] == 't';
    int contacts = atoi(PQgetvalue(res, row, 1));
    row++;
    char detail[96];
    Lindung__V1__AuditEvent event;
    resolver_fact_audit_fill(&item->fact, applied, contacts, now_ms, detail, sizeof detail,
                             &event);
    resolver_facts_produce(f, item->input, item->fact.fact_id, HEALTH_FACT_ID_BYTES, &event);
    service_count(f->svc, applied ? "fact_new" : "fact_repeated", seconds);
    kq_input_done(item->input);
  }
  resolver_facts_free_batch(batch);
}

int resolver_facts_decode(const void *value, size_t len, uint64_t now_ms,
                          Lindung__V1__HealthFact **message, resolver_fact *fact,
                          const char **reason) {
  ProtobufCMessage *decoded = NULL;
  *message = NULL;
  proto_decode_status status = proto_decode(&lindung__v1__health_fact__descriptor, value, len,
                                            PROTO_MAX_MESSAGE_BYTES, &decoded);
  if (status != PROTO_DECODE_OK) {
    *reason = proto_decode_reason(status);
    return -1;
  }
  *message = (Lindung__V1__HealthFact *)decoded;
  return resolver_fact_check(*message, now_ms, fact, reason);
}

int resolver_facts_columns_init(pg_array columns[RESOLVER_FACTS_COLUMNS], size_t count) {
  static const uint32_t oids[RESOLVER_FACTS_COLUMNS] = {
      PG_OID_BYTEA, PG_OID_BYTEA, PG_OID_TEXT, PG_OID_INT8,
      PG_OID_INT8,  PG_OID_TEXT,  PG_OID_TEXT};
  memset(columns, 0, RESOLVER_FACTS_COLUMNS * sizeof columns[0]);
  int rc = 0;
  for (int c = 0; c < RESOLVER_FACTS_COLUMNS && rc == 0; c++)
    rc = pg_array_init(&columns[c], oids[c], count, 32);
  return rc;
}

void resolver_facts_columns_put(pg_array columns[RESOLVER_FACTS_COLUMNS],
                                const resolver_fact *fact) {
  pg_array_put(&columns[0], fact->fact_id, HEALTH_FACT_ID_BYTES);
  pg_array_put(&columns[1], fact->nik_hash, REG_NIK_HASH_BYTES);
  pg_array_put_text(&columns[2], health_fact_kind_name(fact->fact.kind));
  pg_array_put_int8(&columns[3], fact->fact.at_ms);
  if (fact->fact.until_ms == HEALTH_NONE)
    pg_array_put_null(&columns[4]);
  else
    pg_array_put_int8(&columns[4], fact->fact.until_ms);
  pg_array_put_text(&columns[5], fact->detail);
  pg_array_put_text(&columns[6], fact->source);
}

/* One array per column of health_facts_apply(), in batch order. */
static void resolver_facts_submit(resolver_facts_batch *batch) {
  resolver_facts *f = batch->owner;
  enum { COLUMNS = RESOLVER_FACTS_COLUMNS };
  pg_array a[COLUMNS];
  int rc = resolver_facts_columns_init(a, batch->valid);
  for (size_t i = 0; i < batch->count && rc == 0; i++) {
    const resolver_facts_item *item = &batch->items[i];
    if (!item->dead_letter_reason) resolver_facts_columns_put(a, &item->fact);
  }
  const char *values[COLUMNS];
  int lengths[COLUMNS], formats[COLUMNS];
  for (int c = 0; c < COLUMNS && rc == 0; c++) {
    rc = pg_array_finish(&a[c]);
    values[c] = (const char *)a[c].data;
    lengths[c] = (int)a[c].len;
    formats[c] = 1;
  }
  if (rc == 0)
    rc = pgq_exec_prepared(service_db(f->svc), "health_facts_apply", COLUMNS, values, lengths, formats,
                           resolver_facts_on_applied, batch);
  for (int c = 0; c < COLUMNS; c++) pg_array_free(&a[c]);
  if (rc) {
    if (rc != -ENOTCONN) resolver_facts_note(f, "health_facts_apply_failed", strerror(-rc));
    resolver_facts_retry_later(batch);
  }
}

void resolver_facts_on_batch(resolver_facts *f, kq_input *const *inputs, size_t count) {
  if (count == 0) return;
  resolver_facts_batch *batch = calloc(1, sizeof *batch + count * sizeof batch->items[0]);
  if (!batch) {
    /* Left incomplete: their offsets stay, so they are read again. */
    LOG_ERROR("out_of_memory", LOG_INT("inputs", count));
    return;
  }
  batch->owner = f;
  batch->count = count;
  batch->started_s = service_monotonic_s();
  uint64_t now_ms = service_now_ms();
  for (size_t i = 0; i < count; i++) {
    resolver_facts_item *item = &batch->items[i];
    item->input = inputs[i];
    if (resolver_facts_decode(inputs[i]->value, inputs[i]->value_len, now_ms, &item->message,
                              &item->fact, &item->dead_letter_reason) == 0)
      batch->valid++;
  }
  resolver_facts_refuse(f, batch, now_ms);
  if (batch->valid == 0) {
    resolver_facts_free_batch(batch);
    return;
  }
  resolver_facts_submit(batch);
}

resolver_facts *resolver_facts_new(service *svc) {
  resolver_facts *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->svc = svc;
  uv_timer_init(service_loop(svc), &f->retry_timer);
  f->retry_timer.data = f;
  return f;
}

void resolver_facts_stop(resolver_facts *f) {
  if (!f || f->stopping) return;
  f->stopping = true;
  uv_timer_stop(&f->retry_timer);
  uv_close((uv_handle_t *)&f->retry_timer, NULL);
  while (f->waiting) {
    resolver_facts_batch *batch = f->waiting;
    f->waiting = batch->next;
    resolver_facts_free_batch(batch);
  }
}

void resolver_facts_free(resolver_facts *f) {
  free(f);
}
