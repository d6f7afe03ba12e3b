/* Unit tests of kafka_loop's pure parts (kafka_offsets.c): the prefix
 * tracker that decides which offset may be stored, and the statistics
 * scanner. stats_sample.json is real librdkafka 2.0.2 consumer statistics
 * (one broker, audit.log with 3 partitions, 10 of 21 messages of partition
 * 2 committed). */
#include <errno.h>
#include <stdlib.h>

#include "kafka_offsets.h"
#include "support.h"
#include "testing.h"

static void test_in_order_completion_advances_each_time(void) {
  kqo_tracker *t = kqo_tracker_new();
  CHECK(t != NULL);
  CHECK_EQ_INT(kqo_assign(t, "scan.requests", 0), 0);
  uint64_t g = kqo_track(t, "scan.requests", 0, 10);
  CHECK(g > 0);
  CHECK_EQ_INT(kqo_track(t, "scan.requests", 0, 11), g);
  CHECK_EQ_INT(kqo_complete(t, "scan.requests", 0, g, 10), 11);
  CHECK_EQ_INT(kqo_complete(t, "scan.requests", 0, g, 11), 12);
  CHECK_EQ_INT(kqo_pending(t, "scan.requests", 0), 0);
  kqo_tracker_free(t);
}

static void test_out_of_order_completion_waits_for_prefix(void) {
  kqo_tracker *t = kqo_tracker_new();
  uint64_t g = 0;
  for (int64_t off = 100; off < 105; off++) g = kqo_track(t, "scan.accepted", 3, off);
  /* 101, 103, 104 finish first: nothing may be stored while 100 is open. */
  CHECK_EQ_INT(kqo_complete(t, "scan.accepted", 3, g, 101), -1);
  CHECK_EQ_INT(kqo_complete(t, "scan.accepted", 3, g, 104), -1);
  CHECK_EQ_INT(kqo_complete(t, "scan.accepted", 3, g, 103), -1);
  CHECK_EQ_INT(kqo_pending(t, "scan.accepted", 3), 5);
  /* 100 completes: the prefix 100..101 is complete, 102 still open. */
  CHECK_EQ_INT(kqo_complete(t, "scan.accepted", 3, g, 100), 102);
  CHECK_EQ_INT(kqo_pending(t, "scan.accepted", 3), 3);
  CHECK_EQ_INT(kqo_complete(t, "scan.accepted", 3, g, 102), 105);
  CHECK_EQ_INT(kqo_pending(t, "scan.accepted", 3), 0);
  /* A second completion of the same offset is ignored. */
  CHECK_EQ_INT(kqo_complete(t, "scan.accepted", 3, g, 102), -1);
  kqo_tracker_free(t);
}

static void test_gaps_in_offsets(void) {
  /* Offsets may skip (transaction markers, compaction): store past the gap. */
  kqo_tracker *t = kqo_tracker_new();
  uint64_t g = kqo_track(t, "audit.events", 0, 5);
  kqo_track(t, "audit.events", 0, 9);
  CHECK_EQ_INT(kqo_complete(t, "audit.events", 0, g, 9), -1);
  CHECK_EQ_INT(kqo_complete(t, "audit.events", 0, g, 5), 10);
  /* Unknown offset: nothing. */
  CHECK_EQ_INT(kqo_complete(t, "audit.events", 0, g, 7), -1);
  kqo_tracker_free(t);
}

static void test_partitions_are_independent(void) {
  kqo_tracker *t = kqo_tracker_new();
  uint64_t a0 = kqo_track(t, "scan.requests", 0, 0);
  uint64_t a1 = kqo_track(t, "scan.requests", 1, 0);
  uint64_t b0 = kqo_track(t, "scan.decrypted", 0, 0);
  kqo_track(t, "scan.requests", 0, 1);
  kqo_track(t, "scan.requests", 1, 1);
  CHECK(a0 != a1 && a0 != b0);
  /* Completing partition 1 and another topic does not move partition 0. */
  CHECK_EQ_INT(kqo_complete(t, "scan.requests", 1, a1, 0), 1);
  CHECK_EQ_INT(kqo_complete(t, "scan.decrypted", 0, b0, 0), 1);
  CHECK_EQ_INT(kqo_complete(t, "scan.requests", 0, a0, 1), -1);
  CHECK_EQ_INT(kqo_complete(t, "scan.requests", 1, a1, 1), 2);
  CHECK_EQ_INT(kqo_complete(t, "scan.requests", 0, a0, 0), 2);
  /* Generations are per partition: a wrong one is refused. */
  kqo_track(t, "scan.requests", 0, 2);
  CHECK_EQ_INT(kqo_complete(t, "scan.requests", 0, a1, 2), -1);
  CHECK_EQ_INT(kqo_complete(t, "scan.requests", 0, a0, 2), 3);
  kqo_tracker_free(t);
}

static void test_revoke_drops_tracking(void) {
  kqo_tracker *t = kqo_tracker_new();
  kqo_assign(t, "scan.requests", 0);
  kqo_assign(t, "scan.requests", 1);
  uint64_t g0 = kqo_track(t, "scan.requests", 0, 40);
  uint64_t g1 = kqo_track(t, "scan.requests", 1, 7);
  kqo_revoke(t, "scan.requests", 0);
  CHECK(!kqo_is_assigned(t, "scan.requests", 0));
  CHECK(kqo_is_assigned(t, "scan.requests", 1));
  /* The revoked partition's input finishes later: nothing to store. */
  CHECK_EQ_INT(kqo_complete(t, "scan.requests", 0, g0, 40), -1);
  CHECK_EQ_INT(kqo_complete(t, "scan.requests", 1, g1, 7), 8);
  /* Re-assigned: old generation's completions still store nothing, even
   * at an offset the new generation also tracks (it was redelivered). */
  kqo_assign(t, "scan.requests", 0);
  uint64_t g0b = kqo_track(t, "scan.requests", 0, 40);
  CHECK(g0b != 0 && g0b != g0);
  CHECK_EQ_INT(kqo_complete(t, "scan.requests", 0, g0, 40), -1);
  CHECK_EQ_INT(kqo_pending(t, "scan.requests", 0), 1);
  CHECK_EQ_INT(kqo_complete(t, "scan.requests", 0, g0b, 40), 41);
  kqo_revoke_all(t);
  CHECK(!kqo_is_assigned(t, "scan.requests", 1));
  CHECK_EQ_INT(kqo_complete(t, "scan.requests", 0, g0b, 40), -1);
  kqo_tracker_free(t);
}

static void test_offsets_must_increase(void) {
  kqo_tracker *t = kqo_tracker_new();
  CHECK(kqo_track(t, "x", 0, 5) > 0);
  CHECK_EQ_INT(kqo_track(t, "x", 0, 5), 0);
  CHECK_EQ_INT(kqo_track(t, "x", 0, 3), 0);
  CHECK_EQ_INT(kqo_track(t, "x", 0, -1), 0);
  CHECK_EQ_INT(kqo_pending(t, "x", 0), 1);
  kqo_tracker_free(t);
}

static void test_many_inputs_ring_growth(void) {
  /* Far more than the initial ring, completed in reverse, then a window of
   * 3 that slides: exercises wrap-around and growth. */
  kqo_tracker *t = kqo_tracker_new();
  uint64_t g = 0;
  for (int64_t off = 0; off < 1000; off++) g = kqo_track(t, "p", 2, off);
  for (int64_t off = 999; off >= 1; off--) CHECK_EQ_INT(kqo_complete(t, "p", 2, g, off), -1);
  CHECK_EQ_INT(kqo_complete(t, "p", 2, g, 0), 1000);
  for (int64_t off = 1000; off < 1300; off++) {
    kqo_track(t, "p", 2, off);
    if (off >= 1002) CHECK_EQ_INT(kqo_complete(t, "p", 2, g, off - 2), off - 1);
  }
  CHECK_EQ_INT(kqo_pending(t, "p", 2), 2);
  kqo_tracker_free(t);
}

static void test_stats_sample(void) {
  size_t len = 0;
  char *json = support_read_file("stats_sample.json", &len);
  CHECK(json != NULL);
  if (!json) return;
  kqo_stats stats;
  CHECK_EQ_INT(kqo_stats_parse(json, len, &stats), 0);
  CHECK_EQ_INT(stats.brokers_up, 2); /* the broker and the group coordinator */
  free(json);
}

static void test_stats_synthetic(void) {
  const char *json =
      "{\"name\":\"c\",\"brokers\":{\"a:1/1\":{\"state\":\"UP\",\"nodeid\":1},"
      "\"a:2/2\":{\"state\":\"DOWN\",\"nodeid\":2},\"a:3/bootstrap\":{\"state\":\"INIT\"},"
      "\"a:4/4\":{\"state\":7},\"a:5/5\":[\"UP\"]},"
      "\"topics\":{\"t\\\"two\":{\"partitions\":{\"4\":{\"consumer_lag\":12}}}},"
      "\"consumer_lag\":500,\"cgrp\":{\"state\":\"UP\"},\"flags\":[true,false,null]}";
  kqo_stats stats;
  CHECK_EQ_INT(kqo_stats_parse(json, strlen(json), &stats), 0);
  CHECK_EQ_INT(stats.brokers_up, 1);
  CHECK_EQ_INT(kqo_stats_parse("{}", 2, &stats), 0);
  CHECK_EQ_INT(stats.brokers_up, 0);
}

static void test_partition_lag(void) {
  CHECK_EQ_INT(kqo_partition_lag(50, 40), 10);
  CHECK_EQ_INT(kqo_partition_lag(40, 40), 0);
  /* The cached watermark can trail a position just taken. */
  CHECK_EQ_INT(kqo_partition_lag(39, 40), 0);
  /* -1001 (RD_KAFKA_OFFSET_INVALID): nothing taken since the assignment,
   * or no watermark known yet. */
  CHECK_EQ_INT(kqo_partition_lag(50, -1001), -1);
  CHECK_EQ_INT(kqo_partition_lag(-1001, 40), -1);
}

static void test_stats_malformed(void) {
  kqo_stats stats;
  const char *bad[] = {"",           "{",      "{\"a\":}",    "{\"a\" 1}", "[1,2",
                       "{\"a\":1}x", "\"open", "{\"a\":tru}", "{\"a\":-}", "[]"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    CHECK_EQ_INT(kqo_stats_parse(bad[i], strlen(bad[i]), &stats), -EINVAL);
  /* Deep nesting is refused, not a stack overflow. */
  char deep[400];
  memset(deep, '[', sizeof(deep));
  CHECK_EQ_INT(kqo_stats_parse(deep, sizeof(deep), &stats), -EINVAL);
}

int main(void) {
  RUN(test_in_order_completion_advances_each_time);
  RUN(test_out_of_order_completion_waits_for_prefix);
  RUN(test_gaps_in_offsets);
  RUN(test_partitions_are_independent);
  RUN(test_revoke_drops_tracking);
  RUN(test_offsets_must_increase);
  RUN(test_many_inputs_ring_growth);
  RUN(test_stats_sample);
  RUN(test_stats_synthetic);
  RUN(test_partition_lag);
  RUN(test_stats_malformed);
  return testing_summary();
}
