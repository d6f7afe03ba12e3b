/* service: the runtime every Lindung service shares (see service.h). */
#include "service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "messages.h"
#include "partner_events.h"
#include "process_guard.h"
#include "registry_pg.h"
#include "topics.h"

#define SERVICE_MAX_OPTIONS 48
#define SERVICE_MAX_STATEMENTS 32
#define SERVICE_CLOSE_TIMEOUT_MS 10000

struct service {
  service_settings settings;
  service_common common;
  char instance[96];
  /* lindung-<service>-<instance>, the same across restarts of one instance,
   * or empty when there is no such name (host-pid instances). */
  char stable_id[192];
  uv_loop_t *loop;
  kq_producer *producer;
  kq_consumer *consumer;
  pgq_client *db; /* NULL unless uses_db */
  http_server *http;
  metrics_registry *metrics;
  /* Input metrics, NULL for a service without inputs. */
  metrics_family *requests_total;  /* label outcome: "forwarded", "allow", an error name */
  metrics_family *request_seconds; /* processing time of one input */
  metrics_family *consumer_lag;    /* messages */
  metrics_family *dead_letters_total;
  metrics_family *db_connected;
  const char *kafka_properties[16]; /* TLS settings shared by producer and consumer */
  const char *producer_properties[40];
  char linger[16];
  uv_signal_t sigterm, sigint;
  uv_timer_t lag_timer, tick_timer;
  registry_pg *registry;
  partner_events *events;
  bool consuming;
  bool paused; /* pause_without_db: PostgreSQL is away */
  bool stopping;
  int exit_status;
};

int service_configure(int argc, char **argv, const char *usage, const char *summary,
                      service_common *common, const cfg_option *extra, size_t extra_count) {
  const cfg_option common_options[] = {SERVICE_COMMON_OPTIONS(common)};
  size_t common_count = sizeof common_options / sizeof common_options[0];
  cfg_option options[SERVICE_MAX_OPTIONS];
  if (common_count + extra_count > SERVICE_MAX_OPTIONS) return -1;
  memcpy(options, common_options, sizeof common_options);
  if (extra_count) memcpy(options + common_count, extra, extra_count * sizeof *extra);
  size_t count = common_count + extra_count;

  if (cfg_answer_version(argc, argv, stdout)) return 1;
  if (cfg_wants_help(argc, argv)) {
    cfg_print_help(stdout, usage, summary, options, count);
    return 1;
  }
  if (argc > 1) {
    fprintf(stderr, "%s: unexpected argument (see --help)\n", argv[0]);
    return -1;
  }
  char err[256];
  if (cfg_load(options, count, err, sizeof err)) {
    fprintf(stderr, "%s: %s\n", argv[0], err);
    return -1;
  }
  log_level level = LOG_LEVEL_INFO;
  if (!strcmp(common->log_level, "debug")) level = LOG_LEVEL_DEBUG;
  else if (!strcmp(common->log_level, "warn")) level = LOG_LEVEL_WARN;
  else if (!strcmp(common->log_level, "error")) level = LOG_LEVEL_ERROR;
  else if (strcmp(common->log_level, "info")) {
    fprintf(stderr, "%s: LINDUNG_LOG_LEVEL must be debug, info, warn or error\n", argv[0]);
    return -1;
  }
  if (ksec_check(&common->kafka_security, err, sizeof err)) {
    fprintf(stderr, "%s: %s\n", argv[0], err);
    return -1;
  }
  if (common->max_batch == 0 || common->max_batch > 10000) {
    fprintf(stderr, "%s: LINDUNG_MAX_BATCH must be from 1 to 10000\n", argv[0]);
    return -1;
  }
  const char *name = strrchr(argv[0], '/');
  name = name ? name + 1 : argv[0];
  if (!strncmp(name, "lindung-", 8)) name += 8;
  log_setup(name, level);
  /* Before any secret is read: every service holds key material. */
  if (process_guard_secrets(err, sizeof err)) {
    fprintf(stderr, "%s: %s\n", argv[0], err);
    return -1;
  }
  return 0;
}

/* Consuming pauses while PostgreSQL is away when the service asks for it. */
static void service_follow_db(service *svc) {
  bool away = svc->settings.pause_without_db && !pgq_connected(svc->db);
  if (!svc->consumer || away == svc->paused) return;
  svc->paused = away;
  if (away)
    kq_consumer_pause(svc->consumer);
  else
    kq_consumer_resume(svc->consumer);
}

static void service_on_db_state(void *ctx, bool connected, const char *reason) {
  service *svc = ctx;
  metrics_set(svc->db_connected, NULL, connected ? 1 : 0);
  service_follow_db(svc);
  if (connected)
    LOG_INFO("postgres_connected");
  else
    LOG_WARN("postgres_disconnected", LOG_ERRTEXT("reason", reason ? reason : ""));
}

static bool service_ready(void *ctx, const char **reason) {
  service *svc = ctx;
  if (svc->stopping) {
    *reason = "stopping";
    return false;
  }
  if (!kq_producer_connected(svc->producer) || (svc->consumer && !kq_consumer_connected(svc->consumer))) {
    *reason = "kafka";
    return false;
  }
  if (svc->settings.uses_db && !pgq_connected(svc->db)) {
    *reason = "postgres";
    return false;
  }
  if (svc->settings.uses_registry) {
    if (!registry_pg_current(svc->registry)) {
      *reason = "registry";
      return false;
    }
    if (!partner_events_ready(svc->events, reason)) return false;
  }
  if (!svc->consumer && svc->settings.input_topic) {
    *reason = "starting";
    return false;
  }
  if (svc->settings.ready) return svc->settings.ready(svc->settings.ctx, reason);
  return true;
}

/* The service's own routes get the service's context, not the runtime's. */
static bool service_http_handler(void *ctx, const http_request *request, http_response *response) {
  service *svc = ctx;
  return svc->settings.http_handler(svc->settings.ctx, request, response);
}

void service_stop(service *svc, int exit_status) {
  if (exit_status && !svc->exit_status) svc->exit_status = exit_status;
  if (svc->stopping) return;
  svc->stopping = true;
  if (svc->events) partner_events_stop(svc->events);
  if (svc->registry) registry_pg_stop(svc->registry);
  svc->registry = NULL;
  if (svc->settings.on_stop) svc->settings.on_stop(svc->settings.ctx);
  uv_stop(svc->loop);
}

static void service_on_signal(uv_signal_t *handle, int signum) {
  service *svc = handle->data;
  if (svc->stopping) return;
  LOG_INFO("stopping", LOG_INT("signal", signum));
  service_stop(svc, 0);
}

const registry *service_registry(const service *svc) {
  return svc->registry ? registry_pg_current(svc->registry) : NULL;
}

bool service_stopping(const service *svc) { return svc->stopping; }
uv_loop_t *service_loop(const service *svc) { return svc->loop; }
pgq_client *service_db(const service *svc) { return svc->db; }
metrics_registry *service_metrics(const service *svc) { return svc->metrics; }

/* Partner events already fetched apply before a batch, so a batch never
 * runs on a snapshot older than a revocation that has arrived. */
static void service_on_batch(void *ctx, kq_input *const *inputs, size_t count) {
  service *svc = ctx;
  if (svc->events) partner_events_poll(svc->events);
  svc->settings.on_batch(svc->settings.ctx, inputs, count);
}

static void service_on_registry(void *ctx, const registry *current) {
  service *svc = ctx;
  /* A load older than events already applied is brought forward first. */
  if (svc->events && partner_events_registry_changed(svc->events, current)) return;
  LOG_INFO("registry_loaded", LOG_INT("version", registry_version(current)),
           LOG_INT("partners", registry_partner_count(current)));
  if (svc->settings.on_registry) svc->settings.on_registry(svc->settings.ctx, current);
  /* Inputs are taken only once partners are known: before that every
   * partner would look unknown. */
  if (!svc->consuming && !svc->stopping) {
    svc->consuming = true;
    if (service_start_consuming(svc) != 0) service_stop(svc, 1);
  }
}

static void service_on_tick(uv_timer_t *timer) {
  service *svc = timer->data;
  svc->settings.on_tick(svc->settings.ctx);
}

static void service_on_lag_timer(uv_timer_t *timer) {
  service *svc = timer->data;
  char reason[320];
  if (!svc->stopping && kq_producer_fatal_error(svc->producer, reason, sizeof reason)) {
    /* A fatal producer never recovers (an aborted transaction among them):
     * stop, and the restart reads again what was not committed. */
    LOG_ERROR("kafka_producer_fatal", LOG_ERRTEXT("reason", reason));
    service_stop(svc, 1);
  }
  if (!svc->stopping && kq_consumer_fatal_error(svc->consumer, reason, sizeof reason)) {
    LOG_ERROR("kafka_consumer_fatal", LOG_ERRTEXT("reason", reason));
    service_stop(svc, 1);
  }
  if (!svc->consumer) return;
  int64_t lag = kq_consumer_lag(svc->consumer);
  if (lag >= 0) metrics_set(svc->consumer_lag, NULL, (double)lag);
}

/* librdkafka's own warnings and errors, as typed log lines. */
static void service_on_kafka_log(void *ctx, int level, const char *facility, const char *message) {
  (void)ctx;
  if (level > 4) return; /* syslog: keep emerg..warning */
  if (level <= 3)
    LOG_ERROR("kafka_client", LOG_ID("facility", facility), LOG_ERRTEXT("message", message));
  else
    LOG_WARN("kafka_client", LOG_ID("facility", facility), LOG_ERRTEXT("message", message));
}

int service_parse_addr(const char *addr, char *host, size_t host_len, int *port) {
  const char *colon = strrchr(addr, ':');
  if (!colon || (size_t)(colon - addr) >= host_len || colon == addr) return -1;
  memcpy(host, addr, (size_t)(colon - addr));
  host[colon - addr] = '\0';
  char *end;
  long value = strtol(colon + 1, &end, 10);
  if (*end || colon[1] == '\0' || value < 0 || value > 65535) return -1;
  *port = (int)value;
  return 0;
}

/* An event partner_events cannot apply goes to scan.deadletter whole. */
static void service_dead_letter_event(void *ctx, const char *reason, int32_t partition,
                                      int64_t offset, const void *key, size_t key_len,
                                      const void *value, size_t value_len) {
  service *svc = ctx;
  uint8_t out[MESSAGES_DEAD_LETTER_MAX_BYTES];
  size_t len = messages_dead_letter(svc->settings.name, reason, TOPIC_PARTNER_EVENTS, partition, offset,
                                    key, key_len, value, value_len, service_now_ms(), out,
                                    sizeof out);
  int rc = len ? service_produce(svc, NULL, TOPIC_SCAN_DEADLETTER, NULL, 0, out, len) : -EMSGSIZE;
  metrics_add(svc->dead_letters_total, reason, 1);
  if (rc) LOG_ERROR("dead_letter_failed", LOG_ID("topic", TOPIC_PARTNER_EVENTS), LOG_INT("rc", rc));
}

static int service_start_partner_events(service *svc) {
  partner_events_settings events = {.loop = svc->loop,
                                    .service_name = svc->settings.name,
                                    .instance = svc->instance,
                                    .brokers = svc->common.brokers,
                                    .security = &svc->common.kafka_security,
                                    .fetch_wait_ms = svc->common.fetch_wait_ms,
                                    .metrics = svc->metrics,
                                    .loader = svc->registry,
                                    .dead_letter = service_dead_letter_event,
                                    .ctx = svc};
  return partner_events_start(&events, &svc->events);
}

/* The producer's properties: TLS, when the cluster asks for it, goes to
 * every client; then the batching linger, then the service's own. */
static int service_producer_properties(service *svc) {
  const service_common *common = &svc->common;
  size_t n = 2 * ksec_properties(&common->kafka_security, svc->kafka_properties);
  const size_t cap = sizeof svc->producer_properties / sizeof *svc->producer_properties;
  /* A longer linger means fewer, larger batches for the broker, at the
   * price of that much latency per hop. */
  snprintf(svc->linger, sizeof svc->linger, "%u", common->linger_ms);
  memcpy(svc->producer_properties, svc->kafka_properties, (n + 1) * sizeof *svc->kafka_properties);
  svc->producer_properties[n++] = "linger.ms";
  svc->producer_properties[n++] = svc->linger;
  for (const char *const *p = svc->settings.producer_properties; p && p[0]; p += 2) {
    if (n + 3 > cap) return -1;
    svc->producer_properties[n++] = p[0];
    svc->producer_properties[n++] = p[1];
  }
  svc->producer_properties[n] = NULL;
  return 0;
}

/* What service_open opened before a step failed is closed again, so the
 * process never exits with librdkafka's threads still running (exit's
 * cleanup under them crashed revocation). */
static int service_open_failed(service **out, service *svc) {
  *out = NULL;
  svc->settings.on_stop = NULL; /* the service's module never saw svc */
  service_abandon(svc);
  return -1;
}

int service_open(service **out, const service_settings *settings, const service_common *common) {
  char err[256];
  service *svc = calloc(1, sizeof *svc);
  *out = svc;
  if (!svc) return -1;
  svc->settings = *settings;
  svc->common = *common;
  svc->loop = uv_default_loop();
  /* Initialised first, so that a failure anywhere below can close them. */
  uv_signal_init(svc->loop, &svc->sigterm);
  uv_signal_init(svc->loop, &svc->sigint);
  uv_timer_init(svc->loop, &svc->lag_timer);
  uv_timer_init(svc->loop, &svc->tick_timer);
  svc->sigterm.data = svc->sigint.data = svc->lag_timer.data = svc->tick_timer.data = svc;
  if (*common->instance) {
    snprintf(svc->instance, sizeof svc->instance, "%s", common->instance);
  } else {
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(svc->instance, sizeof svc->instance, "%s-%ld", host, (long)getpid());
  }

  svc->metrics = metrics_registry_new();
  if (settings->input_topic) {
    svc->requests_total = metrics_counter(svc->metrics, "lindung_requests_total",
                                          "Inputs handled, by outcome.", "outcome");
    svc->request_seconds =
        metrics_histogram(svc->metrics, "lindung_request_processing_seconds",
                          "Time from taking an input to producing its outputs.", NULL,
                          metrics_latency_buckets, metrics_latency_bucket_count);
    svc->consumer_lag = metrics_gauge(svc->metrics, "lindung_consumer_lag_messages",
                                      "Messages behind the end of the input topic.", NULL);
    svc->dead_letters_total =
        metrics_counter(svc->metrics, "lindung_dead_letters_total",
                        "Inputs sent to scan.deadletter, by reason.", "reason");
  }
  svc->db_connected = metrics_gauge(svc->metrics, "lindung_postgres_connected",
                                    "1 while the PostgreSQL connection is up.", NULL);

  if (service_producer_properties(svc)) {
    LOG_ERROR("kafka_producer_failed", LOG_TEXT("reason", "too many producer properties"));
    return service_open_failed(out, svc);
  }

  char client_id[64], transactional_id[192];
  snprintf(client_id, sizeof client_id, "lindung-%s", settings->name);
  /* Stable across restarts of one instance, so that a restart fences what
   * its predecessor left open at once (transactional.id) and takes its
   * partitions back without waiting for its session to time out
   * (group.instance.id): LINDUNG_INSTANCE, else the host and the fixed
   * HTTP port (unique on a host), else host-pid, which is not stable. */
  char addr_host[128];
  int addr_port = 0;
  service_parse_addr(common->http_addr, addr_host, sizeof addr_host, &addr_port);
  if (*common->instance) {
    snprintf(svc->stable_id, sizeof svc->stable_id, "%s-%s", client_id, svc->instance);
  } else if (addr_port > 0) {
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(svc->stable_id, sizeof svc->stable_id, "%s-%s-%d", client_id, host, addr_port);
  }
  if (*svc->stable_id)
    snprintf(transactional_id, sizeof transactional_id, "%s", svc->stable_id);
  else
    snprintf(transactional_id, sizeof transactional_id, "%s-%s", client_id, svc->instance);
  kq_settings kafka = {.brokers = common->brokers,
                       .client_id = client_id,
                       .transactional_id = settings->transactional ? transactional_id : NULL,
                       .properties = svc->producer_properties,
                       .log = service_on_kafka_log,
                       .log_ctx = svc};
  if (kq_producer_open(svc->loop, &kafka, settings->on_delivery, settings->ctx, &svc->producer, err,
                       sizeof err)) {
    LOG_ERROR("kafka_producer_failed", LOG_ERRTEXT("reason", err));
    return service_open_failed(out, svc);
  }
  if (settings->uses_db) {
    /* The registry's statements are prepared beside the service's own. */
    pgq_statement statements[SERVICE_MAX_STATEMENTS];
    size_t statement_count = settings->statement_count;
    if (statement_count + registry_pg_statement_count > SERVICE_MAX_STATEMENTS) {
      LOG_ERROR("postgres_open_failed", LOG_TEXT("reason", "too many prepared statements"));
      return service_open_failed(out, svc);
    }
    if (statement_count) memcpy(statements, settings->statements, statement_count * sizeof *statements);
    if (settings->uses_registry) {
      memcpy(statements + statement_count, registry_pg_statements,
             registry_pg_statement_count * sizeof *statements);
      statement_count += registry_pg_statement_count;
    }
    if (pgq_open(svc->loop, common->db_url, statements, statement_count, service_on_db_state, svc,
                 &svc->db, err, sizeof err)) {
      LOG_ERROR("postgres_open_failed", LOG_ERRTEXT("reason", err));
      return service_open_failed(out, svc);
    }
  }
  char host[128];
  int port;
  if (service_parse_addr(common->http_addr, host, sizeof host, &port)) {
    LOG_ERROR("bad_http_addr", LOG_TEXT("expected", "host:port"));
    return service_open_failed(out, svc);
  }
  http_settings http = {.host = host,
                        .port = port,
                        .metrics = svc->metrics,
                        .ready = service_ready,
                        .handler = settings->http_handler ? service_http_handler : NULL,
                        .ctx = svc};
  if (http_server_start(svc->loop, &http, &svc->http, err, sizeof err)) {
    LOG_ERROR("http_listen_failed", LOG_ERRTEXT("reason", err));
    return service_open_failed(out, svc);
  }
  uv_signal_start(&svc->sigterm, service_on_signal, SIGTERM);
  uv_signal_start(&svc->sigint, service_on_signal, SIGINT);
  if (settings->input_topic) uv_timer_start(&svc->lag_timer, service_on_lag_timer, 1000, 1000);
  if (settings->on_tick)
    uv_timer_start(&svc->tick_timer, service_on_tick, 0, settings->tick_ms ? settings->tick_ms : 100);
  if (settings->uses_registry) {
    svc->registry = registry_pg_start(svc->loop, svc->db, settings->registry_poll_ms,
                                      service_on_registry, svc);
    if (!svc->registry || service_start_partner_events(svc) != 0) {
      LOG_ERROR("registry_start_failed");
      return service_open_failed(out, svc);
    }
  }
  LOG_INFO("started", LOG_ID("instance", svc->instance), LOG_INT("http_port", http_server_port(svc->http)));
  return 0;
}

int service_start_consuming(service *svc) {
  char err[256], group[64], fetch_wait[16], session_timeout[16], heartbeat[16], refresh[16];
  if (!svc->settings.input_topic) return -1;
  snprintf(group, sizeof group, "lindung-%s", svc->settings.name);
  const char *topics[] = {svc->settings.input_topic, svc->settings.extra_input_topic, NULL};
  /* Kafka answers a waiting fetch as soon as data arrives, so a long fetch
   * wait costs no latency and saves an idle fetch every few ms per client
   * (CPU in the service and the broker); the devbroker does not, and its
   * stack sets a short one. A short session lets a restarted instance take
   * its partitions back in seconds. */
  snprintf(fetch_wait, sizeof fetch_wait, "%u", svc->common.fetch_wait_ms);
  snprintf(session_timeout, sizeof session_timeout, "%u", svc->common.session_timeout_ms);
  snprintf(heartbeat, sizeof heartbeat, "%u", svc->common.session_timeout_ms / 6 + 1);
  snprintf(refresh, sizeof refresh, "%u", svc->common.metadata_refresh_ms);
  const char *properties[24] = {"fetch.wait.max.ms", fetch_wait, "session.timeout.ms", session_timeout,
                                "heartbeat.interval.ms", heartbeat,
                                "topic.metadata.refresh.interval.ms", refresh};
  size_t n = 8;
  /* Static membership (KIP-345): a restarted instance (a crash, kill -9, a
   * container restart) rejoins as itself and gets its partitions back at
   * once, instead of leaving them unserved until its old session times
   * out. The price: an instance that stops for good keeps its partitions
   * until then (session.timeout.ms). */
  if (*svc->stable_id) {
    properties[n++] = "group.instance.id";
    properties[n++] = svc->stable_id;
  }
  for (size_t i = 0; svc->kafka_properties[i] && n + 2 < 24; i += 2) {
    properties[n++] = svc->kafka_properties[i];
    properties[n++] = svc->kafka_properties[i + 1];
  }
  properties[n] = NULL;
  kq_consumer_settings settings = {
      .kafka = {.brokers = svc->common.brokers,
                .client_id = group,
                .properties = properties,
                .log = service_on_kafka_log,
                .log_ctx = svc},
      .group_id = group,
      .topics = topics,
      .max_batch = svc->common.max_batch,
      .max_in_flight = (size_t)svc->common.max_batch * 8,
      .auto_offset_reset = "earliest",
  };
  if (kq_consumer_open(svc->loop, &settings, svc->producer, service_on_batch, svc, &svc->consumer, err,
                       sizeof err)) {
    LOG_ERROR("kafka_consumer_failed", LOG_ERRTEXT("reason", err));
    return -1;
  }
  service_follow_db(svc);
  return 0;
}

/* Serves the loop while the service has work of its own to finish. */
static void service_wait_idle(service *svc) {
  while (svc->settings.busy && svc->settings.busy(svc->settings.ctx))
    uv_run(svc->loop, UV_RUN_ONCE);
}

int service_run(service *svc) {
  uv_run(svc->loop, UV_RUN_DEFAULT);
  /* Graceful stop: finish in-flight inputs (their database replies and
   * acknowledgements still arrive on the loop), let the service send its
   * last outputs, then flush and commit. */
  service_stop(svc, 0);
  /* Its callback reads the consumer, which closing destroys while the loop
   * still runs (an ASan run caught a read of the freed client). */
  uv_timer_stop(&svc->lag_timer);
  if (svc->consumer) kq_consumer_close(svc->consumer, SERVICE_CLOSE_TIMEOUT_MS);
  svc->consumer = NULL;
  if (svc->settings.on_inputs_finished) svc->settings.on_inputs_finished(svc->settings.ctx);
  service_wait_idle(svc);
  uv_timer_stop(&svc->tick_timer); /* nothing new starts while the producer flushes */
  kq_producer_close(svc->producer, SERVICE_CLOSE_TIMEOUT_MS);
  svc->producer = NULL;
  if (svc->db) pgq_close(svc->db);
  svc->db = NULL;
  http_server_stop(svc->http);
  uv_handle_t *handles[] = {(uv_handle_t *)&svc->sigterm, (uv_handle_t *)&svc->sigint,
                            (uv_handle_t *)&svc->lag_timer, (uv_handle_t *)&svc->tick_timer};
  for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++)
    if (!uv_is_closing(handles[i])) uv_close(handles[i], NULL);
  uv_run(svc->loop, UV_RUN_DEFAULT);
  partner_events_free(svc->events);
  metrics_registry_free(svc->metrics);
  LOG_INFO("stopped", LOG_INT("exit_status", svc->exit_status));
  uv_loop_close(svc->loop);
  int status = svc->exit_status;
  free(svc);
  return status;
}

int service_abandon(service *svc) {
  /* The service's module may be half attached: only on_stop, which stops
   * what it started, is called back. */
  svc->settings.on_inputs_finished = NULL;
  svc->settings.busy = NULL;
  svc->settings.ready = NULL;
  service_stop(svc, 1);
  return service_run(svc);
}

int service_produce(service *svc, kq_input *input, const char *topic, const void *key,
                    size_t key_len, const void *value, size_t value_len) {
  return kq_produce(svc->producer, input, topic, key, key_len, value, value_len, NULL);
}

int service_publish(service *svc, const char *topic, const void *key, size_t key_len,
                    const void *value, size_t value_len, void *opaque) {
  return kq_produce(svc->producer, NULL, topic, key, key_len, value, value_len, opaque);
}

int service_finish_input(service *svc, kq_input *input, const service_outputs *outputs,
                         double started_s) {
  int rc = outputs->dead_letter_reason
               ? service_dead_letter(svc, input, outputs->dead_letter_reason)
               : service_produce(svc, input, outputs->topic, outputs->key_len ? outputs->key : NULL,
                                 outputs->key_len, outputs->value, outputs->value_len);
  if (rc == 0 && outputs->audit && outputs->audit_len)
    rc = service_produce(svc, input, TOPIC_AUDIT_EVENTS, outputs->audit_key, outputs->audit_key_len,
                         outputs->audit, outputs->audit_len);
  if (rc == -EINVAL) {
    /* The Kafka client refused the output itself (too large, say): it would be
     * refused again after every restart, so report the input and go on
     * rather than stop on it for ever. Only a broken broker connection stops
     * the service (below). */
    LOG_ERROR("output_refused", LOG_ID("topic", input->topic), LOG_INT("partition", input->partition),
              LOG_INT("offset", input->offset));
    rc = service_dead_letter(svc, input, "output_refused");
  }
  if (rc != 0) {
    LOG_ERROR("produce_failed", LOG_INT("rc", rc));
    service_stop(svc, 1);
    return rc;
  }
  kq_input_done(input);
  service_count(svc, outputs->metric_label, service_monotonic_s() - started_s);
  return 0;
}

void service_count(service *svc, const char *outcome, double seconds) {
  metrics_add(svc->requests_total, outcome, 1);
  if (seconds >= 0) metrics_observe(svc->request_seconds, NULL, seconds);
}

int service_dead_letter(service *svc, kq_input *input, const char *reason) {
  uint8_t out[MESSAGES_DEAD_LETTER_MAX_BYTES];
  size_t len = messages_dead_letter(svc->settings.name, reason, input->topic, input->partition, input->offset,
                                    input->key, input->key_len, input->value, input->value_len,
                                    service_now_ms(), out, sizeof out);
  int rc = len ? service_produce(svc, input, TOPIC_SCAN_DEADLETTER, NULL, 0, out, len) : -EMSGSIZE;
  metrics_add(svc->dead_letters_total, reason, 1);
  return rc;
}
