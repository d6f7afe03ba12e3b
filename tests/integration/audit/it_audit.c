/* it_audit: the integration driver of the audit scenario (run.sh).
 *
 *   it_audit produce <brokers> <run> <requests> <dups> [requests/s]
 *     For each of <requests> request ids (8 bytes of <run>, 16 hex chars,
 *     then the index big-endian), one AuditEvent per stage ingest, decrypt,
 *     resolve; every 4th request's events are sent 1 + <dups> times. Plus
 *     one admin event without request id, and garbage: 3 values that are
 *     not protobuf, 2 events with stage 9 and 1 with stage 0, each carrying
 *     the run marker. Prints "expected_records N" and "garbage N". With a
 *     rate, requests are paced (3 events each) instead of sent flat out.
 *   it_audit deadletters <brokers> <run>
 *     Reads scan.deadletter from the beginning to its end and prints
 *     "<reason> <count>" for dead letters of service "audit" whose original
 *     value carries the run marker.
 * Events go through kq_producer (on a libuv loop); the reader assigns
 * partitions directly with librdkafka. */
#define _GNU_SOURCE /* memmem */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "kafka_loop.h"
#include "lindung/v1/internal.pb-c.h"
#include "messages.h"
#include "testing_kafka.h"

static int delivery_failures;

static void on_delivery(void *ctx, void *opaque, int err) {
  (void)ctx;
  (void)opaque;
  if (err) delivery_failures++;
}

static uint64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static int produce_event(kq_producer *p, Lindung__V1__AuditEvent *e) {
  uint8_t buf[MESSAGES_MAX_BYTES];
  size_t len = messages_audit_event(e, buf, sizeof buf);
  if (!len) return -1;
  return kq_produce(p, NULL, "audit.events", e->request_id.data, e->request_id.len, buf, len, NULL);
}

static int cmd_produce(const char *brokers, const uint8_t run[8], long requests, long dups,
                       long rate) {
  uv_loop_t *loop = uv_default_loop();
  kq_settings settings = {.brokers = brokers,
                          .client_id = "it-audit",
                          .security = testing_kafka_security(),
                          .properties = NULL};
  kq_producer *p;
  char err[256];
  if (kq_producer_open(loop, &settings, on_delivery, NULL, &p, err, sizeof err)) {
    fprintf(stderr, "it_audit: %s\n", err);
    return 1;
  }
  static const char *const partners[] = {"gojek", "grab", "dana"};
  uint8_t pseudonym[32];
  long produced = 0, expected = 0;
  for (long i = 0; i < requests; i++) {
    uint8_t rid[16];
    memcpy(rid, run, 8);
    for (int k = 0; k < 8; k++) rid[8 + k] = (uint8_t)((uint64_t)i >> (56 - 8 * k));
    char venue[32];
    snprintf(venue, sizeof venue, "venue-%ld", i % 5);
    for (int stage = 1; stage <= 3; stage++) {
      Lindung__V1__AuditEvent e = LINDUNG__V1__AUDIT_EVENT__INIT;
      e.stage = (Lindung__V1__AuditStage)stage;
      e.request_id = (ProtobufCBinaryData){16, rid};
      e.partner_id = (char *)partners[i % 3];
      e.outcome = stage < 3 ? LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_FORWARDED
                            : LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_ANSWERED;
      e.kind = LINDUNG__V1__REQUEST_KIND__REQUEST_KIND_SCAN;
      e.action = LINDUNG__V1__ACTION__CHECK_IN;
      e.venue_id = venue;
      if (stage == 3) {
        e.decision = i % 7 ? LINDUNG__V1__DECISION__ALLOW : LINDUNG__V1__DECISION__DENY;
        memset(pseudonym, (int)(i % 11), sizeof pseudonym);
        e.subject_pseudonym = (ProtobufCBinaryData){32, pseudonym};
      }
      e.sent_at_ms = now_ms();
      e.received_at_ms = e.sent_at_ms;
      e.handled_at_ms = e.sent_at_ms;
      e.service = stage == 1 ? "ingest" : stage == 2 ? "decrypt" : "status-resolver";
      long copies = i % 4 == 0 ? 1 + dups : 1;
      for (long c = 0; c < copies; c++) {
        if (produce_event(p, &e)) {
          fprintf(stderr, "it_audit: produce failed\n");
          return 1;
        }
        produced++;
      }
      expected++;
    }
    if (rate > 0) {
      /* Paced: request i leaves at start + i / rate. */
      static uint64_t start;
      if (!start) start = now_ms();
      uint64_t due = start + (uint64_t)(i * 1000 / rate);
      while (now_ms() < due) {
        uv_run(loop, UV_RUN_NOWAIT);
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
      }
    } else if (i % 256 == 0) {
      uv_run(loop, UV_RUN_NOWAIT);
    }
  }
  /* An administrative event without a request id. */
  char detail[64], runhex[17];
  hex_encode(run, 8, runhex);
  snprintf(detail, sizeof detail, "it-audit run %s", runhex);
  Lindung__V1__AuditEvent admin = LINDUNG__V1__AUDIT_EVENT__INIT;
  admin.stage = LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_ADMIN;
  admin.outcome = LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_APPLIED;
  admin.partner_id = "gojek";
  admin.service = "revocation";
  admin.detail = detail;
  admin.actor = "it-audit";
  admin.handled_at_ms = now_ms();
  produce_event(p, &admin);
  expected++;
  produced++;
  /* Garbage, each value carrying the run marker. */
  long garbage = 0;
  for (int g = 0; g < 3; g++) {
    uint8_t junk[24] = {0x07};
    memcpy(junk + 1, run, 8);
    junk[9] = (uint8_t)g;
    kq_produce(p, NULL, "audit.events", NULL, 0, junk, sizeof junk, NULL);
    garbage++;
  }
  for (int g = 0; g < 3; g++) {
    uint8_t rid[16];
    memcpy(rid, run, 8);
    memset(rid + 8, 0xEE, 7);
    rid[15] = (uint8_t)g;
    Lindung__V1__AuditEvent e = LINDUNG__V1__AUDIT_EVENT__INIT;
    e.stage = (Lindung__V1__AuditStage)(g < 2 ? 9 : 0);
    e.request_id = (ProtobufCBinaryData){16, rid};
    e.service = "it-audit";
    produce_event(p, &e);
    garbage++;
  }
  while (kq_producer_outstanding(p) > 0) uv_run(loop, UV_RUN_ONCE);
  kq_producer_close(p, 10000);
  uv_loop_close(loop);
  printf("produced %ld\nexpected_records %ld\ngarbage %ld\n", produced, expected, garbage);
  if (delivery_failures) {
    fprintf(stderr, "it_audit: %d deliveries failed\n", delivery_failures);
    return 1;
  }
  return 0;
}

static int cmd_deadletters(const char *brokers, const uint8_t run[8]) {
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "it-audit-reader", err, sizeof err); /* assign() only */
  rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  if (ksec_conf_set(conf, testing_kafka_security(), err, sizeof err)) {
    fprintf(stderr, "it_audit: %s\n", err);
    rd_kafka_conf_destroy(conf);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) return 1;
  rd_kafka_topic_t *t = rd_kafka_topic_new(rk, "scan.deadletter", NULL);
  const struct rd_kafka_metadata *md;
  if (rd_kafka_metadata(rk, 0, t, &md, 10000) || md->topic_cnt != 1) return 1;
  int parts = md->topics[0].partition_cnt;
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(parts);
  for (int i = 0; i < parts; i++)
    rd_kafka_topic_partition_list_add(list, "scan.deadletter", md->topics[0].partitions[i].id)
        ->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  char reasons[16][40];
  long counts[16] = {0};
  int nreasons = 0, eofs = 0;
  while (eofs < parts) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10000);
    if (!m) break;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      eofs++;
    } else if (!m->err) {
      Lindung__V1__DeadLetter *d = lindung__v1__dead_letter__unpack(NULL, m->len, m->payload);
      if (d && !strcmp(d->service, "audit") && d->source_value.len >= 9 &&
          memmem(d->source_value.data, d->source_value.len, run, 8)) {
        int r = 0;
        while (r < nreasons && strcmp(reasons[r], d->reason)) r++;
        if (r == nreasons && nreasons < 16) snprintf(reasons[nreasons++], 40, "%s", d->reason);
        if (r < 16) counts[r]++;
      }
      if (d) lindung__v1__dead_letter__free_unpacked(d, NULL);
    }
    rd_kafka_message_destroy(m);
  }
  for (int r = 0; r < nreasons; r++) printf("%s %ld\n", reasons[r], counts[r]);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}

int main(int argc, char **argv) {
  uint8_t run[8];
  if (argc >= 4 && (strlen(argv[3]) != 16 || hex_decode(argv[3], run, 8))) {
    fprintf(stderr, "it_audit: run must be 16 hex chars\n");
    return 2;
  }
  if ((argc == 6 || argc == 7) && !strcmp(argv[1], "produce"))
    return cmd_produce(argv[2], run, atol(argv[4]), atol(argv[5]), argc == 7 ? atol(argv[6]) : 0);
  if (argc == 4 && !strcmp(argv[1], "deadletters")) return cmd_deadletters(argv[2], run);
  fprintf(stderr,
          "usage: it_audit produce <brokers> <run> <requests> <dups> [requests/s]\n"
          "       it_audit deadletters <brokers> <run>\n");
  return 2;
}
