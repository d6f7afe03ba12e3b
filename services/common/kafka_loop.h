/* kafka_loop: librdkafka driven by a libuv loop, with offsets that advance
 * only when every output of an input has been acknowledged.
 *
 * Both handles wake the loop through rd_kafka_queue_io_event_enable(): the
 * queue writes a byte to a non-blocking pipe when it becomes non-empty, a
 * uv_poll on the pipe drains it, and we then serve the queue until it is
 * empty. A safety timer serves the queues too, in case a wake-up is missed.
 *
 * Delivery semantics (docs/architecture.md, "Delivery semantics"):
 *   - a consumer hands inputs to the service in batches (kq_batch_fn);
 *   - the service produces any number of outputs for an input with
 *     kq_produce(..., input, ...) and then calls kq_input_done(input);
 *   - an input is complete once done and every output is acknowledged;
 *     the partition's stored offset advances over the longest prefix of
 *     complete inputs (so a slow input never lets a later offset commit);
 *   - a failed delivery is retried; it never completes its input.
 * enable.auto.commit commits what was stored; close commits the rest.
 *
 * Prefix kq_. Functions return 0 or a negative errno-style code and write a
 * one-line reason into err when err is not NULL. Nothing here logs or exits. */
#ifndef LINDUNG_KAFKA_LOOP_H
#define LINDUNG_KAFKA_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "kafka_security.h"

typedef struct kq_producer kq_producer;
typedef struct kq_consumer kq_consumer;

/* One consumed input. Valid from the batch callback until the input is
 * complete; the service must not touch it after kq_input_done(). */
typedef struct kq_input {
  const char *topic;
  int32_t partition;
  int64_t offset;
  const void *key;
  size_t key_len;
  const void *value;
  size_t value_len;
  int64_t timestamp_ms; /* broker/producer timestamp, -1 if none */
  void *service_data;   /* free for the service to use */
} kq_input;

typedef void (*kq_batch_fn)(void *ctx, kq_input *const *inputs, size_t count);

/* Called for produce calls made without an input (e.g. by a partner client)
 * once the broker acknowledged them (err 0) or they failed for good (err is
 * then librdkafka's rd_kafka_resp_err_t; kq_err2str() names it). Such
 * messages are not re-produced by kq_: librdkafka has already retried them
 * for message.timeout.ms. */
typedef void (*kq_delivery_fn)(void *ctx, void *opaque, int err);

typedef struct kq_settings {
  const char *brokers;   /* bootstrap.servers */
  const char *client_id; /* e.g. "lindung-ingest" */
  /* How to authenticate (mutual TLS), or NULL for plaintext. */
  const kafka_security *security;
  /* Extra librdkafka properties as NULL-terminated name/value pairs, or NULL. */
  const char *const *properties;
  /* Optional: librdkafka's own log lines (syslog levels), delivered on the
   * loop thread while the handle is served. NULL drops them: this library
   * never prints. */
  void (*log)(void *log_ctx, int level, const char *facility, const char *message);
  void *log_ctx;
  /* Producers only: a transactional.id makes the producer transactional
   * (consume-transform-produce). Outputs then go out in transactions
   * committed every KQ_TXN_INTERVAL_MS together with the offsets of the
   * inputs done meanwhile (rd_kafka_send_offsets_to_transaction), so an
   * input's outputs and its offset become visible to read_committed
   * readers together or not at all. A failed transaction is aborted and the
   * producer turns fatal: the service must stop, and its restart reads the
   * aborted inputs again. NULL: idempotent producer, offsets stored. */
  const char *transactional_id;
} kq_settings;

typedef struct kq_consumer_settings {
  kq_settings kafka;
  const char *group_id;
  const char *const *topics; /* NULL-terminated */
  /* Largest batch handed to kq_batch_fn at once. */
  size_t max_batch;
  /* Stop fetching while this many inputs are incomplete (back-pressure). */
  size_t max_in_flight;
  /* "earliest" or "latest" for a group without committed offsets. */
  const char *auto_offset_reset;
} kq_consumer_settings;

int kq_producer_open(uv_loop_t *loop, const kq_settings *settings, kq_delivery_fn on_delivery,
                     void *ctx, kq_producer **out, char *err, size_t err_len);

/* Produces one message. input may be NULL (no offset depends on it); then
 * opaque is passed to the producer's kq_delivery_fn. key and value are
 * copied. Returns -ENOBUFS only if the local queue stays full. */
int kq_produce(kq_producer *producer, kq_input *input, const char *topic, const void *key,
               size_t key_len, const void *value, size_t value_len, void *opaque);

/* Messages produced but not yet acknowledged. */
size_t kq_producer_outstanding(const kq_producer *producer);

/* True once the producer has talked to a broker and not lost all of them:
 * set by a successful delivery or statistics showing a broker "UP"; cleared
 * by "all brokers down", statistics with no broker UP, or a fatal error. */
bool kq_producer_connected(const kq_producer *producer);

/* 0 while the producer is usable; -EIO once librdkafka raised a fatal error
 * (e.g. the idempotent producer lost its guarantees), with the reason in
 * err. A fatal producer never recovers: outputs of inputs are no longer
 * retried, their inputs finish without storing an offset (so they are
 * redelivered after a restart); the service should stop. */
int kq_producer_fatal_error(const kq_producer *producer, char *err, size_t err_len);

/* Flushes (up to timeout_ms, serving delivery reports) and frees. Outputs
 * still unacknowledged then are purged: their inputs complete without
 * storing an offset. Call it outside uv_run() (it runs the loop itself),
 * after every consumer using this producer is closed. */
void kq_producer_close(kq_producer *producer, int timeout_ms);

/* Name of a delivery error passed to kq_delivery_fn. */
const char *kq_err2str(int err);

int kq_consumer_open(uv_loop_t *loop, const kq_consumer_settings *settings, kq_producer *producer,
                     kq_batch_fn on_batch, void *ctx, kq_consumer **out, char *err, size_t err_len);

/* The service has produced every output of this input. */
void kq_input_done(kq_input *input);

/* Stop and restart handing out batches (e.g. while a database is away).
 * Inputs already handed out stay the service's to finish. Pausing also
 * pauses fetching of the assigned partitions (rd_kafka_pause_partitions),
 * while the consumer keeps being polled so the group membership and
 * rebalances stay served; messages already fetched are held, in order, and
 * handed out first after kq_consumer_resume(). */
void kq_consumer_pause(kq_consumer *consumer);
void kq_consumer_resume(kq_consumer *consumer);

/* Like kq_producer_connected(); a partition assignment also sets it. */
bool kq_consumer_connected(const kq_consumer *consumer);

/* 0 while the consumer is usable; -EIO once librdkafka raised a fatal
 * error, with the reason in err. The one expected: another process joined
 * with the same group.instance.id and fenced this one. It never recovers:
 * the service should stop. */
int kq_consumer_fatal_error(const kq_consumer *consumer, char *err, size_t err_len);

/* Messages of the assigned partitions the service has not finished: those
 * after its position (high watermark - position, per partition; a trailing
 * transaction marker counts one) plus those held or in flight. -1 when the
 * assignment cannot be read. */
int64_t kq_consumer_lag(const kq_consumer *consumer);

size_t kq_consumer_in_flight(const kq_consumer *consumer);

/* Graceful stop: stop fetching, wait until every handed-out input is
 * complete (serving the loop meanwhile, at most timeout_ms), store and commit
 * offsets, leave the group, free. The producer is closed separately after.
 * Call it outside uv_run() (e.g. after a signal callback called uv_stop()):
 * it runs the loop itself with UV_RUN_ONCE. Inputs still incomplete at the
 * timeout stay valid (their data is copied) until kq_input_done() and their
 * outputs finish, but no offset is stored for them any more. */
void kq_consumer_close(kq_consumer *consumer, int timeout_ms);

#endif
