/* replay_window: which (partner_id, request_id) pairs decrypt has opened in
 * the last ttl (600 s), and where each was first read on scan.requests.
 *
 * Redelivery is not replay (docs/architecture.md): the same request id read again
 * at the same source place (partition, offset) is the same message seen
 * again after a restart and must be processed again; at a different place
 * it is a second message reusing the id, answered REPLAYED.
 *
 * Only authenticated requests are recorded, so a forged message cannot
 * block a partner's request id in advance. Memory is bounded: a fixed ring
 * of entries in arrival order, the oldest dropped when full or expired, and
 * an open-addressing index over it. Keys are stored as a 128-bit keyed
 * BLAKE2b digest of the pair (the key is random per process), so partner
 * chosen ids cannot aim at one hash chain. Not thread-safe.
 * Prefix replay_. */
#ifndef LINDUNG_DECRYPT_REPLAY_WINDOW_H
#define LINDUNG_DECRYPT_REPLAY_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#define REPLAY_DEFAULT_TTL_MS 600000u
#define REPLAY_DEFAULT_CAPACITY 2000000u

typedef enum replay_verdict {
  REPLAY_NEW = 0,        /* first time: now recorded */
  REPLAY_REDELIVERY = 1, /* seen at this same place: process again */
  REPLAY_REPLAYED = 2,   /* seen at another place within the ttl */
} replay_verdict;

typedef struct replay_window replay_window;

/* capacity: most entries kept (at least 1); ttl_ms: how long an entry counts.
 * Memory is reserved for capacity entries (about 48 bytes each) but only
 * touched as entries arrive. NULL when out of memory. */
replay_window *replay_window_new(size_t capacity, uint64_t ttl_ms);
void replay_window_free(replay_window *window);

/* Looks the pair up at now_ms and records it when new (or expired). */
replay_verdict replay_window_check(replay_window *window, const char *partner_id,
                                   const uint8_t request_id[16], int32_t partition, int64_t offset,
                                   uint64_t now_ms);

size_t replay_window_size(const replay_window *window);

#endif
