/* kafka_offsets: the pure parts of kafka_loop, kept apart so unit tests can
 * drive them without a broker.
 *
 *   - kqo_tracker: per assigned partition, the offsets handed to the service
 *     in order and which of them are complete; it answers "which offset may
 *     be stored now", i.e. one past the longest prefix of complete inputs.
 *   - kqo_partition_lag: what a partition holds beyond the service's position;
 *   - kqo_stats_parse: reads librdkafka's statistics JSON (with jansson):
 *     the brokers that are UP.
 *
 * Prefix kqo_. No I/O, no logging. */
#ifndef LINDUNG_KAFKA_OFFSETS_H
#define LINDUNG_KAFKA_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kqo_tracker kqo_tracker;

kqo_tracker *kqo_tracker_new(void);
void kqo_tracker_free(kqo_tracker *tracker);

/* Starts tracking a newly assigned partition (forgetting any earlier
 * tracking of it). Returns 0 or -ENOMEM. */
int kqo_assign(kqo_tracker *tracker, const char *topic, int32_t partition);

/* Forgets a revoked partition: later completions of its inputs store nothing. */
void kqo_revoke(kqo_tracker *tracker, const char *topic, int32_t partition);
void kqo_revoke_all(kqo_tracker *tracker);

/* Records an input handed out to the service. Offsets of one partition must
 * increase. Returns a generation (> 0) to pass to kqo_complete(), or 0 when
 * the input cannot be tracked (offset not above the last one, no memory): its
 * completion then stores nothing, which is safe (it is redelivered). A
 * partition not yet assigned is assigned implicitly. */
uint64_t kqo_track(kqo_tracker *tracker, const char *topic, int32_t partition, int64_t offset);

/* Marks an input complete. Returns the offset to store (one past the new end
 * of the complete prefix) when the prefix grew, or -1 when nothing may be
 * stored yet or the partition's tracking has gone (revoked, reassigned). */
int64_t kqo_complete(kqo_tracker *tracker, const char *topic, int32_t partition,
                     uint64_t generation, int64_t offset);

/* Inputs handed out and not yet trimmed off the complete prefix. */
size_t kqo_pending(const kqo_tracker *tracker, const char *topic, int32_t partition);
bool kqo_is_assigned(const kqo_tracker *tracker, const char *topic, int32_t partition);

/* Messages of a partition after the service's position (one past the last
 * message handed to it), or -1 when either offset is unknown (< 0). */
int64_t kqo_partition_lag(int64_t high_watermark, int64_t position);

typedef struct kqo_stats {
  int brokers_up; /* brokers whose "state" is "UP" */
} kqo_stats;

/* Parses one statistics JSON document. Returns 0, or -EINVAL when the text is
 * not one well-formed JSON object (out is then unspecified). */
int kqo_stats_parse(const char *json, size_t len, kqo_stats *out);

#endif
