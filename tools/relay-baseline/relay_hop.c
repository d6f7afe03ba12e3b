/* relay_hop: one relay of lindung-relay, a process of its own on the
 * services' Kafka loop (kafka_loop.h) with the services' consumer settings:
 * consume and produce, nothing else. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "kafka_loop.h"
#include "relay.h"

typedef struct relay_hop {
  uv_loop_t *loop;
  kq_producer *producer;
  kq_consumer *consumer;
  const char *to;
  size_t size;
  uv_signal_t sigterm, sigint;
  uint8_t value[RELAY_MAX_VALUE];
} relay_hop;

/* Consume and produce, nothing else: the output keeps the key and the id at
 * the head of the value, resized to this hop's message size. */
static void relay_on_batch(void *ctx, kq_input *const *inputs, size_t count) {
  relay_hop *hop = ctx;
  for (size_t i = 0; i < count; i++) {
    kq_input *in = inputs[i];
    size_t keep = in->value_len < hop->size ? in->value_len : hop->size;
    memcpy(hop->value, in->value, keep);
    if (keep < hop->size) memset(hop->value + keep, 0, hop->size - keep);
    if (kq_produce(hop->producer, in, hop->to, in->key, in->key_len, hop->value, hop->size, NULL))
      fprintf(stderr, "lindung-relay: produce to %s failed\n", hop->to);
    kq_input_done(in);
  }
}

static void relay_on_signal(uv_signal_t *handle, int signum) {
  (void)signum;
  uv_stop(handle->loop);
}

int relay_run_hop(const relay_options *opt, const char *from, const char *to, size_t size,
                  const char *group) {
  static relay_hop hop;
  char err[256], fetch_wait[16];
  hop.loop = uv_default_loop();
  hop.to = to;
  hop.size = size;
  /* The services' consumer settings (service.c), so the chain measures the
   * same transport. */
  const char *wait_env = getenv("LINDUNG_KAFKA_FETCH_WAIT_MS");
  snprintf(fetch_wait, sizeof fetch_wait, "%s", wait_env && *wait_env ? wait_env : "500");
  const char *properties[] = {"fetch.wait.max.ms", fetch_wait, "session.timeout.ms", "6000",
                              "heartbeat.interval.ms", "1001", NULL};
  kq_settings producer_settings = {
      .brokers = opt->brokers, .client_id = group, .security = &opt->security};
  if (kq_producer_open(hop.loop, &producer_settings, NULL, NULL, &hop.producer, err, sizeof err)) {
    fprintf(stderr, "lindung-relay: %s\n", err);
    return 1;
  }
  const char *topics[] = {from, NULL};
  kq_consumer_settings consumer_settings = {
      .kafka = {.brokers = opt->brokers,
                .client_id = group,
                .security = &opt->security,
                .properties = properties},
      .group_id = group,
      .topics = topics,
      .max_batch = 500,
      .max_in_flight = 4000,
      .auto_offset_reset = "latest",
  };
  if (kq_consumer_open(hop.loop, &consumer_settings, hop.producer, relay_on_batch, &hop,
                       &hop.consumer, err, sizeof err)) {
    fprintf(stderr, "lindung-relay: %s\n", err);
    return 1;
  }
  uv_signal_init(hop.loop, &hop.sigterm);
  uv_signal_init(hop.loop, &hop.sigint);
  uv_signal_start(&hop.sigterm, relay_on_signal, SIGTERM);
  uv_signal_start(&hop.sigint, relay_on_signal, SIGINT);
  uv_run(hop.loop, UV_RUN_DEFAULT);
  kq_consumer_close(hop.consumer, 5000);
  kq_producer_close(hop.producer, 5000);
  uv_close((uv_handle_t *)&hop.sigterm, NULL);
  uv_close((uv_handle_t *)&hop.sigint, NULL);
  uv_run(hop.loop, UV_RUN_DEFAULT);
  return 0;
}
