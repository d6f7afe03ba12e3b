/* partner_events: applies partner.events live in a scan-path service.
 *
 * Every instance reads every event: the consumer joins a group of its own
 * ("lindung-events-<service>-<instance>-<random>") starting at the end of
 * the topic (the state at start comes from PostgreSQL). Each event is
 * applied to a copy of the current registry snapshot, which then replaces
 * it (registry_pg_replace), and a reload from PostgreSQL is asked for as
 * well, so the database stays the source of truth. A load that was already
 * running when an event arrived may finish with an older snapshot; events
 * newer than a loaded snapshot (by registry version) are applied on top of
 * it again, so a change once applied is never undone by a stale load.
 *
 * The consumer is plain librdkafka served on the service's libuv loop (not
 * kafka_loop.h: no offsets are ever stored, and it must stop from inside
 * the loop before the runtime's final run). An event that does not parse,
 * or that is not a valid change, goes to scan.deadletter and nothing stops.
 *
 * Metrics (in the service's registry): lindung_partner_events_applied_total
 * {kind}, lindung_partner_event_last_applied_timestamp_seconds.
 * Prefix partner_events_. Functions return 0 or a negative errno code. */
#ifndef LINDUNG_PARTNER_EVENTS_H
#define LINDUNG_PARTNER_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "kafka_security.h"
#include "lindung/v1/internal.pb-c.h"
#include "metrics.h"
#include "registry.h"
#include "registry_pg.h"

/* One change as carried by a PartnerEvent, validated. */
typedef struct partner_events_change {
  Lindung__V1__PartnerEventKind kind;
  char partner_id[REGISTRY_MAX_PARTNER_ID + 1];
  uint32_t key_id;
  bool has_public_key;
  uint8_t public_key[32];
  uint32_t rate_per_s;
  uint32_t burst;
  uint32_t system_key_id;
  uint64_t grace_until_ms;
  uint64_t registry_version;
  uint64_t at_ms;
} partner_events_change;

/* Checks a decoded event (version 1, a known kind, the fields its kind
 * needs) and copies it into out. Returns 0, or -EINVAL with a short fixed
 * reason in *reason. */
int partner_events_validate(const Lindung__V1__PartnerEvent *event, partner_events_change *out,
                            const char **reason);

/* Applies a change to reg (a copy the caller owns). Returns 0 when fully
 * applied; 1 when reg lacks what the change refers to: the caller reloads
 * from PostgreSQL (reg may then hold part of the change, never a wrong
 * state); -EINVAL when the change is invalid. */
int partner_events_apply(registry *reg, const partner_events_change *change);

typedef struct partner_events partner_events;

/* What the consumer needs from the service that runs it. */
typedef struct partner_events_settings {
  uv_loop_t *loop;
  const char *service_name; /* group "lindung-events-<name>-<instance>-<random>" */
  const char *instance;
  const char *brokers;
  const kafka_security *security;
  unsigned fetch_wait_ms;
  metrics_registry *metrics;
  registry_pg *loader; /* the service's registry loader */
  /* Sends an event that cannot be applied to scan.deadletter. */
  void (*dead_letter)(void *ctx, const char *reason, int32_t partition, int64_t offset,
                      const void *key, size_t key_len, const void *value, size_t value_len);
  void *ctx;
} partner_events_settings;

/* Joins partner.events and starts serving on settings->loop. */
int partner_events_start(const partner_events_settings *settings, partner_events **out);

/* Applies every event already fetched. Call at the start of each input
 * batch, so a batch never runs on a snapshot older than what has arrived. */
void partner_events_poll(partner_events *events);

/* Call first in the loader's on_changed callback. Returns true when it
 * replaced the snapshot with a newer one (events newer than a stale load);
 * the callback has then already run for the newer snapshot, and the caller
 * must return at once without using current. */
bool partner_events_registry_changed(partner_events *events, const registry *current);

/* True once the consumer has its partition assignment (events published
 * from then on reach this instance); reason "partner_events" otherwise. */
bool partner_events_ready(const partner_events *events, const char **reason);

/* Stops serving from inside the loop (closes its handles), e.g. in the
 * service's stop path, before the runtime's final loop run. */
void partner_events_stop(partner_events *events);

/* After the loop ended: leaves the group and frees. NULL is fine. */
void partner_events_free(partner_events *events);

#endif
