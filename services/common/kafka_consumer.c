/* kafka_consumer: the consumer of the Kafka loop: hands inputs out in
 * batches, holds back when too many are in flight or paused, and stores an
 * offset only over the prefix of complete inputs (kafka_loop.h,
 * kafka_offsets.c for the pure tracking). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_loop_internal.h"

/* --- consumer ---------------------------------------------------------- */

static void kq_consumer_timer_cb(uv_timer_t *handle);

static void kq_consumer_kick(kq_consumer *c) {
  /* Serve again from the loop, never from inside the caller's callback; the
   * timer then goes on as the safety tick. */
  if (c->handles_open > 0 && !c->closing)
    uv_timer_start(&c->timer, kq_consumer_timer_cb, 0, KQ_TICK_MS);
}

static void kq_consumer_store(kq_consumer *c, const char *topic, int32_t partition,
                              int64_t offset) {
  if (kq__txn_store(c->producer, c->rk, topic, partition, offset)) return;
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic, partition)->offset = offset;
  /* Fails harmlessly for a partition no longer assigned. */
  rd_kafka_offsets_store(c->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
}

static void kq_input_free(kq_in *in) {
  if (in->msg) rd_kafka_message_destroy(in->msg);
  free(in->copy);
  free(in);
}

static void kq_input_finish_if_complete(kq_in *in) {
  if (!in->done || in->outstanding > 0) return;
  kq_consumer *c = in->consumer;
  if (c) {
    if (in->prev)
      in->prev->next = in->next;
    else
      c->live = in->next;
    if (in->next) in->next->prev = in->prev;
    bool was_full = c->in_flight >= c->max_in_flight;
    c->in_flight--;
    if (!in->failed && in->generation) {
      int64_t store = kqo_complete(c->tracker, in->pub.topic, in->pub.partition, in->generation,
                                   in->pub.offset);
      if (store >= 0) kq_consumer_store(c, in->pub.topic, in->pub.partition, store);
    }
    if (was_full || c->held_count > 0) kq_consumer_kick(c);
  }
  kq_input_free(in);
}

void kq__input_output_finished(kq_in *in, bool failed) {
  in->outstanding--;
  if (failed) in->failed = true;
  kq_input_finish_if_complete(in);
}

void kq_input_done(kq_input *input) {
  kq_in *in = (kq_in *)input;
  if (!in || in->done) return;
  in->done = true;
  kq_input_finish_if_complete(in);
}

static int kq_held_push(kq_consumer *c, rd_kafka_message_t *msg) {
  if (c->held_count == c->held_cap) {
    size_t cap = c->held_cap ? c->held_cap * 2 : 256;
    rd_kafka_message_t **held = malloc(cap * sizeof(*held));
    if (!held) return -ENOMEM;
    for (size_t i = 0; i < c->held_count; i++) held[i] = c->held[(c->held_head + i) % c->held_cap];
    free(c->held);
    c->held = held;
    c->held_cap = cap;
    c->held_head = 0;
  }
  c->held[(c->held_head + c->held_count) % c->held_cap] = msg;
  c->held_count++;
  return 0;
}

static rd_kafka_message_t *kq_held_pop(kq_consumer *c) {
  rd_kafka_message_t *msg = c->held[c->held_head];
  c->held_head = (c->held_head + 1) % c->held_cap;
  c->held_count--;
  return msg;
}

/* Drops held messages of one partition (all if topic is NULL), keeping the
 * order of the others: the partition's next owner fetches them again. */
static void kq_held_drop(kq_consumer *c, const char *topic, int32_t partition) {
  size_t n = c->held_count;
  for (size_t i = 0; i < n; i++) {
    rd_kafka_message_t *msg = kq_held_pop(c);
    if (!topic ||
        (msg->partition == partition && strcmp(rd_kafka_topic_name(msg->rkt), topic) == 0))
      rd_kafka_message_destroy(msg);
    else
      kq_held_push(c, msg); /* room is there: we just popped */
  }
}

/* Hands out one batch of held messages; returns how many. */
static size_t kq_consumer_dispatch(kq_consumer *c) {
  size_t n = c->held_count;
  if (n > c->max_batch) n = c->max_batch;
  if (n > c->max_in_flight - c->in_flight) n = c->max_in_flight - c->in_flight;
  size_t count = 0;
  while (count < n) {
    kq_in *in = calloc(1, sizeof(*in));
    if (!in) break;
    rd_kafka_message_t *msg = kq_held_pop(c);
    in->msg = msg;
    in->consumer = c;
    in->pub.topic = rd_kafka_topic_name(msg->rkt);
    in->pub.partition = msg->partition;
    in->pub.offset = msg->offset;
    in->pub.key = msg->key;
    in->pub.key_len = msg->key_len;
    in->pub.value = msg->payload;
    in->pub.value_len = msg->len;
    rd_kafka_timestamp_type_t ts_type;
    in->pub.timestamp_ms = rd_kafka_message_timestamp(msg, &ts_type);
    in->generation = kqo_track(c->tracker, in->pub.topic, msg->partition, msg->offset);
    in->next = c->live;
    if (c->live) c->live->prev = in;
    c->live = in;
    c->in_flight++;
    c->batch[count++] = &in->pub;
  }
  if (count > 0) c->on_batch(c->ctx, c->batch, count);
  return count;
}

static void kq_consumer_serve(kq_consumer *c) {
  if (c->serving || !c->rk) return;
  c->serving = true;
  for (;;) {
    bool progress = false;
    /* Poll while paused or closing too: rebalances and group heartbeats
     * must stay served; fetched messages are held (or dropped on close). */
    while (c->closing || c->paused ||
           (c->held_count < c->max_batch && c->in_flight + c->held_count < c->max_in_flight)) {
      rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->rk, 0);
      if (!msg) break;
      progress = true;
      if (msg->err || c->closing) {
        /* Errors also reach the error callback; a dropped message on close
         * was never handed out, so it is fetched again after a restart. */
        rd_kafka_message_destroy(msg);
        continue;
      }
      if (kq_held_push(c, msg) != 0) {
        /* Out of memory: dropping would lose the message, so rewind the
         * partition to it instead. */
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(list, rd_kafka_topic_name(msg->rkt), msg->partition)
            ->offset = msg->offset;
        rd_kafka_seek_partitions(c->rk, list, 0);
        rd_kafka_topic_partition_list_destroy(list);
        rd_kafka_message_destroy(msg);
        break;
      }
    }
    if (!c->paused && !c->closing && c->held_count > 0 && c->in_flight < c->max_in_flight &&
        kq_consumer_dispatch(c) > 0)
      progress = true;
    if (!progress) break;
  }
  c->serving = false;
}

static void kq_consumer_poll_cb(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  kq_consumer *c = handle->data;
  kq__pipe_drain(c->fds[0]);
  kq_consumer_serve(c);
}

static void kq_consumer_timer_cb(uv_timer_t *handle) {
  kq_consumer *c = handle->data;
  kq_consumer_serve(c);
}

static void kq_consumer_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                     rd_kafka_topic_partition_list_t *parts, void *opaque) {
  kq_consumer *c = opaque;
  bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (!cooperative) kqo_revoke_all(c->tracker); /* an eager assign replaces everything */
    for (int i = 0; i < parts->cnt; i++)
      kqo_assign(c->tracker, parts->elems[i].topic, parts->elems[i].partition);
    if (cooperative) {
      rd_kafka_error_t *error = rd_kafka_incremental_assign(rk, parts);
      if (error) rd_kafka_error_destroy(error);
    } else
      rd_kafka_assign(rk, parts);
    if (c->paused) rd_kafka_pause_partitions(rk, parts);
    c->connected = true;
    return;
  }
  /* What is done goes out before the partitions do. */
  kq__txn_commit(c->producer);
  /* Revoked (or a rebalance error): forget the partitions. Inputs already
   * handed out still finish, but store nothing (kqo_complete says so). */
  if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && cooperative) {
    for (int i = 0; i < parts->cnt; i++) {
      kqo_revoke(c->tracker, parts->elems[i].topic, parts->elems[i].partition);
      kq_held_drop(c, parts->elems[i].topic, parts->elems[i].partition);
    }
    rd_kafka_error_t *error = rd_kafka_incremental_unassign(rk, parts);
    if (error) rd_kafka_error_destroy(error);
    return;
  }
  kqo_revoke_all(c->tracker);
  kq_held_drop(c, NULL, 0);
  if (cooperative && rd_kafka_assignment_lost(rk)) {
    rd_kafka_error_t *error = rd_kafka_incremental_unassign(rk, parts);
    if (error) rd_kafka_error_destroy(error);
  } else {
    rd_kafka_assign(rk, NULL);
  }
}

static void kq_consumer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)reason;
  kq_consumer *c = opaque;
  kq__error_common(rk, err, &c->connected, &c->fatal, c->fatal_reason, sizeof c->fatal_reason);
}

static int kq_consumer_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  (void)rk;
  kq_consumer *c = opaque;
  kqo_stats stats;
  if (kqo_stats_parse(json, len, &stats) == 0) c->connected = stats.brokers_up > 0;
  return 0;
}

static void kq_consumer_handle_closed(uv_handle_t *handle) {
  kq_consumer *c = handle->data;
  c->handles_open--;
}

static void kq_consumer_free(kq_consumer *c) {
  kqo_tracker_free(c->tracker);
  free(c->held);
  free(c->batch);
  free(c);
}

int kq_consumer_open(uv_loop_t *loop, const kq_consumer_settings *settings, kq_producer *producer,
                     kq_batch_fn on_batch, void *ctx, kq_consumer **out, char *err,
                     size_t err_len) {
  *out = NULL;
  if (!settings || !settings->group_id || !settings->topics || !settings->topics[0] || !on_batch) {
    kq__set_err(err, err_len, "kafka consumer needs a group, topics and a batch callback");
    return -EINVAL;
  }
  const char *defaults[] = {
      "group.id",
      settings->group_id,
      "enable.auto.commit",
      /* transactional: offsets are committed with the outputs */
      kq__transactional(producer) ? "false" : "true",
      "isolation.level",
      "read_committed",
      "enable.auto.offset.store",
      "false",
      "auto.offset.reset",
      settings->auto_offset_reset ? settings->auto_offset_reset : "earliest",
      "statistics.interval.ms",
      KQ_STATS_INTERVAL_MS,
      /* Bounds what librdkafka prefetches per partition while we hold back. */
      "queued.max.messages.kbytes",
      "16384",
      NULL,
  };
  kq_consumer *c = calloc(1, sizeof(*c));
  if (!c) {
    kq__set_err(err, err_len, "out of memory");
    return -ENOMEM;
  }
  c->logger = (kq_logger){settings->kafka.log, settings->kafka.log_ctx};
  c->loop = loop;
  c->producer = producer;
  c->on_batch = on_batch;
  c->ctx = ctx;
  c->max_batch = settings->max_batch ? settings->max_batch : KQ_DEFAULT_MAX_BATCH;
  c->max_in_flight = settings->max_in_flight ? settings->max_in_flight : KQ_DEFAULT_MAX_IN_FLIGHT;
  c->fds[0] = c->fds[1] = -1;
  c->tracker = kqo_tracker_new();
  c->batch = calloc(c->max_batch, sizeof(*c->batch));
  if (!c->tracker || !c->batch) {
    kq_consumer_free(c);
    kq__set_err(err, err_len, "out of memory");
    return -ENOMEM;
  }
  rd_kafka_conf_t *conf = kq__conf_new(&settings->kafka, defaults, err, err_len);
  if (!conf) {
    kq_consumer_free(c);
    return -EINVAL;
  }
  rd_kafka_conf_set_opaque(conf, c);
  rd_kafka_conf_set_rebalance_cb(conf, kq_consumer_rebalance_cb);
  rd_kafka_conf_set_error_cb(conf, kq_consumer_error_cb);
  rd_kafka_conf_set_stats_cb(conf, kq_consumer_stats_cb);
  char errstr[256];
  c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (!c->rk) {
    rd_kafka_conf_destroy(conf);
    kq__set_err(err, err_len, "cannot create kafka consumer: %s", errstr);
    kq_consumer_free(c);
    return -EINVAL;
  }
  int rc = kq__pipe_open(c->fds);
  if (rc != 0) {
    kq__set_err(err, err_len, "cannot create wake-up pipe");
    rd_kafka_destroy(c->rk);
    kq_consumer_free(c);
    return rc;
  }
  /* One queue for everything: messages, rebalances, errors, statistics. */
  if (c->logger.fn) rd_kafka_set_log_queue(c->rk, NULL);
  rd_kafka_poll_set_consumer(c->rk);
  c->queue = rd_kafka_queue_get_consumer(c->rk);
  rd_kafka_queue_io_event_enable(c->queue, c->fds[1], "1", 1);

  size_t topic_count = 0;
  while (settings->topics[topic_count]) topic_count++;
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new((int)topic_count);
  for (size_t i = 0; i < topic_count; i++)
    rd_kafka_topic_partition_list_add(topics, settings->topics[i], RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t sub = rd_kafka_subscribe(c->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (sub) {
    kq__set_err(err, err_len, "cannot subscribe: %s", rd_kafka_err2str(sub));
    rd_kafka_queue_io_event_enable(c->queue, -1, NULL, 0);
    rd_kafka_queue_destroy(c->queue);
    rd_kafka_destroy(c->rk);
    kq__pipe_close(c->fds);
    kq_consumer_free(c);
    return -EINVAL;
  }
  uv_poll_init(loop, &c->poll, c->fds[0]);
  uv_timer_init(loop, &c->timer);
  c->poll.data = c->timer.data = c;
  c->handles_open = 2;
  uv_poll_start(&c->poll, UV_READABLE, kq_consumer_poll_cb);
  uv_timer_start(&c->timer, kq_consumer_timer_cb, KQ_TICK_MS, KQ_TICK_MS);
  *out = c;
  return 0;
}

static void kq_consumer_set_paused(kq_consumer *c, bool paused) {
  if (!c || c->paused == paused || c->closing) return;
  c->paused = paused;
  rd_kafka_topic_partition_list_t *assigned = NULL;
  if (rd_kafka_assignment(c->rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR && assigned) {
    if (paused)
      rd_kafka_pause_partitions(c->rk, assigned);
    else
      rd_kafka_resume_partitions(c->rk, assigned);
  }
  if (assigned) rd_kafka_topic_partition_list_destroy(assigned);
  if (!paused) kq_consumer_kick(c);
}

void kq_consumer_pause(kq_consumer *c) {
  kq_consumer_set_paused(c, true);
}
void kq_consumer_resume(kq_consumer *c) {
  kq_consumer_set_paused(c, false);
}

bool kq_consumer_connected(const kq_consumer *c) {
  return c && c->connected && !c->fatal;
}
int kq_consumer_fatal_error(const kq_consumer *c, char *err, size_t err_len) {
  if (!c || !c->fatal) return 0;
  kq__set_err(err, err_len, "fatal kafka consumer error: %s", c->fatal_reason);
  return -EIO;
}
int64_t kq_consumer_lag(const kq_consumer *c) {
  rd_kafka_topic_partition_list_t *assigned = NULL;
  if (!c || rd_kafka_assignment(c->rk, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR || !assigned)
    return -1;
  /* Not librdkafka's consumer_lag statistic: it counts from the offsets this
   * consumer committed itself, which offsets committed in a transaction
   * never update, and statistics stop while the service takes no message.
   * The high watermark is librdkafka's cached one, refreshed by every fetch
   * (so it stands still while consuming is paused). */
  int64_t lag = 0;
  if (rd_kafka_position(c->rk, assigned) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < assigned->cnt; i++) {
      const rd_kafka_topic_partition_t *part = &assigned->elems[i];
      int64_t low, high;
      if (rd_kafka_get_watermark_offsets(c->rk, part->topic, part->partition, &low, &high) != 0)
        continue;
      int64_t behind = kqo_partition_lag(high, part->offset);
      if (behind > 0) lag += behind;
    }
  }
  rd_kafka_topic_partition_list_destroy(assigned);
  /* Taken from librdkafka but not finished yet: held back or in flight. */
  return lag + (int64_t)c->held_count + (int64_t)c->in_flight;
}
size_t kq_consumer_in_flight(const kq_consumer *c) {
  return c ? c->in_flight : 0;
}

/* Gives inputs still in the service's hands their own copy of the data, so
 * the librdkafka handle can go while they finish; they store nothing. */
static void kq_consumer_orphan_inputs(kq_consumer *c) {
  kq_in *in = c->live;
  while (in) {
    kq_in *next = in->next;
    size_t topic_len = strlen(in->pub.topic) + 1;
    char *copy = malloc(topic_len + in->pub.key_len + in->pub.value_len + 1);
    if (copy) {
      memcpy(copy, in->pub.topic, topic_len);
      if (in->pub.key) memcpy(copy + topic_len, in->pub.key, in->pub.key_len);
      if (in->pub.value)
        memcpy(copy + topic_len + in->pub.key_len, in->pub.value, in->pub.value_len);
      in->pub.topic = copy;
      in->pub.key = in->pub.key ? copy + topic_len : NULL;
      in->pub.value = in->pub.value ? copy + topic_len + in->pub.key_len : NULL;
      in->copy = copy;
      rd_kafka_message_destroy(in->msg);
      in->msg = NULL;
    }
    in->consumer = NULL;
    in->prev = in->next = NULL;
    in = next;
  }
  c->live = NULL;
  c->in_flight = 0;
}

void kq_consumer_close(kq_consumer *c, int timeout_ms) {
  if (!c) return;
  c->closing = true;
  kq_held_drop(c, NULL, 0);
  uint64_t deadline = kq__now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
  /* The safety timer keeps each UV_RUN_ONCE short. */
  while (c->in_flight > 0 && kq__now_ms() < deadline) uv_run(c->loop, UV_RUN_ONCE);
  /* Offsets were stored as inputs completed; commit them now. */
  kq__txn_commit(c->producer);
  rd_kafka_commit(c->rk, NULL, 0);
  rd_kafka_consumer_close(c->rk);
  kq_held_drop(c, NULL, 0);
  kq_consumer_orphan_inputs(c);
  rd_kafka_queue_io_event_enable(c->queue, -1, NULL, 0);
  rd_kafka_queue_destroy(c->queue);
  kq__txn_detach(c->producer, c->rk);
  rd_kafka_destroy(c->rk);
  c->rk = NULL;
  uv_close((uv_handle_t *)&c->poll, kq_consumer_handle_closed);
  uv_close((uv_handle_t *)&c->timer, kq_consumer_handle_closed);
  kq__wait_handles_closed(c->loop, &c->handles_open);
  kq__pipe_close(c->fds);
  kq_consumer_free(c);
}

