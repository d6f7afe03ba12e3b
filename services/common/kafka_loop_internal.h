/* kafka_loop_internal: what the Kafka loop's three files share (kafka_plumbing.c
 * the plumbing, kafka_producer.c, kafka_consumer.c). Not for services: they
 * use kafka_loop.h. Names kq__* are internal, as libuv's uv__* are. */
#ifndef LINDUNG_KAFKA_LOOP_INTERNAL_H
#define LINDUNG_KAFKA_LOOP_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "kafka_loop.h"
#include "kafka_offsets.h"

#define KQ_TICK_MS 50
/* librdkafka's statistics only tell us whether a broker is up (errors and
 * deliveries tell us sooner): building and parsing the JSON every second
 * cost each idle service 2-4 ms of CPU per second (docs/performance.md). */
#define KQ_STATS_INTERVAL_MS "5000"
#define KQ_RETRY_BASE_MS 100
#define KQ_RETRY_MAX_MS 5000
#define KQ_DEFAULT_MAX_BATCH 100
#define KQ_DEFAULT_MAX_IN_FLIGHT 1000

typedef struct kq_in kq_in;

/* One produced message, kept until the broker acknowledged it so that it
 * can be re-produced byte for byte after a failed delivery. */
typedef struct kq_out {
  kq_producer *producer;
  kq_in *input; /* NULL: report to the producer's kq_delivery_fn */
  void *opaque;
  const char *topic;
  const void *key, *value;
  size_t key_len, value_len;
  unsigned attempts;
  uint64_t retry_at_ms;
  struct kq_out *next; /* retry list */
} kq_out;

/* Where librdkafka's log lines go; first member of both handles so the
 * log callback finds it through rd_kafka_opaque(). */
typedef struct kq_logger {
  void (*fn)(void *ctx, int level, const char *facility, const char *message);
  void *ctx;
} kq_logger;

/* A transactional producer has two clients, with transactional.id and
 * transactional.id + KQ_TXN_SECOND_ID_SUFFIX, and they take turns: a
 * transaction's commit returns once the coordinator has decided it, but the
 * coordinator answers CONCURRENT_TRANSACTIONS to that id's next
 * AddPartitionsToTxn until it has written the markers, and librdkafka then
 * waits 20 ms before asking again. With one client nearly every transaction
 * paid that wait (docs/performance.md). Only one transaction is open at a
 * time, so offsets still commit in order: the group coordinator keeps the
 * offset whose TxnOffsetCommit came last. */
#define KQ_TXN_CLIENTS 2
#define KQ_TXN_SECOND_ID_SUFFIX ".2"

struct kq_producer {
  kq_logger logger;
  uv_loop_t *loop;
  rd_kafka_t *clients[KQ_TXN_CLIENTS];
  rd_kafka_queue_t *queues[KQ_TXN_CLIENTS];
  int client_count;
  int current_client; /* whose transaction is open or begins next */
  int fds[2];
  uv_poll_t poll;
  uv_timer_t timer;
  int handles_open;
  kq_delivery_fn on_delivery;
  void *ctx;
  size_t outstanding; /* kq_out records alive */
  kq_out *retry_head;
  bool connected, fatal, closing;
  char fatal_reason[256];
  /* Transactional mode (kq_settings.transactional_id): outputs and the
   * offsets of the inputs done meanwhile are committed together. */
  bool transactional, txn_open;
  uint64_t txn_started_ms;
  rd_kafka_topic_partition_list_t *txn_offsets; /* next offset per partition */
  rd_kafka_t *txn_consumer;                     /* whose group the offsets are */
};

/* A consumed input as handed to the service; pub comes first so a
 * kq_input pointer is a kq_in pointer. */
struct kq_in {
  kq_input pub;
  kq_consumer *consumer; /* NULL once the consumer closed (orphan) */
  rd_kafka_message_t *msg;
  void *copy; /* an orphan's own copy of topic, key and value */
  uint64_t generation;
  unsigned outstanding; /* outputs not yet acknowledged */
  bool done, failed;
  kq_in *prev, *next;
};

struct kq_consumer {
  kq_logger logger;
  uv_loop_t *loop;
  rd_kafka_t *rk;
  rd_kafka_queue_t *queue;
  int fds[2];
  uv_poll_t poll;
  uv_timer_t timer;
  int handles_open;
  kq_producer *producer;
  kq_batch_fn on_batch;
  void *ctx;
  size_t max_batch, max_in_flight;
  kqo_tracker *tracker;
  /* Messages polled from librdkafka but not yet handed out, in order. */
  rd_kafka_message_t **held;
  size_t held_head, held_count, held_cap;
  kq_input **batch;
  kq_in *live; /* every input handed out and not finished */
  size_t in_flight;
  bool paused, closing, serving, connected;
  bool fatal; /* e.g. fenced by a newer member with the same group.instance.id */
  char fatal_reason[256];
};

__attribute__((format(printf, 3, 4))) void kq__set_err(char *err, size_t err_len, const char *fmt,
                                                       ...);
int kq__pipe_open(int fds[2]);
void kq__pipe_drain(int fd);
void kq__pipe_close(int fds[2]);
uint64_t kq__now_ms(void);
rd_kafka_conf_t *kq__conf_new(const kq_settings *settings, const char *const *defaults, char *err,
                              size_t err_len);
void kq__wait_handles_closed(uv_loop_t *loop, const int *handles_open);
void kq__error_common(rd_kafka_t *rk, int err, bool *connected, bool *fatal, char *reason,
                      size_t reason_len);
/* Transactional mode: the consumer hands an input partition's next offset
 * to the open transaction instead of storing it (no-op for others: returns
 * false), and commits the transaction before it gives partitions up or
 * closes. kq__txn_commit returns 0, or -EIO once the producer is fatal. */
bool kq__txn_store(kq_producer *p, rd_kafka_t *consumer, const char *topic, int32_t partition,
                   int64_t offset);
int kq__txn_commit(kq_producer *p);
void kq__txn_detach(kq_producer *p, rd_kafka_t *consumer);
bool kq__transactional(const kq_producer *p);
/* A producer tells the consumer that one output of an input is settled. */
void kq__input_output_finished(kq_in *in, bool failed);

#endif
