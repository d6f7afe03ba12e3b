/* it_kafka_roundtrip: kafka_loop against a real broker (the devbroker).
 *
 * On one uv loop: a kq_producer writes N messages to a fresh input topic; a
 * relay kq_consumer produces one output per input to a fresh output topic
 * and calls kq_input_done; a final kq_consumer checks every output arrives.
 * Along the way:
 *   - the relay pauses for a while mid-stream: no batch may arrive then, and
 *     nothing may be lost or reordered by it;
 *   - input H1 is held (its output is acknowledged, kq_input_done is not
 *     called) and input H2's output goes through a producer whose broker does
 *     not exist (never acknowledged, though done was called): the relay
 *     group's committed offsets must stop exactly at them on their
 *     partitions and reach the end elsewhere;
 *   - H1 is released and its partition commits on;
 *   - the relay closes with H2 unfinished, H2's output is purged: H2's
 *     offset stays uncommitted, and a second relay in the same group gets H2
 *     again (redelivery) and finishes the job: committed = end everywhere.
 * Usage: it_kafka_roundtrip <brokers> [count]. Exits 0 only if all holds. */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kafka_loop.h"
#include "partner_kafka.h"
#include "testing_kafka.h"

#define MAX_PARTITIONS 64

static uv_loop_t *loop;
static const char *brokers;
static char in_topic[128], out_topic[128], relay_group[128], final_group[128];
static int total = 10000;
static int failures;

static kq_producer *producer;      /* sources and relay outputs */
static kq_producer *dead_producer; /* points at a port with no broker */
static int source_acked, source_failed, markers_acked;

/* Relay state. */
static int relay_inputs, relay_markers, relay_batches_while_paused, relay_redelivered;
static bool relay_paused;
static int relay_second; /* 1 while the second relay runs */
static unsigned char *relayed_once;
static kq_input *held1, *held2;
static int32_t held1_partition = -1, held2_partition = -1;
static int64_t held1_offset = -1, held2_offset = -1;
static uv_timer_t resume_timer;
static kq_consumer *relay;

/* Final consumer state. */
static unsigned char *seen;
static int seen_distinct, seen_duplicates, seen_bad;

static uint64_t now_ms(void) {
  return uv_hrtime() / 1000000u;
}
static uint64_t start_ms;

/* Progress lines carry the elapsed time (a figure, never an assertion). */
static void stamp(void) {
  printf("[%6.1fs] ", (double)(now_ms() - start_ms) / 1000.0);
}

#define FAIL(...)                          \
  do {                                     \
    failures++;                            \
    fprintf(stderr, "FAIL: " __VA_ARGS__); \
    fputc('\n', stderr);                   \
  } while (0)

static int key_index(const kq_input *in) {
  /* Keys are "m-<i>"; anything else (the topic-creating markers) is -1. */
  if (!in->key || in->key_len < 3 || in->key_len > 12 || memcmp(in->key, "m-", 2) != 0) return -1;
  char buf[16];
  memcpy(buf, (const char *)in->key + 2, in->key_len - 2);
  buf[in->key_len - 2] = '\0';
  char *end;
  long i = strtol(buf, &end, 10);
  return *end == '\0' && i >= 0 && i < total ? (int)i : -1;
}

static void on_delivery(void *ctx, void *opaque, int err) {
  (void)ctx;
  if (opaque == (void *)1) {
    if (err == 0)
      markers_acked++;
    else
      FAIL("marker delivery failed: %s", kq_err2str(err));
  } else if (err == 0) {
    source_acked++;
  } else {
    source_failed++;
  }
}

static int log_lines;

static void on_log(void *ctx, int level, const char *facility, const char *message) {
  (void)ctx;
  (void)facility;
  (void)message;
  if (level <= 7) log_lines++;
}

static int relay_output(kq_input *in) {
  int rc =
      kq_produce(producer, in, out_topic, in->key, in->key_len, in->value, in->value_len, NULL);
  if (rc != 0) FAIL("relay produce: %d", rc);
  return rc;
}

static void on_resume_timer(uv_timer_t *t) {
  (void)t;
  relay_paused = false;
  kq_consumer_resume(relay);
  stamp();
  printf("relay resumed after a pause at input %d\n", relay_inputs);
}

static void on_relay_batch(void *ctx, kq_input *const *inputs, size_t count) {
  (void)ctx;
  if (relay_paused) relay_batches_while_paused++;
  for (size_t i = 0; i < count; i++) {
    kq_input *in = inputs[i];
    int idx = key_index(in);
    if (idx < 0) {
      relay_markers++;
      kq_input_done(in);
      continue;
    }
    relay_inputs++;
    if (relay_second) {
      if (relayed_once[idx]) relay_redelivered++;
    } else if (relayed_once[idx]) {
      FAIL("relay saw m-%d twice in one session", idx);
    }
    relayed_once[idx] = 1;
    if (!relay_second && idx == total / 10 && !held1) {
      held1 = in; /* done withheld until phase B */
      held1_partition = in->partition;
      held1_offset = in->offset;
      relay_output(in);
      continue;
    }
    if (!relay_second && idx == total / 5 && !held2) {
      held2 = in;
      held2_partition = in->partition;
      held2_offset = in->offset;
      if (kq_produce(dead_producer, in, out_topic, in->key, in->key_len, in->value, in->value_len,
                     NULL) != 0)
        FAIL("produce to the dead producer");
      kq_input_done(in); /* done, but its output is never acknowledged */
      continue;
    }
    relay_output(in);
    kq_input_done(in);
    if (!relay_second && relay_inputs == total * 3 / 10 && !relay_paused) {
      relay_paused = true;
      kq_consumer_pause(relay);
      uv_timer_start(&resume_timer, on_resume_timer, 1500, 0);
    }
  }
}

static void on_final_batch(void *ctx, kq_input *const *inputs, size_t count) {
  (void)ctx;
  for (size_t i = 0; i < count; i++) {
    kq_input *in = inputs[i];
    int idx = key_index(in);
    if (idx >= 0) {
      char want[32];
      int n = snprintf(want, sizeof(want), "v-%d", idx);
      if (in->value_len != (size_t)n || memcmp(in->value, want, (size_t)n) != 0) seen_bad++;
      if (seen[idx])
        seen_duplicates++;
      else
        seen_distinct++;
      seen[idx] = 1;
    }
    kq_input_done(in);
  }
}

static bool run_until(bool (*cond)(void), int timeout_ms, const char *what) {
  uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
  while (!cond()) {
    if (now_ms() > deadline) {
      FAIL("timed out waiting for %s", what);
      return false;
    }
    uv_run(loop, UV_RUN_ONCE);
  }
  return true;
}

static void run_for(int ms) {
  uint64_t deadline = now_ms() + (uint64_t)ms;
  while (now_ms() < deadline) uv_run(loop, UV_RUN_ONCE);
}

static bool markers_done(void) {
  return markers_acked >= 2;
}
static bool sources_done(void) {
  return source_acked + source_failed >= total;
}
static int want_distinct;
static bool final_reached(void) {
  return seen_distinct >= want_distinct;
}
static bool relay_assigned(void) {
  return kq_consumer_connected(relay);
}

/* A plain consumer handle in the relay's group, never subscribed: it only
 * reads the group's committed offsets and the topic's high watermarks. */
static rd_kafka_t *query;
static int partition_count;
static int64_t high[MAX_PARTITIONS];

static int open_query(void) {
  char errstr[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) ||
      rd_kafka_conf_set(conf, "group.id", relay_group, errstr, sizeof(errstr)) ||
      ksec_conf_set(conf, testing_kafka_security(), errstr, sizeof(errstr))) {
    fprintf(stderr, "query conf: %s\n", errstr);
    return -1;
  }
  query = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (!query) return -1;
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(query, in_topic, NULL);
  rd_kafka_resp_err_t err = rd_kafka_metadata(query, 0, rkt, &md, 10000);
  rd_kafka_topic_destroy(rkt);
  if (err || md->topic_cnt != 1 || md->topics[0].err) {
    fprintf(stderr, "metadata of %s failed\n", in_topic);
    if (md) rd_kafka_metadata_destroy(md);
    return -1;
  }
  partition_count = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  return partition_count > 0 && partition_count <= MAX_PARTITIONS ? 0 : -1;
}

static int read_high_watermarks(void) {
  for (int p = 0; p < partition_count; p++) {
    int64_t lo;
    if (rd_kafka_query_watermark_offsets(query, in_topic, p, &lo, &high[p], 10000)) {
      FAIL("watermarks of partition %d", p);
      return -1;
    }
  }
  return 0;
}

static int read_committed(int64_t *committed) {
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partition_count);
  for (int p = 0; p < partition_count; p++) rd_kafka_topic_partition_list_add(list, in_topic, p);
  rd_kafka_resp_err_t err = rd_kafka_committed(query, list, 10000);
  for (int p = 0; p < partition_count; p++)
    committed[p] = list->elems[p].offset; /* RD_KAFKA_OFFSET_INVALID if none */
  rd_kafka_topic_partition_list_destroy(list);
  return err ? -1 : 0;
}

/* Waits until the committed offsets equal want[] everywhere; fails at once
 * if any goes past want[] (that would be an offset stored too early). */
static bool wait_committed(const int64_t *want, int timeout_ms, const char *what) {
  uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
  int64_t committed[MAX_PARTITIONS];
  for (;;) {
    bool all = read_committed(committed) == 0;
    for (int p = 0; p < partition_count; p++) {
      if (committed[p] > want[p]) {
        FAIL("%s: partition %d committed %" PRId64 " past %" PRId64, what, p, committed[p],
             want[p]);
        return false;
      }
      all = all && committed[p] == want[p];
    }
    if (all) {
      stamp();
      printf("%s: committed", what);
      for (int p = 0; p < partition_count; p++) printf(" p%d=%" PRId64, p, committed[p]);
      printf("\n");
      return true;
    }
    if (now_ms() > deadline) {
      FAIL("%s: committed offsets did not reach the expected ones", what);
      for (int p = 0; p < partition_count; p++)
        fprintf(stderr, "  p%d committed %" PRId64 " want %" PRId64 "\n", p, committed[p], want[p]);
      return false;
    }
    run_for(250);
  }
}

static int open_consumer(const char *group, const char *topic, kq_batch_fn fn, kq_consumer **out) {
  /* A fast auto-commit keeps the waits short; a short session timeout
   * matters because the devbroker's group coordinator makes a member that
   * joins right after another left wait session.timeout.ms - 1 s. */
  static const char *const props[] = {"auto.commit.interval.ms", "200", "session.timeout.ms",
                                      "6000", NULL};
  const char *topics[] = {topic, NULL};
  kq_consumer_settings cs = {
      .kafka = {.brokers = brokers,
                .client_id = "it-kafka-roundtrip",
                .security = testing_kafka_security(),
                .properties = props},
      .group_id = group,
      .topics = topics,
      .max_batch = 64,
      .max_in_flight = 500,
      .auto_offset_reset = "earliest",
  };
  char err[256];
  if (kq_consumer_open(loop, &cs, producer, fn, NULL, out, err, sizeof(err)) != 0) {
    FAIL("consumer open: %s", err);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: it_kafka_roundtrip <brokers> [count]\n");
    return 2;
  }
  brokers = argv[1];
  if (argc > 2) total = atoi(argv[2]);
  if (total < 100) {
    fprintf(stderr, "count must be at least 100\n");
    return 2;
  }
  /* Fresh topics and groups per run: reruns against the same broker never
   * see old data. */
  char run_id[64];
  snprintf(run_id, sizeof(run_id), "%ld-%ld", (long)time(NULL), (long)getpid());
  snprintf(in_topic, sizeof(in_topic), "it.kq.%s.in", run_id);
  snprintf(out_topic, sizeof(out_topic), "it.kq.%s.out", run_id);
  snprintf(relay_group, sizeof(relay_group), "it-kq-relay-%s", run_id);
  snprintf(final_group, sizeof(final_group), "it-kq-final-%s", run_id);
  setvbuf(stdout, NULL, _IOLBF, 0);
  start_ms = now_ms();
  relayed_once = calloc((size_t)total, 1);
  seen = calloc((size_t)total, 1);
  loop = uv_default_loop();
  uv_timer_init(loop, &resume_timer);

  char err[256];
  const char *const fresh_topics[] = {in_topic, out_topic};
  if (partner_kafka_ensure_topics(brokers, testing_kafka_security(), fresh_topics, 2, err,
                                  sizeof(err)) != 0) {
    fprintf(stderr, "topics: %s\n", err);
    return 1;
  }
  kq_settings ps = {.brokers = brokers,
                    .client_id = "it-kafka-roundtrip",
                    .security = testing_kafka_security(),
                    .log = on_log};
  if (kq_producer_open(loop, &ps, on_delivery, NULL, &producer, err, sizeof(err)) != 0) {
    fprintf(stderr, "producer open: %s\n", err);
    return 1;
  }
  /* Port 1 on loopback has no broker: this producer never gets an ack. */
  static const char *const dead_props[] = {"message.timeout.ms", "600000", NULL};
  kq_settings ds = {
      .brokers = "127.0.0.1:1", .client_id = "it-dead", .properties = dead_props, .log = on_log};
  if (kq_producer_open(loop, &ds, NULL, NULL, &dead_producer, err, sizeof(err)) != 0) {
    fprintf(stderr, "dead producer open: %s\n", err);
    return 1;
  }

  /* Phase 0: create both topics with one marker each. */
  kq_produce(producer, NULL, in_topic, "marker", 6, "x", 1, (void *)1);
  kq_produce(producer, NULL, out_topic, "marker", 6, "x", 1, (void *)1);
  if (!run_until(markers_done, 30000, "topic markers")) return 1;
  if (!kq_producer_connected(producer))
    FAIL("producer not connected after acknowledged deliveries");
  if (open_query() != 0) {
    fprintf(stderr, "cannot query %s\n", in_topic);
    return 1;
  }
  stamp();
  printf("topics %s -> %s, %d partitions\n", in_topic, out_topic, partition_count);

  kq_consumer *final_consumer;
  if (open_consumer(relay_group, in_topic, on_relay_batch, &relay) != 0 ||
      open_consumer(final_group, out_topic, on_final_batch, &final_consumer) != 0)
    return 1;

  /* Phase A: produce everything; the relay holds H1 and H2. */
  for (int i = 0; i < total; i++) {
    char key[16], value[32];
    int kl = snprintf(key, sizeof(key), "m-%d", i);
    int vl = snprintf(value, sizeof(value), "v-%d", i);
    int rc = kq_produce(producer, NULL, in_topic, key, (size_t)kl, value, (size_t)vl, NULL);
    if (rc != 0) {
      FAIL("produce m-%d: %d", i, rc);
      return 1;
    }
  }
  run_until(sources_done, 60000, "source acknowledgements");
  stamp();
  printf("produced %d, acked %d, failed %d\n", total, source_acked, source_failed);
  if (source_failed || source_acked != total) FAIL("source deliveries failed");
  want_distinct = total - 1;
  run_until(final_reached, 120000, "all outputs except H2's");
  if (!relay_assigned()) FAIL("relay consumer never reported connected");
  if (read_high_watermarks() != 0) return 1;
  int64_t want[MAX_PARTITIONS];
  for (int p = 0; p < partition_count; p++) want[p] = high[p];
  if (held1_partition < 0 || held2_partition < 0) {
    FAIL("held inputs not seen");
    return 1;
  }
  want[held1_partition] = held1_offset;
  want[held2_partition] = held2_partition == held1_partition && held1_offset < held2_offset
                              ? held1_offset
                              : held2_offset;
  stamp();
  printf("held: H1 p%d@%" PRId64 " (done withheld), H2 p%d@%" PRId64 " (output unacked)\n",
         held1_partition, held1_offset, held2_partition, held2_offset);
  wait_committed(want, 30000, "phase A");
  if (kq_consumer_in_flight(relay) != 2)
    FAIL("relay in flight %zu, want 2", kq_consumer_in_flight(relay));
  if (kq_producer_outstanding(dead_producer) != 1)
    FAIL("dead producer outstanding %zu, want 1", kq_producer_outstanding(dead_producer));
  if (relay_batches_while_paused)
    FAIL("%d batches handed out while paused", relay_batches_while_paused);
  stamp();
  printf("phase A: final saw %d distinct, relay lag %" PRId64 ", final lag %" PRId64 "\n",
         seen_distinct, kq_consumer_lag(relay), kq_consumer_lag(final_consumer));

  /* Phase B: release H1 (its output was acknowledged long ago). */
  kq_input_done(held1);
  held1 = NULL;
  want[held1_partition] = high[held1_partition];
  if (held2_partition == held1_partition) want[held2_partition] = held2_offset;
  wait_committed(want, 30000, "phase B");

  /* Phase C: close the relay with H2 unfinished, then purge H2's output. */
  kq_consumer_close(relay, 500);
  relay = NULL;
  kq_producer_close(dead_producer, 0);
  dead_producer = NULL;
  wait_committed(want, 10000, "phase C (after close)");

  /* Phase D: a second relay in the group picks up H2 again. */
  relay_second = 1;
  if (open_consumer(relay_group, in_topic, on_relay_batch, &relay) != 0) return 1;
  want_distinct = total;
  run_until(final_reached, 60000, "every output");
  for (int p = 0; p < partition_count; p++) want[p] = high[p];
  wait_committed(want, 30000, "phase D");
  if (relay_redelivered < 1) FAIL("second relay saw no redelivered input");
  if (!relayed_once[total / 5]) FAIL("H2 never relayed");

  kq_consumer_close(relay, 5000);
  kq_consumer_close(final_consumer, 5000);
  kq_producer_close(producer, 5000);
  rd_kafka_destroy(query);
  uv_close((uv_handle_t *)&resume_timer, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
  if (uv_loop_close(loop) != 0) FAIL("loop still has handles after every close");

  if (seen_bad) FAIL("%d outputs with wrong values", seen_bad);
  stamp();
  printf(
      "relay: %d inputs (%d redelivered to the second relay), %d markers; final: %d distinct, "
      "%d duplicates\n",
      relay_inputs, relay_redelivered, relay_markers, seen_distinct, seen_duplicates);
  free(relayed_once);
  free(seen);
  stamp();
  printf("%s: %d failures\n", failures ? "FAILED" : "OK", failures);
  return failures ? 1 : 0;
}
