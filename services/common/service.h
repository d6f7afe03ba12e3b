/* service: what every Lindung service does the same way, so that a
 * service's main.c only wires its own per-message logic:
 *
 *   - common settings (LINDUNG_KAFKA_BROKERS, LINDUNG_DB_URL, LINDUNG_HTTP_ADDR,
 *     LINDUNG_LOG_LEVEL, LINDUNG_INSTANCE) and --help;
 *   - one libuv loop with the Kafka producer, the input consumer, the
 *     PostgreSQL client (when the service has a database) and the HTTP
 *     listener for /healthz, /readyz and /metrics;
 *   - the standard metrics: requests by outcome, processing time, consumer
 *     lag, dead letters;
 *   - graceful stop on SIGTERM/SIGINT: stop consuming, finish in-flight
 *     inputs, flush, commit, exit 0.
 *
 * Prefix service_. */
#ifndef LINDUNG_SERVICE_H
#define LINDUNG_SERVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "http_server.h"
#include "kafka_loop.h"
#include "kafka_security.h"
#include "metrics.h"
#include "pg_client.h"
#include "registry.h"
#include "service_clock.h"

typedef struct service_common {
  const char *brokers;
  const char *db_url;
  const char *http_addr;
  const char *log_level;
  const char *instance;
  uint32_t max_batch;
  uint32_t fetch_wait_ms;
  uint32_t session_timeout_ms;
  uint32_t linger_ms;
  uint32_t metadata_refresh_ms;
  kafka_security kafka_security;
} service_common;

/* The common options, for the service's own option table. */
#define SERVICE_COMMON_OPTIONS(c)                                                            \
  CFG_STRING("LINDUNG_KAFKA_BROKERS", &(c)->brokers, NULL, "Kafka bootstrap servers"),       \
      CFG_STRING("LINDUNG_DB_URL", &(c)->db_url, NULL,                                       \
                 "PostgreSQL URL of this service's role (password through passfile=)"),      \
      CFG_STRING("LINDUNG_HTTP_ADDR", &(c)->http_addr, "127.0.0.1:8080",                     \
                 "host:port for /healthz, /readyz and /metrics"),                            \
      CFG_STRING("LINDUNG_LOG_LEVEL", &(c)->log_level, "info", "debug, info, warn or error"), \
      CFG_STRING("LINDUNG_INSTANCE", &(c)->instance, "", "instance name (default: host-pid)"), \
      CFG_UINT("LINDUNG_MAX_BATCH", &(c)->max_batch, "500", "largest batch of inputs handled at once"), \
      CFG_UINT("LINDUNG_KAFKA_FETCH_WAIT_MS", &(c)->fetch_wait_ms, "500",                      \
               "longest a fetch waits for data (fetch.wait.max.ms); Kafka answers a waiting " \
               "fetch as soon as data arrives, the devbroker does not (the stack sets 10)"),  \
      CFG_UINT("LINDUNG_KAFKA_LINGER_MS", &(c)->linger_ms, "2",                                \
               "how long the producer gathers messages into one batch (linger.ms)"),           \
      CFG_UINT("LINDUNG_KAFKA_SESSION_TIMEOUT_MS", &(c)->session_timeout_ms, "6000",           \
               "consumer group session timeout: how soon a dead instance's partitions move"),   \
      CFG_UINT("LINDUNG_KAFKA_METADATA_REFRESH_MS", &(c)->metadata_refresh_ms, "2000",          \
               "how often the topic list is refreshed: how soon a new partner's request "       \
               "topic is consumed (topic.metadata.refresh.interval.ms)"),                        \
      KSEC_OPTIONS(&(c)->kafka_security)

typedef struct service service; /* opaque: service.c */

typedef struct service_settings {
  const char *name; /* "ingest": logs, client id "lindung-ingest", group id */
  /* Consumed in group "lindung-<name>". NULL: a service without Kafka
   * inputs (revocation's admin API): no consumer, and no input metrics. */
  const char *input_topic;
  /* A second topic consumed in the same group and batches (may be NULL);
   * on_batch tells the inputs apart by kq_input.topic. */
  const char *extra_input_topic;
  bool uses_db;                    /* open LINDUNG_DB_URL */
  /* Outputs and input offsets committed together in Kafka transactions
   * (kq_settings.transactional_id "lindung-<name>-<instance>"). */
  bool transactional;
  const pgq_statement *statements; /* prepared on every connection */
  size_t statement_count;
  kq_batch_fn on_batch;
  /* Pause consuming while PostgreSQL is away (inputs wait in Kafka rather
   * than in memory); consuming resumes on reconnection. Needs uses_db. */
  bool pause_without_db;
  /* Extra librdkafka producer properties, NULL-terminated name/value pairs
   * applied after the common ones (may be NULL). */
  const char *const *producer_properties;
  /* Hears of outputs produced with service_publish() once acknowledged or
   * failed for good (may be NULL). */
  kq_delivery_fn on_delivery;
  http_handler_fn http_handler; /* extra routes, may be NULL */
  /* Extra readiness beyond Kafka (and PostgreSQL when used); may be NULL. */
  http_ready_fn ready;
  /* Services that check partners: the runtime loads the registry from
   * PostgreSQL (polling its version every registry_poll_ms), applies
   * partner.events live, and starts consuming the input by itself once the
   * registry is known. Needs uses_db. on_registry (may be NULL) hears of
   * every new snapshot. */
  bool uses_registry;
  unsigned registry_poll_ms;
  void (*on_registry)(void *ctx, const registry *current);
  /* Called every tick_ms while the service runs, until its outputs are
   * flushed at stop (may be NULL): retries and periodic work. */
  unsigned tick_ms;
  void (*on_tick)(void *ctx);
  /* Called once when the service begins to stop (may be NULL): stop
   * listeners, timers and other work that would keep the loop busy. Also
   * called by service_abandon, so it must cope with a module that was
   * never attached or only partly opened. */
  void (*on_stop)(void *ctx);
  /* Called once at stop after every input is finished and its offset
   * committed, before the producer flushes (may be NULL): last outputs,
   * such as a final signed checkpoint, go out here. */
  void (*on_inputs_finished)(void *ctx);
  /* True while work the service started must finish before the producer
   * flushes; the runtime serves the loop meanwhile (may be NULL). */
  bool (*busy)(void *ctx);
  void *ctx;
} service_settings;

/* Reads the common settings (plus the service's own options), answers
 * --help; returns 1 when main should exit 0 (help printed), 0 to go on, and
 * -1 after printing a one-line error. */
int service_configure(int argc, char **argv, const char *usage, const char *summary,
                      service_common *common, const cfg_option *extra, size_t extra_count);

/* Splits "host:port" (port 0 to 65535); -1 when it is not that. */
int service_parse_addr(const char *addr, char *host, size_t host_len, int *port);

/* Opens everything except the input consumer: the producer, PostgreSQL,
 * the HTTP listener, signals. Returns 0 with *out set, or -1 (logged) with
 * whatever it had opened closed again and *out NULL. */
int service_open(service **out, const service_settings *settings, const service_common *common);

/* Starts consuming the input topic (call once the service is ready for
 * inputs; a service with uses_registry starts by itself). */
int service_start_consuming(service *svc);

/* Runs the loop until SIGTERM/SIGINT or service_stop, then stops
 * gracefully: finishes in-flight inputs, flushes, commits, and frees svc.
 * Returns the exit status for main. */
int service_run(service *svc);

/* Closes a service that was opened but will not run, because a later step
 * of main failed: closes and frees everything service_open opened, so no
 * librdkafka thread outlives main. Of the service's callbacks only on_stop
 * is called. Returns 1, the exit status for main. */
int service_abandon(service *svc);

/* Begins a graceful stop from inside the loop, e.g. after a fatal error
 * (exit_status 1: the failed input's offset is never stored, so a restart
 * reads it again). */
void service_stop(service *svc, int exit_status);

/* True once the service has begun to stop: take no new inputs. */
bool service_stopping(const service *svc);

/* What a service's own modules build on. */
uv_loop_t *service_loop(const service *svc);
pgq_client *service_db(const service *svc); /* NULL unless uses_db */
metrics_registry *service_metrics(const service *svc);

/* The current registry snapshot; NULL before the first load or without
 * uses_registry. A batch should use one snapshot throughout. */
const registry *service_registry(const service *svc);

/* Outputs of one input, attached so its offset waits for their acks;
 * input NULL: an output no offset depends on. */
int service_produce(service *svc, kq_input *input, const char *topic, const void *key,
                    size_t key_len, const void *value, size_t value_len);

/* An output no input waits for, whose acknowledgement settings.on_delivery
 * hears of with opaque. */
int service_publish(service *svc, const char *topic, const void *key, size_t key_len,
                    const void *value, size_t value_len, void *opaque);

/* The outputs of an input decided in one step (ingest, decrypt): a dead
 * letter (dead_letter_reason set) or one message, plus its audit event. */
typedef struct service_outputs {
  const char *dead_letter_reason; /* NULL: produce the message */
  const char *topic;
  const void *key;
  size_t key_len;
  const void *value;
  size_t value_len;
  const void *audit_key;
  size_t audit_key_len;
  const void *audit; /* packed AuditEvent for audit.events; NULL: none */
  size_t audit_len;
  const char *metric_label;
} service_outputs;

/* Produces an input's outputs, marks it done and counts it. A failed
 * produce means a broken producer: the input stays incomplete (its offset
 * is never stored, so a restart reads it again) and the service stops with
 * status 1. Returns 0 or the produce error. */
int service_finish_input(service *svc, kq_input *input, const service_outputs *outputs,
                         double started_s);

/* Records the outcome of one input in the metrics. */
void service_count(service *svc, const char *outcome, double seconds);

/* Sends a refused input to scan.deadletter (keeping it whole) with the reason. */
int service_dead_letter(service *svc, kq_input *input, const char *reason);

#endif
