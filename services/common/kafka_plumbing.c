/* kafka_plumbing: librdkafka consumer and idempotent producer on a libuv loop,
 * with offsets stored only over the prefix of complete inputs (see
 * kafka_loop.h for the contract, kafka_offsets.c for the pure parts). This
 * file holds the plumbing both share; kafka_producer.c and kafka_consumer.c
 * the two handles.
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
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka_loop_internal.h"

__attribute__((format(printf, 3, 4))) void kq__set_err(char *err, size_t err_len,
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

int kq__pipe_open(int fds[2]) {
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return -errno;
  return 0;
}

void kq__pipe_drain(int fd) {
  char buf[256];
  while (read(fd, buf, sizeof(buf)) > 0) {
  }
}

void kq__pipe_close(int fds[2]) {
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0) {
      close(fds[i]);
      fds[i] = -1;
    }
}

uint64_t kq__now_ms(void) {
  return uv_hrtime() / 1000000u;
}

static int kq_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                       size_t err_len) {
  char errstr[256];
  if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    /* The value is left out: it may be a credential. */
    kq__set_err(err, err_len, "kafka property %s rejected", name);
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
rd_kafka_conf_t *kq__conf_new(const kq_settings *settings, const char *const *defaults,
                                    char *err, size_t err_len) {
  if (!settings || !settings->brokers || !*settings->brokers) {
    kq__set_err(err, err_len, "kafka brokers not set");
    return NULL;
  }
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  int rc = kq_conf_log(conf, settings, err, err_len);
  if (rc == 0) rc = kq_conf_set(conf, "bootstrap.servers", settings->brokers, err, err_len);
  if (rc == 0 && settings->client_id)
    rc = kq_conf_set(conf, "client.id", settings->client_id, err, err_len);
  if (rc == 0 && settings->security && ksec_conf_set(conf, settings->security, err, err_len))
    rc = -EINVAL;
  for (size_t i = 0; rc == 0 && defaults[i]; i += 2)
    rc = kq_conf_set(conf, defaults[i], defaults[i + 1], err, err_len);
  for (size_t i = 0; rc == 0 && settings->properties && settings->properties[i]; i += 2) {
    if (!settings->properties[i + 1]) {
      kq__set_err(err, err_len, "kafka property %s has no value", settings->properties[i]);
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
void kq__wait_handles_closed(uv_loop_t *loop, const int *handles_open) {
  while (*handles_open > 0) uv_run(loop, UV_RUN_NOWAIT);
}
void kq__error_common(rd_kafka_t *rk, int err, bool *connected, bool *fatal, char *reason,
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

