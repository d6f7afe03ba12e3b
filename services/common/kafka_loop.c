/* kafka_loop: librdkafka consumer and idempotent producer on a libuv loop,
 * with offsets stored only over the prefix of complete inputs (see
 * kafka_loop.h for the contract, kafka_offsets.c for the pure parts).
 *
 * Wake-ups: each rd_kafka_t has one queue that librdkafka signals through a
 * non-blocking pipe (rd_kafka_queue_io_event_enable); a uv_poll on the read
 * end drains the pipe and serves the queue until it is empty. librdkafka
 * writes only when an empty queue becomes non-empty, so whenever we leave
 * events in the queue on purpose (back-pressure) a uv_timer, also serving as
 * a safety net every KQ_TICK_MS, brings us back.
 *
 * connected: set by statistics showing a broker "UP", a successful delivery
 * (producer) or an assignment (consumer); cleared by "all brokers down",
 * statistics with no broker UP, or a fatal error. */
#define _GNU_SOURCE /* pipe2 */
#include "kafka_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka_offsets.h"

#define KQ_TICK_MS 50
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

struct kq_producer {
  kq_logger logger;
  uv_loop_t *loop;
  rd_kafka_t *rk;
  rd_kafka_queue_t *queue;
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
  int64_t lag;
  bool paused, closing, serving, connected;
};

__attribute__((format(printf, 3, 4))) static void kq_set_err(char *err, size_t err_len,
                                                             const char *fmt, ...) {
  if (!err || err_len == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
}

const char *kq_err2str(int err) {
  return rd_kafka_err2str((rd_kafka_resp_err_t)err);
}

/* --- shared plumbing -------------------------------------------------- */

static int kq_pipe_open(int fds[2]) {
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return -errno;
  return 0;
}

static void kq_pipe_drain(int fd) {
  char buf[256];
  while (read(fd, buf, sizeof(buf)) > 0) {
  }
}

static void kq_pipe_close(int fds[2]) {
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0) {
      close(fds[i]);
      fds[i] = -1;
    }
}

static uint64_t kq_now_ms(void) {
  return uv_hrtime() / 1000000u;
}

static int kq_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                       size_t err_len) {
  char errstr[256];
  if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    /* The value is left out: it may be a credential. */
    kq_set_err(err, err_len, "kafka property %s rejected", name);
    return -EINVAL;
  }
  return 0;
}

static void kq_log_cb(const rd_kafka_t *rk, int level, const char *facility, const char *message) {
  /* Without log.queue this runs on librdkafka's threads; it then does
   * nothing, which is what a handle without a logger wants. */
  const kq_logger *logger = rk ? rd_kafka_opaque(rk) : NULL;
  if (logger && logger->fn) logger->fn(logger->ctx, level, facility, message);
}

/* Log lines travel through the handle's main queue, so they reach the
 * caller on the loop thread (for a consumer, via the consumer queue). */
static int kq_conf_log(rd_kafka_conf_t *conf, const kq_settings *settings, char *err,
                       size_t err_len) {
  rd_kafka_conf_set_log_cb(conf, kq_log_cb);
  if (!settings->log) return 0;
  return kq_conf_set(conf, "log.queue", "true", err, err_len);
}

/* Common properties, then the caller's extras (which may override). */
static rd_kafka_conf_t *kq_conf_new(const kq_settings *settings, const char *const *defaults,
                                    char *err, size_t err_len) {
  if (!settings || !settings->brokers || !*settings->brokers) {
    kq_set_err(err, err_len, "kafka brokers not set");
    return NULL;
  }
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  int rc = kq_conf_log(conf, settings, err, err_len);
  if (rc == 0) rc = kq_conf_set(conf, "bootstrap.servers", settings->brokers, err, err_len);
  if (rc == 0 && settings->client_id)
    rc = kq_conf_set(conf, "client.id", settings->client_id, err, err_len);
  for (size_t i = 0; rc == 0 && defaults[i]; i += 2)
    rc = kq_conf_set(conf, defaults[i], defaults[i + 1], err, err_len);
  for (size_t i = 0; rc == 0 && settings->properties && settings->properties[i]; i += 2) {
    if (!settings->properties[i + 1]) {
      kq_set_err(err, err_len, "kafka property %s has no value", settings->properties[i]);
      rc = -EINVAL;
      break;
    }
    rc = kq_conf_set(conf, settings->properties[i], settings->properties[i + 1], err, err_len);
  }
  if (rc != 0) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  return conf;
}

/* Runs the loop until the counter of open handles reaches zero, so close
 * callbacks have run before the memory holding the handles is freed. */
static void kq_wait_handles_closed(uv_loop_t *loop, const int *handles_open) {
  while (*handles_open > 0) uv_run(loop, UV_RUN_NOWAIT);
}

/* --- producer ---------------------------------------------------------- */

static void kq_input_output_finished(kq_in *in, bool failed);

static void kq_out_finish(kq_out *out, int err) {
  kq_producer *p = out->producer;
  p->outstanding--;
  if (out->input)
    kq_input_output_finished(out->input, err != 0);
  else if (p->on_delivery)
    p->on_delivery(p->ctx, out->opaque, err);
  free(out);
}

static int kq_out_send(kq_out *out) {
  rd_kafka_resp_err_t err =
      rd_kafka_producev(out->producer->rk, RD_KAFKA_V_TOPIC(out->topic),
                        RD_KAFKA_V_KEY((void *)out->key, out->key_len),
                        RD_KAFKA_V_VALUE((void *)out->value, out->value_len),
                        /* No copy: the record owns the bytes until the delivery report. */
                        RD_KAFKA_V_MSGFLAGS(0), RD_KAFKA_V_OPAQUE(out), RD_KAFKA_V_END);
  return (int)err;
}

static void kq_out_schedule_retry(kq_out *out) {
  unsigned shift = out->attempts < 6 ? out->attempts : 6;
  uint64_t delay = (uint64_t)KQ_RETRY_BASE_MS << shift;
  if (delay > KQ_RETRY_MAX_MS) delay = KQ_RETRY_MAX_MS;
  out->attempts++;
  out->retry_at_ms = kq_now_ms() + delay;
  out->next = out->producer->retry_head;
  out->producer->retry_head = out;
}

static void kq_producer_retry_due(kq_producer *p) {
  kq_out *list = p->retry_head, *keep = NULL;
  p->retry_head = NULL;
  uint64_t now = kq_now_ms();
  while (list) {
    kq_out *out = list;
    list = list->next;
    out->next = NULL;
    if (p->closing || p->fatal) {
      kq_out_finish(out, RD_KAFKA_RESP_ERR__PURGE_QUEUE);
    } else if (out->retry_at_ms > now) {
      out->next = keep;
      keep = out;
    } else if (kq_out_send(out) != 0) {
      kq_out_schedule_retry(out);
    }
  }
  /* Re-link what is not due yet (schedule_retry may have added some). */
  while (keep) {
    kq_out *out = keep;
    keep = keep->next;
    out->next = p->retry_head;
    p->retry_head = out;
  }
}

static void kq_producer_dr(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
  (void)rk;
  kq_producer *p = opaque;
  kq_out *out = msg->_private;
  if (!out) return;
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    p->connected = true;
    kq_out_finish(out, 0);
  } else if (out->input && !p->closing && !p->fatal) {
    /* An input's output must get through: produce it again, later. */
    kq_out_schedule_retry(out);
  } else {
    kq_out_finish(out, msg->err);
  }
}

static void kq_error_common(rd_kafka_t *rk, int err, bool *connected, bool *fatal, char *reason,
                            size_t reason_len) {
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    *connected = false;
  } else if (err == RD_KAFKA_RESP_ERR__FATAL && fatal) {
    char buf[256];
    rd_kafka_fatal_error(rk, buf, sizeof(buf));
    snprintf(reason, reason_len, "%s", buf);
    *fatal = true;
    *connected = false;
  }
}

static void kq_producer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)reason;
  kq_producer *p = opaque;
  kq_error_common(rk, err, &p->connected, &p->fatal, p->fatal_reason, sizeof(p->fatal_reason));
}

static int kq_producer_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  (void)rk;
  kq_producer *p = opaque;
  kqo_stats stats;
  if (kqo_stats_parse(json, len, &stats) == 0 && !p->fatal) p->connected = stats.brokers_up > 0;
  return 0;
}

static void kq_producer_serve(kq_producer *p) {
  /* Bounded, so a flood of reports cannot starve the rest of the loop; the
   * timer comes back for the remainder. */
  for (int i = 0; i < 64 && rd_kafka_poll(p->rk, 0) > 0; i++) {
  }
  kq_producer_retry_due(p);
}

static void kq_producer_poll_cb(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  kq_producer *p = handle->data;
  kq_pipe_drain(p->fds[0]);
  kq_producer_serve(p);
}

static void kq_producer_timer_cb(uv_timer_t *handle) {
  kq_producer_serve(handle->data);
}

static void kq_producer_handle_closed(uv_handle_t *handle) {
  kq_producer *p = handle->data;
  p->handles_open--;
}

int kq_producer_open(uv_loop_t *loop, const kq_settings *settings, kq_delivery_fn on_delivery,
                     void *ctx, kq_producer **out, char *err, size_t err_len) {
  static const char *const defaults[] = {
      "enable.idempotence",     "true", "acks", "all", "linger.ms", "2", "compression.type", "none",
      "statistics.interval.ms", "1000", NULL,
  };
  *out = NULL;
  kq_producer *p = calloc(1, sizeof(*p));
  if (!p) {
    kq_set_err(err, err_len, "out of memory");
    return -ENOMEM;
  }
  p->logger = (kq_logger){settings ? settings->log : NULL, settings ? settings->log_ctx : NULL};
  p->loop = loop;
  p->on_delivery = on_delivery;
  p->ctx = ctx;
  p->fds[0] = p->fds[1] = -1;
  rd_kafka_conf_t *conf = kq_conf_new(settings, defaults, err, err_len);
  if (!conf) {
    free(p);
    return -EINVAL;
  }
  rd_kafka_conf_set_opaque(conf, p);
  rd_kafka_conf_set_dr_msg_cb(conf, kq_producer_dr);
  rd_kafka_conf_set_error_cb(conf, kq_producer_error_cb);
  rd_kafka_conf_set_stats_cb(conf, kq_producer_stats_cb);
  char errstr[256];
  p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!p->rk) {
    rd_kafka_conf_destroy(conf);
    kq_set_err(err, err_len, "cannot create kafka producer: %s", errstr);
    free(p);
    return -EINVAL;
  }
  int rc = kq_pipe_open(p->fds);
  if (rc != 0) {
    kq_set_err(err, err_len, "cannot create wake-up pipe");
    rd_kafka_destroy(p->rk);
    free(p);
    return rc;
  }
  if (p->logger.fn) rd_kafka_set_log_queue(p->rk, NULL);
  p->queue = rd_kafka_queue_get_main(p->rk);
  rd_kafka_queue_io_event_enable(p->queue, p->fds[1], "1", 1);
  uv_poll_init(loop, &p->poll, p->fds[0]);
  uv_timer_init(loop, &p->timer);
  p->poll.data = p->timer.data = p;
  p->handles_open = 2;
  uv_poll_start(&p->poll, UV_READABLE, kq_producer_poll_cb);
  uv_timer_start(&p->timer, kq_producer_timer_cb, KQ_TICK_MS, KQ_TICK_MS);
  *out = p;
  return 0;
}

int kq_produce(kq_producer *p, kq_input *input, const char *topic, const void *key, size_t key_len,
               const void *value, size_t value_len, void *opaque) {
  if (!p || !topic || p->closing) return -EINVAL;
  if (p->fatal) return -EIO;
  size_t topic_len = strlen(topic) + 1;
  kq_out *out = malloc(sizeof(*out) + topic_len + key_len + value_len);
  if (!out) return -ENOMEM;
  char *data = (char *)(out + 1);
  memset(out, 0, sizeof(*out));
  out->producer = p;
  out->input = (kq_in *)input;
  out->opaque = opaque;
  memcpy(data, topic, topic_len);
  out->topic = data;
  data += topic_len;
  if (key) {
    memcpy(data, key, key_len);
    out->key = data;
    out->key_len = key_len;
    data += key_len;
  }
  if (value) {
    memcpy(data, value, value_len);
    out->value = data;
    out->value_len = value_len;
  }
  int rc = kq_out_send(out);
  /* A full local queue empties as delivery reports are served; give it a
   * moment before giving up. */
  for (int i = 0; rc == RD_KAFKA_RESP_ERR__QUEUE_FULL && i < 20; i++) {
    rd_kafka_poll(p->rk, 10);
    rc = kq_out_send(out);
  }
  if (rc != 0) {
    free(out);
    return rc == RD_KAFKA_RESP_ERR__QUEUE_FULL ? -ENOBUFS : -EINVAL;
  }
  p->outstanding++;
  if (out->input) out->input->outstanding++;
  return 0;
}

size_t kq_producer_outstanding(const kq_producer *p) {
  return p ? p->outstanding : 0;
}

bool kq_producer_connected(const kq_producer *p) {
  return p && p->connected && !p->fatal;
}

int kq_producer_fatal_error(const kq_producer *p, char *err, size_t err_len) {
  if (!p || !p->fatal) return 0;
  kq_set_err(err, err_len, "fatal kafka producer error: %s", p->fatal_reason);
  return -EIO;
}

void kq_producer_close(kq_producer *p, int timeout_ms) {
  if (!p) return;
  uint64_t deadline = kq_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
  /* rd_kafka_flush serves delivery reports; retries are ours to send. */
  while (p->outstanding > 0 && !p->fatal) {
    uint64_t now = kq_now_ms();
    if (now >= deadline) break;
    kq_producer_retry_due(p);
    uint64_t left = deadline - now;
    rd_kafka_flush(p->rk, left < KQ_TICK_MS ? (int)left : KQ_TICK_MS);
  }
  p->closing = true;
  /* Whatever is left fails: purged messages come back as delivery reports. */
  rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  for (int i = 0; i < 100 && rd_kafka_outq_len(p->rk) > 0; i++) rd_kafka_poll(p->rk, 10);
  rd_kafka_poll(p->rk, 0);
  kq_producer_retry_due(p);
  rd_kafka_queue_io_event_enable(p->queue, -1, NULL, 0);
  rd_kafka_queue_destroy(p->queue);
  rd_kafka_destroy(p->rk);
  uv_close((uv_handle_t *)&p->poll, kq_producer_handle_closed);
  uv_close((uv_handle_t *)&p->timer, kq_producer_handle_closed);
  kq_wait_handles_closed(p->loop, &p->handles_open);
  kq_pipe_close(p->fds);
  free(p);
}

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

static void kq_input_output_finished(kq_in *in, bool failed) {
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
  kq_pipe_drain(c->fds[0]);
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
  kq_error_common(rk, err, &c->connected, NULL, NULL, 0);
}

static int kq_consumer_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  (void)rk;
  kq_consumer *c = opaque;
  kqo_stats stats;
  if (kqo_stats_parse(json, len, &stats) == 0) {
    c->lag = stats.consumer_lag;
    c->connected = stats.brokers_up > 0;
  }
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
    kq_set_err(err, err_len, "kafka consumer needs a group, topics and a batch callback");
    return -EINVAL;
  }
  const char *defaults[] = {
      "group.id",
      settings->group_id,
      "enable.auto.commit",
      "true",
      "enable.auto.offset.store",
      "false",
      "auto.offset.reset",
      settings->auto_offset_reset ? settings->auto_offset_reset : "earliest",
      "statistics.interval.ms",
      "1000",
      /* Bounds what librdkafka prefetches per partition while we hold back. */
      "queued.max.messages.kbytes",
      "16384",
      NULL,
  };
  kq_consumer *c = calloc(1, sizeof(*c));
  if (!c) {
    kq_set_err(err, err_len, "out of memory");
    return -ENOMEM;
  }
  c->logger = (kq_logger){settings->kafka.log, settings->kafka.log_ctx};
  c->loop = loop;
  c->producer = producer;
  c->on_batch = on_batch;
  c->ctx = ctx;
  c->max_batch = settings->max_batch ? settings->max_batch : KQ_DEFAULT_MAX_BATCH;
  c->max_in_flight = settings->max_in_flight ? settings->max_in_flight : KQ_DEFAULT_MAX_IN_FLIGHT;
  c->lag = -1;
  c->fds[0] = c->fds[1] = -1;
  c->tracker = kqo_tracker_new();
  c->batch = calloc(c->max_batch, sizeof(*c->batch));
  if (!c->tracker || !c->batch) {
    kq_consumer_free(c);
    kq_set_err(err, err_len, "out of memory");
    return -ENOMEM;
  }
  rd_kafka_conf_t *conf = kq_conf_new(&settings->kafka, defaults, err, err_len);
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
    kq_set_err(err, err_len, "cannot create kafka consumer: %s", errstr);
    kq_consumer_free(c);
    return -EINVAL;
  }
  int rc = kq_pipe_open(c->fds);
  if (rc != 0) {
    kq_set_err(err, err_len, "cannot create wake-up pipe");
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
    kq_set_err(err, err_len, "cannot subscribe: %s", rd_kafka_err2str(sub));
    rd_kafka_queue_io_event_enable(c->queue, -1, NULL, 0);
    rd_kafka_queue_destroy(c->queue);
    rd_kafka_destroy(c->rk);
    kq_pipe_close(c->fds);
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
  return c && c->connected;
}
int64_t kq_consumer_lag(const kq_consumer *c) {
  return c ? c->lag : -1;
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
  uint64_t deadline = kq_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
  /* The safety timer keeps each UV_RUN_ONCE short. */
  while (c->in_flight > 0 && kq_now_ms() < deadline) uv_run(c->loop, UV_RUN_ONCE);
  /* Offsets were stored as inputs completed; commit them now. */
  rd_kafka_commit(c->rk, NULL, 0);
  rd_kafka_consumer_close(c->rk);
  kq_held_drop(c, NULL, 0);
  kq_consumer_orphan_inputs(c);
  rd_kafka_queue_io_event_enable(c->queue, -1, NULL, 0);
  rd_kafka_queue_destroy(c->queue);
  rd_kafka_destroy(c->rk);
  c->rk = NULL;
  uv_close((uv_handle_t *)&c->poll, kq_consumer_handle_closed);
  uv_close((uv_handle_t *)&c->timer, kq_consumer_handle_closed);
  kq_wait_handles_closed(c->loop, &c->handles_open);
  kq_pipe_close(c->fds);
  kq_consumer_free(c);
}
