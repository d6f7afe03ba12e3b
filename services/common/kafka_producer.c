/* kafka_producer: the idempotent producer of the Kafka loop: every output
 * is kept until the broker acknowledged it, re-produced byte for byte after a
 * failed delivery, and reported to the input it belongs to (kafka_loop.h).
 * In transactional mode outputs are not retried one by one: the
 * transaction that carries them commits them together with the offsets of
 * the inputs done meanwhile, or is aborted as a whole. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_loop_internal.h"

/* A transaction commits as soon as every output in it is acknowledged (so
 * a quiet hop adds one commit round trip, not a wait), or at the latest
 * this long after it began while outputs keep coming: each commit blocks
 * the loop for a round trip to the coordinator, and under load a commit
 * then carries many inputs. */
#define KQ_TXN_INTERVAL_MS 20
/* A transaction left open by a killed process holds back read_committed
 * readers of its partitions until its successor with the same
 * transactional.id fences it (service.c keeps the id stable across
 * restarts), or until this timeout aborts it. It also bounds how long a
 * stalled broker may keep an output waiting before the transaction fails
 * (and the service restarts): a loaded machine stalls it for seconds. */
#define KQ_TXN_TIMEOUT_MS "60000"

/* --- transactions ------------------------------------------------------ */

/* The client whose transaction is open or begins next. */
static rd_kafka_t *kq_current(const kq_producer *p) {
  return p->clients[p->current_client];
}

/* A failed transactional call: abort what can be aborted, then the producer
 * is fatal (the service stops; its restart re-reads the aborted inputs). */
static void kq_txn_fail(kq_producer *p, rd_kafka_error_t *error, const char *what) {
  snprintf(p->fatal_reason, sizeof p->fatal_reason, "%s: %s", what, rd_kafka_error_string(error));
  bool abort = rd_kafka_error_txn_requires_abort(error);
  rd_kafka_error_destroy(error);
  if (abort && p->txn_open) {
    rd_kafka_error_t *aborted = rd_kafka_abort_transaction(kq_current(p), -1);
    if (aborted) rd_kafka_error_destroy(aborted);
  }
  p->txn_open = false;
  p->fatal = true;
  p->connected = false;
}

static int kq_txn_begin(kq_producer *p) {
  if (p->fatal) return -EIO;
  if (p->txn_open) return 0;
  rd_kafka_error_t *error = rd_kafka_begin_transaction(kq_current(p));
  if (error) {
    kq_txn_fail(p, error, "begin transaction");
    return -EIO;
  }
  p->txn_open = true;
  p->txn_started_ms = kq__now_ms();
  return 0;
}

/* Runs a blocking transactional call again while librdkafka calls its
 * error retriable (it then resumes the operation in the background). */
#define KQ_TXN_ATTEMPTS 5

bool kq__transactional(const kq_producer *p) {
  return p && p->transactional;
}

bool kq__txn_store(kq_producer *p, rd_kafka_t *consumer, const char *topic, int32_t partition,
                   int64_t offset) {
  if (!kq__transactional(p)) return false;
  /* One consumer group per transaction: another consumer's offsets wait
   * for the next one. */
  if (p->txn_consumer && p->txn_consumer != consumer) kq__txn_commit(p);
  if (kq_txn_begin(p) != 0) return true; /* fatal: nothing is stored, it is read again */
  p->txn_consumer = consumer;
  rd_kafka_topic_partition_t *tp =
      rd_kafka_topic_partition_list_find(p->txn_offsets, topic, partition);
  if (!tp) tp = rd_kafka_topic_partition_list_add(p->txn_offsets, topic, partition);
  if (offset > tp->offset) tp->offset = offset;
  return true;
}

void kq__txn_detach(kq_producer *p, rd_kafka_t *consumer) {
  if (!kq__transactional(p) || p->txn_consumer != consumer) return;
  /* Offsets of a consumer that is gone cannot be sent: their inputs are
   * read again, which is what an uncommitted offset means anyway. */
  rd_kafka_topic_partition_list_destroy(p->txn_offsets);
  p->txn_offsets = rd_kafka_topic_partition_list_new(8);
  p->txn_consumer = NULL;
}

int kq__txn_commit(kq_producer *p) {
  if (!kq__transactional(p)) return 0;
  if (p->fatal) return -EIO;
  if (!p->txn_open) return 0;
  rd_kafka_error_t *error = NULL;
  if (p->txn_offsets->cnt > 0 && p->txn_consumer) {
    rd_kafka_consumer_group_metadata_t *group = rd_kafka_consumer_group_metadata(p->txn_consumer);
    for (int i = 0; i < KQ_TXN_ATTEMPTS; i++) {
      error = rd_kafka_send_offsets_to_transaction(kq_current(p), p->txn_offsets, group, -1);
      if (!error || !rd_kafka_error_is_retriable(error) || i + 1 == KQ_TXN_ATTEMPTS) break;
      rd_kafka_error_destroy(error);
    }
    rd_kafka_consumer_group_metadata_destroy(group);
    if (error) {
      kq_txn_fail(p, error, "send offsets to transaction");
      return -EIO;
    }
  }
  for (int i = 0; i < KQ_TXN_ATTEMPTS; i++) {
    error = rd_kafka_commit_transaction(kq_current(p), -1);
    if (!error || !rd_kafka_error_is_retriable(error) || i + 1 == KQ_TXN_ATTEMPTS) break;
    rd_kafka_error_destroy(error);
  }
  if (error) {
    kq_txn_fail(p, error, "commit transaction");
    return -EIO;
  }
  p->txn_open = false;
  rd_kafka_topic_partition_list_destroy(p->txn_offsets);
  p->txn_offsets = rd_kafka_topic_partition_list_new(8);
  /* The next transaction goes to the other client, while the coordinator
   * still writes this one's markers. */
  p->current_client = (p->current_client + 1) % p->client_count;
  return 0;
}

/* --- producer ---------------------------------------------------------- */


static void kq_out_finish(kq_out *out, int err) {
  kq_producer *p = out->producer;
  p->outstanding--;
  if (out->input)
    kq__input_output_finished(out->input, err != 0);
  else if (p->on_delivery)
    p->on_delivery(p->ctx, out->opaque, err);
  free(out);
}

static int kq_out_send(kq_out *out) {
  rd_kafka_resp_err_t err =
      rd_kafka_producev(kq_current(out->producer), RD_KAFKA_V_TOPIC(out->topic),
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
  out->retry_at_ms = kq__now_ms() + delay;
  out->next = out->producer->retry_head;
  out->producer->retry_head = out;
}

static void kq_producer_retry_due(kq_producer *p) {
  kq_out *list = p->retry_head, *keep = NULL;
  p->retry_head = NULL;
  uint64_t now = kq__now_ms();
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

static void kq_producer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)reason;
  kq_producer *p = opaque;
  kq__error_common(rk, err, &p->connected, &p->fatal, p->fatal_reason, sizeof(p->fatal_reason));
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
  for (int c = 0; c < p->client_count; c++)
    for (int i = 0; i < 64 && rd_kafka_poll(p->clients[c], 0) > 0; i++) {
    }
  kq_producer_retry_due(p);
  if (p->txn_open && (p->outstanding == 0 || kq__now_ms() - p->txn_started_ms >= KQ_TXN_INTERVAL_MS))
    kq__txn_commit(p);
}

static void kq_producer_poll_cb(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  kq_producer *p = handle->data;
  kq__pipe_drain(p->fds[0]);
  kq_producer_serve(p);
}

static void kq_producer_timer_cb(uv_timer_t *handle) {
  kq_producer_serve(handle->data);
}

static void kq_producer_handle_closed(uv_handle_t *handle) {
  kq_producer *p = handle->data;
  p->handles_open--;
}

/* One librdkafka producer of p in *out, transactional under transactional_id
 * when that is not NULL. Returns 0, -EINVAL for a configuration librdkafka
 * refuses or -EIO when transactions cannot be initialised, with the reason
 * in err. */
static int kq_client_new(kq_producer *p, const kq_settings *settings, const char *transactional_id,
                         rd_kafka_t **out, char *err, size_t err_len) {
  static const char *const defaults[] = {
      "enable.idempotence",     "true", "acks", "all", "linger.ms", "2", "compression.type", "none",
      "statistics.interval.ms", KQ_STATS_INTERVAL_MS, NULL,
  };
  static const char *const transactional_defaults[] = {
      "enable.idempotence", "true", "acks", "all", "linger.ms", "2", "compression.type", "none",
      "statistics.interval.ms", KQ_STATS_INTERVAL_MS, "transaction.timeout.ms", KQ_TXN_TIMEOUT_MS,
      /* a message must not outlive the transaction that carries it */
      "message.timeout.ms", KQ_TXN_TIMEOUT_MS, NULL,
  };
  rd_kafka_conf_t *conf =
      kq__conf_new(settings, transactional_id ? transactional_defaults : defaults, err, err_len);
  if (!conf) return -EINVAL;
  char errstr[256];
  if (transactional_id && rd_kafka_conf_set(conf, "transactional.id", transactional_id, errstr,
                                            sizeof errstr) != RD_KAFKA_CONF_OK) {
    kq__set_err(err, err_len, "transactional.id: %s", errstr);
    rd_kafka_conf_destroy(conf);
    return -EINVAL;
  }
  rd_kafka_conf_set_opaque(conf, p);
  rd_kafka_conf_set_dr_msg_cb(conf, kq_producer_dr);
  rd_kafka_conf_set_error_cb(conf, kq_producer_error_cb);
  rd_kafka_conf_set_stats_cb(conf, kq_producer_stats_cb);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    kq__set_err(err, err_len, "cannot create kafka producer: %s", errstr);
    return -EINVAL;
  }
  if (p->logger.fn) rd_kafka_set_log_queue(rk, NULL);
  if (transactional_id) {
    /* Fences an earlier producer with the same transactional.id and aborts
     * what it left open, before anything of ours is produced. */
    rd_kafka_error_t *error = rd_kafka_init_transactions(rk, 30000);
    if (error) {
      kq__set_err(err, err_len, "cannot initialise transactions: %s", rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
      rd_kafka_destroy(rk);
      return -EIO;
    }
  }
  *out = rk;
  return 0;
}

static void kq_clients_destroy(kq_producer *p) {
  for (int i = 0; i < p->client_count; i++) {
    rd_kafka_queue_io_event_enable(p->queues[i], -1, NULL, 0);
    rd_kafka_queue_destroy(p->queues[i]);
    rd_kafka_destroy(p->clients[i]);
  }
  p->client_count = 0;
}

int kq_producer_open(uv_loop_t *loop, const kq_settings *settings, kq_delivery_fn on_delivery,
                     void *ctx, kq_producer **out, char *err, size_t err_len) {
  *out = NULL;
  kq_producer *p = calloc(1, sizeof(*p));
  if (!p) {
    kq__set_err(err, err_len, "out of memory");
    return -ENOMEM;
  }
  p->logger = (kq_logger){settings ? settings->log : NULL, settings ? settings->log_ctx : NULL};
  p->loop = loop;
  p->on_delivery = on_delivery;
  p->ctx = ctx;
  p->fds[0] = p->fds[1] = -1;
  p->transactional = settings && settings->transactional_id;
  int rc = kq__pipe_open(p->fds);
  if (rc != 0) {
    kq__set_err(err, err_len, "cannot create wake-up pipe");
    free(p);
    return rc;
  }
  /* A transactional producer takes turns with a second transactional.id
   * (kq_producer in kafka_loop_internal.h says why). */
  char second_id[256];
  const char *ids[KQ_TXN_CLIENTS] = {p->transactional ? settings->transactional_id : NULL};
  if (p->transactional) {
    snprintf(second_id, sizeof second_id, "%s%s", settings->transactional_id,
             KQ_TXN_SECOND_ID_SUFFIX);
    ids[1] = second_id;
  }
  int wanted = p->transactional ? KQ_TXN_CLIENTS : 1;
  for (int i = 0; i < wanted; i++) {
    rd_kafka_t *rk = NULL;
    rc = kq_client_new(p, settings, ids[i], &rk, err, err_len);
    if (rc != 0) {
      kq_clients_destroy(p);
      kq__pipe_close(p->fds);
      free(p);
      return rc;
    }
    p->clients[p->client_count] = rk;
    p->queues[p->client_count] = rd_kafka_queue_get_main(rk);
    /* Both clients wake the loop through the same pipe. */
    rd_kafka_queue_io_event_enable(p->queues[p->client_count], p->fds[1], "1", 1);
    p->client_count++;
  }
  if (p->transactional) p->txn_offsets = rd_kafka_topic_partition_list_new(8);
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
  /* In a transaction the commit settles the outputs, so the input waits for
   * none of them (its offset goes into the same transaction). */
  out->input = p->transactional ? NULL : (kq_in *)input;
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
  int rc = p->transactional ? kq_txn_begin(p) : 0;
  if (rc != 0) {
    free(out);
    return rc;
  }
  rc = kq_out_send(out);
  /* A full local queue empties as delivery reports are served; give it a
   * moment before giving up. */
  for (int i = 0; rc == RD_KAFKA_RESP_ERR__QUEUE_FULL && i < 20; i++) {
    rd_kafka_poll(kq_current(p), 10);
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
  kq__set_err(err, err_len, "fatal kafka producer error: %s", p->fatal_reason);
  return -EIO;
}

void kq_producer_close(kq_producer *p, int timeout_ms) {
  if (!p) return;
  uint64_t deadline = kq__now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
  kq__txn_commit(p); /* what the consumer's close left in the transaction */
  /* rd_kafka_flush serves delivery reports; retries are ours to send. */
  while (p->outstanding > 0 && !p->fatal) {
    uint64_t now = kq__now_ms();
    if (now >= deadline) break;
    kq_producer_retry_due(p);
    uint64_t left = deadline - now;
    for (int c = 0; c < p->client_count; c++)
      rd_kafka_flush(p->clients[c], left < KQ_TICK_MS ? (int)left : KQ_TICK_MS);
  }
  p->closing = true;
  /* Whatever is left fails: purged messages come back as delivery reports. */
  for (int c = 0; c < p->client_count; c++) {
    rd_kafka_t *rk = p->clients[c];
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    for (int i = 0; i < 100 && rd_kafka_outq_len(rk) > 0; i++) rd_kafka_poll(rk, 10);
    rd_kafka_poll(rk, 0);
  }
  kq_producer_retry_due(p);
  kq_clients_destroy(p);
  if (p->txn_offsets) rd_kafka_topic_partition_list_destroy(p->txn_offsets);
  uv_close((uv_handle_t *)&p->poll, kq_producer_handle_closed);
  uv_close((uv_handle_t *)&p->timer, kq_producer_handle_closed);
  kq__wait_handles_closed(p->loop, &p->handles_open);
  kq__pipe_close(p->fds);
  free(p);
}
