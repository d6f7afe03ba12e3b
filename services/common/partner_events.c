/* partner_events: the live application of partner.events (see
 * partner_events.h). librdkafka wakes the loop through a pipe
 * (rd_kafka_queue_io_event_enable) watched by a uv_poll; a slow timer
 * serves the queue too, for group upkeep and in case a wake-up is missed. */
#define _GNU_SOURCE /* pipe2 */
#include "partner_events.h"

#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "log.h"
#include "proto_limits.h"
#include "service_clock.h"
#include "topics.h"

/* Events remembered for re-application over a stale load. Changes are rare;
 * a load older than this many events is caught by the next poll anyway. */
#define PARTNER_EVENTS_RECENT 64
#define PARTNER_EVENTS_TIMER_MS 100

struct partner_events {
  partner_events_settings settings;
  registry_pg *loader;
  rd_kafka_t *rk;
  rd_kafka_queue_t *queue;
  int pipe_fds[2];
  uv_poll_t poll;
  uv_timer_t timer;
  bool handles_started;
  bool stopped;
  bool assigned;
  bool replacing; /* our own registry_pg_replace is running */
  metrics_family *applied_total;
  metrics_family *last_applied;
  partner_events_change recent[PARTNER_EVENTS_RECENT];
  size_t recent_start, recent_count;
  double last_error_log;
};

/* ---- pure part ------------------------------------------------------------ */

static bool partner_events_id_ok(const char *id) {
  size_t n = id ? strlen(id) : 0;
  if (n < 2 || n > REGISTRY_MAX_PARTNER_ID) return false;
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

int partner_events_validate(const Lindung__V1__PartnerEvent *event, partner_events_change *out,
                            const char **reason) {
  memset(out, 0, sizeof *out);
  if (event->version != 1) {
    *reason = "bad_version";
    return -EINVAL;
  }
  out->kind = event->kind;
  out->registry_version = event->registry_version;
  out->at_ms = event->at_ms;
  out->key_id = event->key_id;
  out->rate_per_s = event->rate_per_s;
  out->burst = event->burst;
  out->system_key_id = event->system_key_id;
  out->grace_until_ms = event->grace_until_ms;
  if (event->public_key.len == 32) {
    out->has_public_key = true;
    memcpy(out->public_key, event->public_key.data, 32);
  } else if (event->public_key.len != 0) {
    *reason = "bad_public_key";
    return -EINVAL;
  }
  switch (event->kind) {
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_SYSTEM_KEY_ROTATED:
      if (event->system_key_id == 0 || !out->has_public_key) {
        *reason = "bad_system_key";
        return -EINVAL;
      }
      return 0;
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_ADDED:
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_KEY_ADDED:
      if (event->key_id == 0 || !out->has_public_key) {
        *reason = "bad_key";
        return -EINVAL;
      }
      break;
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_KEY_REVOKED:
      if (event->key_id == 0) {
        *reason = "bad_key";
        return -EINVAL;
      }
      break;
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_REVOKED:
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_REINSTATED:
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_QUOTA_SET:
      break;
    default:
      *reason = "unknown_kind";
      return -EINVAL;
  }
  if (!partner_events_id_ok(event->partner_id)) {
    *reason = "bad_partner_id";
    return -EINVAL;
  }
  memcpy(out->partner_id, event->partner_id, strlen(event->partner_id) + 1);
  return 0;
}

int partner_events_apply(registry *reg, const partner_events_change *change) {
  const registry_partner *p = NULL;
  if (change->kind != LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_SYSTEM_KEY_ROTATED) {
    if (!partner_events_id_ok(change->partner_id)) return -EINVAL;
    p = registry_find_partner(reg, change->partner_id);
  }
  switch (change->kind) {
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_ADDED:
      if (!change->has_public_key || change->key_id == 0) return -EINVAL;
      if (registry_put_partner(reg, change->partner_id, p ? p->revoked : false,
                               p ? p->rate_per_s : 0, p ? p->burst : 0))
        return 1;
      return registry_put_partner_key(reg, change->partner_id, change->key_id, change->public_key,
                                      false)
                 ? 1
                 : 0;
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_KEY_ADDED:
      if (!change->has_public_key || change->key_id == 0) return -EINVAL;
      if (!p) return 1;
      return registry_put_partner_key(reg, change->partner_id, change->key_id, change->public_key,
                                      false)
                 ? 1
                 : 0;
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_KEY_REVOKED: {
      if (!p) return 1;
      const registry_key *key = registry_find_partner_key(p, change->key_id);
      if (!key) return 1;
      uint8_t pk[32];
      memcpy(pk, key->public_key, 32);
      return registry_put_partner_key(reg, change->partner_id, change->key_id, pk, true) ? 1 : 0;
    }
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_REVOKED:
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_REINSTATED: {
      if (!p) return 1;
      bool revoked = change->kind == LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_REVOKED;
      return registry_put_partner(reg, change->partner_id, revoked, p->rate_per_s, p->burst) ? 1
                                                                                             : 0;
    }
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_QUOTA_SET:
      if (!p) return 1;
      return registry_put_partner(reg, change->partner_id, p->revoked, change->rate_per_s,
                                  change->burst)
                 ? 1
                 : 0;
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_SYSTEM_KEY_ROTATED:
      if (!change->has_public_key || change->system_key_id == 0) return -EINVAL;
      /* The new key opens requests from now on; every other active key
       * keeps working until grace_until_ms, then is retired. */
      if (registry_put_system_key(reg, change->system_key_id, change->public_key,
                                  REGISTRY_SYSTEM_KEY_ACTIVE, 0))
        return 1;
      for (size_t i = 0; i < registry_system_key_count(reg); i++) {
        const registry_system_key *key = registry_system_key_at(reg, i);
        if (key->key_id == change->system_key_id || key->status != REGISTRY_SYSTEM_KEY_ACTIVE) continue;
        if (registry_put_system_key(reg, key->key_id, key->public_key, REGISTRY_SYSTEM_KEY_RETIRING,
                                    change->grace_until_ms))
          return 1;
      }
      return 0;
    default:
      return -EINVAL;
  }
}

/* ---- runtime -------------------------------------------------------------- */

static const char *partner_events_kind_label(Lindung__V1__PartnerEventKind kind) {
  switch (kind) {
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_ADDED:
      return "added";
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_KEY_ADDED:
      return "key_added";
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_KEY_REVOKED:
      return "key_revoked";
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_REVOKED:
      return "revoked";
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_REINSTATED:
      return "reinstated";
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_QUOTA_SET:
      return "quota_set";
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_SYSTEM_KEY_ROTATED:
      return "system_key_rotated";
    default:
      return "unknown";
  }
}

static void partner_events_remember(partner_events *pe, const partner_events_change *change) {
  size_t slot = (pe->recent_start + pe->recent_count) % PARTNER_EVENTS_RECENT;
  if (pe->recent_count == PARTNER_EVENTS_RECENT) {
    pe->recent_start = (pe->recent_start + 1) % PARTNER_EVENTS_RECENT;
  } else {
    pe->recent_count++;
  }
  pe->recent[slot] = *change;
}

static void partner_events_replace(partner_events *pe, registry *next) {
  pe->replacing = true;
  registry_pg_replace(pe->loader, next);
  pe->replacing = false;
}

static void partner_events_dead_letter(partner_events *pe, const rd_kafka_message_t *m,
                                       const char *reason) {
  pe->settings.dead_letter(pe->settings.ctx, reason, m->partition, m->offset, m->key, m->key_len,
                           m->payload, m->len);
  LOG_WARN("partner_event_refused", LOG_ID("reason", reason), LOG_INT("partition", m->partition),
           LOG_INT("offset", m->offset));
}

static void partner_events_handle(partner_events *pe, const rd_kafka_message_t *m) {
  ProtobufCMessage *decoded = NULL;
  proto_decode_status st = proto_decode(&lindung__v1__partner_event__descriptor, m->payload, m->len,
                                        PROTO_MAX_MESSAGE_BYTES, &decoded);
  if (st != PROTO_DECODE_OK) {
    partner_events_dead_letter(pe, m, proto_decode_reason(st));
    return;
  }
  partner_events_change change;
  const char *reason = NULL;
  int rc = partner_events_validate((const Lindung__V1__PartnerEvent *)decoded, &change, &reason);
  protobuf_c_message_free_unpacked(decoded, NULL);
  if (rc) {
    partner_events_dead_letter(pe, m, reason);
    return;
  }
  const registry *current = registry_pg_current(pe->loader);
  if (current) {
    registry *next = registry_copy(current);
    int applied = next ? partner_events_apply(next, &change) : 1;
    if (next && applied >= 0) {
      partner_events_replace(pe, next);
    } else {
      registry_free(next);
    }
  }
  partner_events_remember(pe, &change);
  /* PostgreSQL stays the source of truth: the reload confirms the change
   * (and completes what an event cannot express). */
  registry_pg_reload(pe->loader);
  metrics_add(pe->applied_total, partner_events_kind_label(change.kind), 1);
  metrics_set(pe->last_applied, NULL, (double)service_now_ms() / 1000.0);
  LOG_INFO("partner_event_applied", LOG_ID("kind", partner_events_kind_label(change.kind)),
           LOG_ID("partner", change.partner_id[0] ? change.partner_id : "-"),
           LOG_INT("registry_version", change.registry_version));
}

static void partner_events_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                        rd_kafka_topic_partition_list_t *partitions, void *opaque) {
  partner_events *pe = opaque;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(rk, partitions);
    if (!pe->assigned) {
      LOG_INFO("partner_events_assigned", LOG_INT("partitions", partitions->cnt));
      /* Events published before the assignment are not read: a reload
       * picks up what changed between the load at start and now. */
      if (pe->loader) registry_pg_reload(pe->loader);
    }
    pe->assigned = true;
  } else {
    rd_kafka_assign(rk, NULL);
    pe->assigned = false;
  }
}

static void partner_events_on_log(const rd_kafka_t *rk, int level, const char *fac,
                                  const char *buf) {
  (void)rk;
  if (level > 4) return;
  if (level <= 3)
    LOG_ERROR("kafka_client", LOG_ID("facility", fac), LOG_ERRTEXT("message", buf));
  else
    LOG_WARN("kafka_client", LOG_ID("facility", fac), LOG_ERRTEXT("message", buf));
}

static void partner_events_serve(partner_events *pe) {
  if (pe->stopped) return;
  for (int i = 0; i < 1000; i++) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(pe->rk, 0);
    if (!m) break;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        double now = service_monotonic_s();
        if (now - pe->last_error_log > 10) {
          pe->last_error_log = now;
          LOG_WARN("partner_events_error", LOG_ID("error", rd_kafka_err2name(m->err)));
        }
      }
    } else {
      partner_events_handle(pe, m);
    }
    rd_kafka_message_destroy(m);
  }
}

void partner_events_poll(partner_events *events) {
  if (events) partner_events_serve(events);
}

static void partner_events_on_poll(uv_poll_t *handle, int status, int revents) {
  partner_events *pe = handle->data;
  (void)status;
  (void)revents;
  char buf[64];
  while (read(pe->pipe_fds[0], buf, sizeof buf) > 0) {
  }
  partner_events_serve(pe);
}

static void partner_events_on_timer(uv_timer_t *timer) {
  partner_events_serve(timer->data);
}

bool partner_events_registry_changed(partner_events *events, const registry *current) {
  if (!events || events->replacing || !current) return false;
  uint64_t version = registry_version(current);
  /* Drop what the loaded snapshot already holds; re-apply the rest. */
  while (events->recent_count && events->recent[events->recent_start].registry_version <= version) {
    events->recent_start = (events->recent_start + 1) % PARTNER_EVENTS_RECENT;
    events->recent_count--;
  }
  if (!events->recent_count) return false;
  registry *next = registry_copy(current);
  if (!next) return false;
  for (size_t i = 0; i < events->recent_count; i++) {
    const partner_events_change *c =
        &events->recent[(events->recent_start + i) % PARTNER_EVENTS_RECENT];
    (void)partner_events_apply(next, c);
  }
  registry_pg_reload(events->loader);
  partner_events_replace(events, next);
  return true;
}

bool partner_events_ready(const partner_events *events, const char **reason) {
  if (events && events->assigned) return true;
  *reason = "partner_events";
  return false;
}

int partner_events_start(const partner_events_settings *settings, partner_events **out) {
  *out = NULL;
  partner_events *pe = calloc(1, sizeof *pe);
  if (!pe) return -ENOMEM;
  pe->settings = *settings;
  pe->loader = settings->loader;
  pe->pipe_fds[0] = pe->pipe_fds[1] = -1;
  pe->applied_total =
      metrics_counter(settings->metrics, "lindung_partner_events_applied_total",
                      "PartnerEvents applied to this instance's registry, by kind.", "kind");
  /* Every kind at 0 from the start: an instance cut off from partner.events
   * since it started must show (LindungPartnerEventsNotApplied). */
  for (int kind = LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_ADDED;
       kind <= LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_SYSTEM_KEY_ROTATED; kind++)
    metrics_add(pe->applied_total,
                partner_events_kind_label((Lindung__V1__PartnerEventKind)kind), 0);
  pe->last_applied =
      metrics_gauge(settings->metrics, "lindung_partner_event_last_applied_timestamp_seconds",
                    "When this instance last applied a PartnerEvent (Unix time).", NULL);
  char group[160], client_id[64], fetch_wait[16], errstr[256];
  uint8_t random[4];
  char random_hex[9];
  randombytes_buf(random, sizeof random);
  hex_encode(random, sizeof random, random_hex);
  snprintf(group, sizeof group, "lindung-events-%s-%s-%s", settings->service_name,
           settings->instance, random_hex);
  snprintf(client_id, sizeof client_id, "lindung-%s-events", settings->service_name);
  /* The service's fetch wait: the broker answers as soon as an event
   * arrives, so an event stays ahead of requests produced after it was
   * acknowledged without polling every few ms. */
  snprintf(fetch_wait, sizeof fetch_wait, "%u", settings->fetch_wait_ms);
  const char *props[] = {
      "bootstrap.servers",
      settings->brokers,
      "client.id",
      client_id,
      "group.id",
      group,
      "auto.offset.reset",
      "latest",
      "enable.auto.commit",
      "false",
      "enable.auto.offset.store",
      "false",
      "session.timeout.ms",
      "6000",
      "heartbeat.interval.ms",
      "1000",
      "fetch.wait.max.ms",
      fetch_wait,
      "allow.auto.create.topics",
      "false",
      "log.queue",
      "true",
      NULL,
  };
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  for (size_t i = 0; props[i]; i += 2) {
    if (rd_kafka_conf_set(conf, props[i], props[i + 1], errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      LOG_ERROR("partner_events_config", LOG_ERRTEXT("reason", errstr));
      rd_kafka_conf_destroy(conf);
      free(pe);
      return -EINVAL;
    }
  }
  /* The same principal as the service's other clients. */
  if (ksec_conf_set(conf, settings->security, errstr, sizeof errstr)) {
    LOG_ERROR("partner_events_config", LOG_ERRTEXT("reason", errstr));
    rd_kafka_conf_destroy(conf);
    free(pe);
    return -EINVAL;
  }
  rd_kafka_conf_set_opaque(conf, pe);
  rd_kafka_conf_set_rebalance_cb(conf, partner_events_on_rebalance);
  rd_kafka_conf_set_log_cb(conf, partner_events_on_log);
  pe->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!pe->rk) {
    LOG_ERROR("partner_events_open", LOG_ERRTEXT("reason", errstr));
    rd_kafka_conf_destroy(conf);
    free(pe);
    return -EINVAL;
  }
  rd_kafka_poll_set_consumer(pe->rk);
  pe->queue = rd_kafka_queue_get_consumer(pe->rk);
  rd_kafka_set_log_queue(pe->rk, pe->queue);
  if (pipe2(pe->pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    int err = -errno;
    partner_events_free(pe);
    return err;
  }
  rd_kafka_queue_io_event_enable(pe->queue, pe->pipe_fds[1], "1", 1);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, TOPIC_PARTNER_EVENTS, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(pe->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) {
    LOG_ERROR("partner_events_subscribe", LOG_ID("error", rd_kafka_err2name(err)));
    partner_events_free(pe);
    return -EIO;
  }
  uv_poll_init(settings->loop, &pe->poll, pe->pipe_fds[0]);
  uv_timer_init(settings->loop, &pe->timer);
  pe->poll.data = pe->timer.data = pe;
  pe->handles_started = true;
  uv_poll_start(&pe->poll, UV_READABLE, partner_events_on_poll);
  uv_timer_start(&pe->timer, partner_events_on_timer, PARTNER_EVENTS_TIMER_MS,
                 PARTNER_EVENTS_TIMER_MS);
  *out = pe;
  return 0;
}

void partner_events_stop(partner_events *events) {
  if (!events || events->stopped) return;
  events->stopped = true;
  if (events->handles_started) {
    uv_poll_stop(&events->poll);
    uv_timer_stop(&events->timer);
    uv_close((uv_handle_t *)&events->poll, NULL);
    uv_close((uv_handle_t *)&events->timer, NULL);
  }
}

void partner_events_free(partner_events *events) {
  if (!events) return;
  events->stopped = true;
  if (events->rk) {
    if (events->queue) rd_kafka_queue_io_event_enable(events->queue, -1, NULL, 0);
    rd_kafka_consumer_close(events->rk);
    if (events->queue) rd_kafka_queue_destroy(events->queue);
    rd_kafka_destroy(events->rk);
  }
  if (events->pipe_fds[0] >= 0) close(events->pipe_fds[0]);
  if (events->pipe_fds[1] >= 0) close(events->pipe_fds[1]);
  free(events);
}
