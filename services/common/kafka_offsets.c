/* kafka_offsets: offset-prefix tracking and the statistics scanner used by
 * kafka_consumer.c (see kafka_offsets.h). Pure code: no librdkafka, no libuv. */
#include "kafka_offsets.h"

#include <errno.h>
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

/* --- statistics scanner ------------------------------------------------
 * A recursive-descent walk over the JSON that remembers the keys on the way
 * down, so a value is recognised by its path, e.g.
 * topics.<t>.partitions.<p>.consumer_lag or brokers.<b>.state. */

#define KQO_PATH_MAX 8
#define KQO_DEPTH_MAX 64

typedef struct kqo_key {
  const char *s; /* NULL for array elements */
  size_t len;
} kqo_key;

typedef struct kqo_scanner {
  const char *p, *end;
  kqo_key path[KQO_PATH_MAX];
  kqo_stats *out;
} kqo_scanner;

static bool kqo_key_is(const kqo_scanner *sc, int depth, const char *want) {
  if (depth >= KQO_PATH_MAX || !sc->path[depth].s) return false;
  size_t n = strlen(want);
  return sc->path[depth].len == n && memcmp(sc->path[depth].s, want, n) == 0;
}

static void kqo_skip_ws(kqo_scanner *sc) {
  while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
    sc->p++;
}

/* Scans a string at sc->p (the opening quote); returns its raw contents,
 * escapes left in place (the keys we look for have none). */
static int kqo_string(kqo_scanner *sc, kqo_key *out) {
  sc->p++;
  const char *start = sc->p;
  while (sc->p < sc->end && *sc->p != '"') {
    if (*sc->p == '\\') sc->p++;
    sc->p++;
  }
  if (sc->p >= sc->end) return -EINVAL;
  out->s = start;
  out->len = (size_t)(sc->p - start);
  sc->p++;
  return 0;
}

static void kqo_on_number(kqo_scanner *sc, int depth, bool integer, int64_t value) {
  if (depth == 5 && integer && kqo_key_is(sc, 0, "topics") && kqo_key_is(sc, 2, "partitions") &&
      kqo_key_is(sc, 4, "consumer_lag") && sc->path[3].s && sc->path[3].len > 0 &&
      sc->path[3].s[0] != '-' && value >= 0) {
    sc->out->consumer_lag += value;
    sc->out->lag_partitions++;
  }
}

static void kqo_on_string(kqo_scanner *sc, int depth, const kqo_key *value) {
  if (depth == 3 && kqo_key_is(sc, 0, "brokers") && kqo_key_is(sc, 2, "state") && value->len == 2 &&
      memcmp(value->s, "UP", 2) == 0)
    sc->out->brokers_up++;
}

static int kqo_value(kqo_scanner *sc, int depth);

static int kqo_container(kqo_scanner *sc, int depth, bool object) {
  char close = object ? '}' : ']';
  sc->p++;
  kqo_skip_ws(sc);
  if (sc->p < sc->end && *sc->p == close) {
    sc->p++;
    return 0;
  }
  for (;;) {
    kqo_key key = {NULL, 0};
    if (object) {
      kqo_skip_ws(sc);
      if (sc->p >= sc->end || *sc->p != '"' || kqo_string(sc, &key) != 0) return -EINVAL;
      kqo_skip_ws(sc);
      if (sc->p >= sc->end || *sc->p != ':') return -EINVAL;
      sc->p++;
    }
    if (depth < KQO_PATH_MAX) sc->path[depth] = key;
    int rc = kqo_value(sc, depth + 1);
    if (rc != 0) return rc;
    kqo_skip_ws(sc);
    if (sc->p >= sc->end) return -EINVAL;
    if (*sc->p == ',') {
      sc->p++;
      continue;
    }
    if (*sc->p != close) return -EINVAL;
    sc->p++;
    return 0;
  }
}

static int kqo_literal(kqo_scanner *sc, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0) return -EINVAL;
  sc->p += n;
  return 0;
}

static int kqo_number(kqo_scanner *sc, int depth) {
  bool negative = false, integer = true, digits = false;
  int64_t value = 0;
  if (*sc->p == '-') {
    negative = true;
    sc->p++;
  }
  while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9') {
    if (value < INT64_MAX / 10) value = value * 10 + (*sc->p - '0');
    digits = true;
    sc->p++;
  }
  if (!digits) return -EINVAL;
  while (sc->p < sc->end && (strchr(".eE+-", *sc->p) || (*sc->p >= '0' && *sc->p <= '9'))) {
    integer = false;
    sc->p++;
  }
  kqo_on_number(sc, depth, integer, negative ? -value : value);
  return 0;
}

static int kqo_value(kqo_scanner *sc, int depth) {
  if (depth > KQO_DEPTH_MAX) return -EINVAL;
  kqo_skip_ws(sc);
  if (sc->p >= sc->end) return -EINVAL;
  switch (*sc->p) {
    case '{':
      return kqo_container(sc, depth, true);
    case '[':
      return kqo_container(sc, depth, false);
    case '"': {
      kqo_key value;
      if (kqo_string(sc, &value) != 0) return -EINVAL;
      kqo_on_string(sc, depth, &value);
      return 0;
    }
    case 't':
      return kqo_literal(sc, "true");
    case 'f':
      return kqo_literal(sc, "false");
    case 'n':
      return kqo_literal(sc, "null");
    default:
      return kqo_number(sc, depth);
  }
}

int kqo_stats_parse(const char *json, size_t len, kqo_stats *out) {
  kqo_scanner sc = {.p = json, .end = json + len, .out = out};
  memset(out, 0, sizeof(*out));
  if (!json) return -EINVAL;
  int rc = kqo_value(&sc, 0);
  if (rc != 0) return rc;
  kqo_skip_ws(&sc);
  return sc.p == sc.end ? 0 : -EINVAL;
}
