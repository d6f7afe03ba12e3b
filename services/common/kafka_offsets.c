/* kafka_offsets: offset-prefix tracking and the statistics reader used by
 * kafka_consumer.c (see kafka_offsets.h). Pure code: no librdkafka, no libuv. */
#include "kafka_offsets.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct kqo_entry {
  int64_t offset;
  bool done;
} kqo_entry;

/* Inputs of one partition in hand-out order, as a ring buffer: complete
 * entries at the front are trimmed as soon as they form a prefix. */
typedef struct kqo_partition {
  char *topic;
  int32_t partition;
  uint64_t generation;
  kqo_entry *ring;
  size_t head, count, cap;
  int64_t last_offset; /* highest offset tracked, -1 before any */
} kqo_partition;

struct kqo_tracker {
  kqo_partition **parts;
  size_t count, cap;
  uint64_t next_generation;
};

kqo_tracker *kqo_tracker_new(void) {
  kqo_tracker *tracker = calloc(1, sizeof(*tracker));
  if (tracker) tracker->next_generation = 1;
  return tracker;
}

static void kqo_partition_free(kqo_partition *part) {
  free(part->topic);
  free(part->ring);
  free(part);
}

void kqo_tracker_free(kqo_tracker *tracker) {
  if (!tracker) return;
  kqo_revoke_all(tracker);
  free(tracker->parts);
  free(tracker);
}

static size_t kqo_find_index(const kqo_tracker *tracker, const char *topic, int32_t partition) {
  for (size_t i = 0; i < tracker->count; i++) {
    const kqo_partition *part = tracker->parts[i];
    if (part->partition == partition && strcmp(part->topic, topic) == 0) return i;
  }
  return SIZE_MAX;
}

static kqo_partition *kqo_find(const kqo_tracker *tracker, const char *topic, int32_t partition) {
  size_t i = kqo_find_index(tracker, topic, partition);
  return i == SIZE_MAX ? NULL : tracker->parts[i];
}

void kqo_revoke(kqo_tracker *tracker, const char *topic, int32_t partition) {
  size_t i = kqo_find_index(tracker, topic, partition);
  if (i == SIZE_MAX) return;
  kqo_partition_free(tracker->parts[i]);
  tracker->parts[i] = tracker->parts[--tracker->count];
}

void kqo_revoke_all(kqo_tracker *tracker) {
  for (size_t i = 0; i < tracker->count; i++) kqo_partition_free(tracker->parts[i]);
  tracker->count = 0;
}

static kqo_partition *kqo_assign_part(kqo_tracker *tracker, const char *topic, int32_t partition) {
  kqo_revoke(tracker, topic, partition);
  if (tracker->count == tracker->cap) {
    size_t cap = tracker->cap ? tracker->cap * 2 : 16;
    kqo_partition **parts = realloc(tracker->parts, cap * sizeof(*parts));
    if (!parts) return NULL;
    tracker->parts = parts;
    tracker->cap = cap;
  }
  kqo_partition *part = calloc(1, sizeof(*part));
  if (!part) return NULL;
  part->topic = strdup(topic);
  if (!part->topic) {
    free(part);
    return NULL;
  }
  part->partition = partition;
  part->generation = tracker->next_generation++;
  part->last_offset = -1;
  tracker->parts[tracker->count++] = part;
  return part;
}

int kqo_assign(kqo_tracker *tracker, const char *topic, int32_t partition) {
  return kqo_assign_part(tracker, topic, partition) ? 0 : -ENOMEM;
}

static kqo_entry *kqo_at(kqo_partition *part, size_t i) {
  return &part->ring[(part->head + i) % part->cap];
}

static int kqo_grow(kqo_partition *part) {
  size_t cap = part->cap ? part->cap * 2 : 64;
  kqo_entry *ring = malloc(cap * sizeof(*ring));
  if (!ring) return -ENOMEM;
  for (size_t i = 0; i < part->count; i++) ring[i] = *kqo_at(part, i);
  free(part->ring);
  part->ring = ring;
  part->cap = cap;
  part->head = 0;
  return 0;
}

uint64_t kqo_track(kqo_tracker *tracker, const char *topic, int32_t partition, int64_t offset) {
  kqo_partition *part = kqo_find(tracker, topic, partition);
  if (!part && !(part = kqo_assign_part(tracker, topic, partition))) return 0;
  if (offset < 0 || offset <= part->last_offset) return 0;
  if (part->count == part->cap && kqo_grow(part) != 0) return 0;
  part->ring[(part->head + part->count) % part->cap] = (kqo_entry){.offset = offset, .done = false};
  part->count++;
  part->last_offset = offset;
  return part->generation;
}

int64_t kqo_complete(kqo_tracker *tracker, const char *topic, int32_t partition,
                     uint64_t generation, int64_t offset) {
  kqo_partition *part = kqo_find(tracker, topic, partition);
  if (!part || generation == 0 || part->generation != generation || part->count == 0) return -1;
  /* Offsets in the ring increase, so a binary search finds the entry. */
  size_t lo = 0, hi = part->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (kqo_at(part, mid)->offset < offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == part->count || kqo_at(part, lo)->offset != offset) return -1;
  kqo_at(part, lo)->done = true;
  if (lo != 0) return -1;
  int64_t last = -1;
  while (part->count > 0 && kqo_at(part, 0)->done) {
    last = kqo_at(part, 0)->offset;
    part->head = (part->head + 1) % part->cap;
    part->count--;
  }
  return last + 1;
}

size_t kqo_pending(const kqo_tracker *tracker, const char *topic, int32_t partition) {
  const kqo_partition *part = kqo_find(tracker, topic, partition);
  return part ? part->count : 0;
}

bool kqo_is_assigned(const kqo_tracker *tracker, const char *topic, int32_t partition) {
  return kqo_find(tracker, topic, partition) != NULL;
}

/* --- statistics ------------------------------------------------------ */

int64_t kqo_partition_lag(int64_t high_watermark, int64_t position) {
  if (high_watermark < 0 || position < 0) return -1;
  return high_watermark > position ? high_watermark - position : 0;
}

int kqo_stats_parse(const char *json, size_t len, kqo_stats *out) {
  memset(out, 0, sizeof(*out));
  if (!json) return -EINVAL;
  json_error_t error;
  json_t *root = json_loadb(json, len, 0, &error);
  if (!root) return -EINVAL;
  if (!json_is_object(root)) {
    json_decref(root);
    return -EINVAL;
  }
  const char *name;
  json_t *broker, *brokers = json_object_get(root, "brokers");
  json_object_foreach(brokers, name, broker) {
    const char *state = json_string_value(json_object_get(broker, "state"));
    if (state && strcmp(state, "UP") == 0) out->brokers_up++;
  }
  json_decref(root);
  return 0;
}
