/* The commands of lindung-partner: keygen writes a key pair; link and scan
 * publish one request and wait for its answer (kq_producer to publish,
 * pcli_reader to read); results prints the partner's answers topic. A NIK
 * is never printed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "hex.h"
#include "json_write.h"
#include "kafka_loop.h"
#include "partner_cli.h"
#include "partner_kafka.h"
#include "service_clock.h"
#include "topics.h"

#define PCLI_POLL_MS 10

static double pcli_mono_ms(void) { return service_monotonic_s() * 1000.0; }

static int pcli_write_new_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return pcli_failure("cannot create %s: %s", path, strerror(errno));
  size_t len = strlen(text);
  bool ok = write(fd, text, len) == (ssize_t)len;
  ok = fsync(fd) == 0 && ok;
  ok = close(fd) == 0 && ok;
  if (!ok) {
    unlink(path);
    return pcli_failure("cannot write %s", path);
  }
  return 0;
}

int pcli_cmd_keygen(const pcli_args *args) {
  const char *dir = args->value[OPT_OUT_DIR];
  if (!dir) return pcli_usage_error("keygen", "--out-dir is required");
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return pcli_failure("cannot create %s: %s", dir, strerror(errno));
  char secret_path[4096], public_path[4096];
  snprintf(secret_path, sizeof(secret_path), "%s/secret.key", dir);
  snprintf(public_path, sizeof(public_path), "%s/public.hex", dir);
  if (access(secret_path, F_OK) == 0 || access(public_path, F_OK) == 0)
    return pcli_failure("%s already holds a key; refusing to overwrite it", dir);

  uint8_t pk[PARTNER_SDK_KEY_BYTES], sk[PARTNER_SDK_KEY_BYTES];
  char pk_hex[2 * PARTNER_SDK_KEY_BYTES + 2], sk_hex[2 * PARTNER_SDK_KEY_BYTES + 2];
  if (partner_sdk_keygen(pk, sk) != 0) return pcli_failure("key generation failed");
  hex_encode(sk, sizeof(sk), sk_hex);
  hex_encode(pk, sizeof(pk), pk_hex);
  strcat(sk_hex, "\n");
  strcat(pk_hex, "\n");
  int rc = pcli_write_new_file(secret_path, sk_hex, 0400);
  sodium_memzero(sk, sizeof(sk));
  sodium_memzero(sk_hex, sizeof(sk_hex));
  if (rc == 0) rc = pcli_write_new_file(public_path, pk_hex, 0644);
  if (rc != 0) return rc;
  fputs(pk_hex, stdout);
  return PCLI_OK;
}

/* --- link and scan ------------------------------------------------------- */

typedef struct pcli_delivery {
  bool done;
  int err;
} pcli_delivery;

static void pcli_on_delivery(void *ctx, void *opaque, int err) {
  (void)opaque;
  pcli_delivery *d = ctx;
  d->done = true;
  d->err = err;
}

/* Prints {"request_id":"..."} opening; the caller adds fields and "}". */
static void pcli_json_begin(const uint8_t request_id[16]) {
  char hex[33];
  hex_encode(request_id, 16, hex);
  printf("{\"request_id\":\"%s\"", hex);
}

static void pcli_json_detail_end(const char *detail) {
  if (detail) {
    fputs(",\"detail\":", stdout);
    json_write_fstring(stdout, detail);
  }
  fputs("}\n", stdout);
  fflush(stdout);
}

/* Publishes one request and waits for its answer on scan.results.<id>. */
static int pcli_exchange(const pcli_creds *c, const partner_sdk_request *request, int timeout_ms) {
  partner_sdk *sdk = NULL;
  int rc = pcli_open_sdk(c, &sdk);
  if (rc) return rc;
  uint8_t request_id[PARTNER_SDK_REQUEST_ID_BYTES], value[PARTNER_SDK_REQUEST_BUFFER];
  size_t value_len = 0;
  char err[512];
  if (partner_sdk_build_request(sdk, request, request_id, value, sizeof(value), &value_len, err,
                                sizeof(err)) != 0) {
    partner_sdk_close(sdk);
    return pcli_failure("cannot build the request: %s", err);
  }

  /* The producer first: librdkafka connects it in the background (and gets
   * the idempotent producer id) while the reader resolves its offsets. */
  uv_loop_t loop;
  uv_loop_init(&loop);
  pcli_delivery delivery = {false, 0};
  /* librdkafka looks up a topic first produced to after the producer has
   * connected only on its one-second timer; a short metadata refresh
   * interval lets the request leave within 50 ms instead. */
  static const char *const properties[] = {"topic.metadata.refresh.interval.ms", "50", NULL};
  kq_settings settings = {
      .brokers = c->brokers,
      .client_id = "lindung-partner",
      .security = &c->security,
      .properties = properties};
  kq_producer *producer = NULL;
  if (kq_producer_open(&loop, &settings, pcli_on_delivery, &delivery, &producer, err,
                       sizeof(err)) != 0) {
    uv_loop_close(&loop);
    partner_sdk_close(sdk);
    return pcli_failure("%s", err);
  }
  /* Reading starts before publishing, so the answer cannot slip past. */
  char topic[64];
  topics_scan_results(c->partner_id, topic, sizeof(topic));
  pcli_reader *reader = NULL;
  if (pcli_reader_open(c->brokers, &c->security, c->partner_id, topic, false, 10, &reader, err,
                       sizeof(err)) != 0) {
    kq_producer_close(producer, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    partner_sdk_close(sdk);
    return pcli_failure("%s", err);
  }

  double start = pcli_mono_ms();
  char requests_topic[PARTNER_KAFKA_TOPIC_MAX];
  partner_kafka_request_topic(c->partner_id, requests_topic, sizeof(requests_topic));
  int produce_rc = kq_produce(producer, NULL, requests_topic, request_id, sizeof(request_id), value,
                              value_len, NULL);
  sodium_memzero(value, sizeof(value));
  rc = -1;
  if (produce_rc != 0) {
    pcli_json_begin(request_id);
    fputs(",\"error\":\"NOT_DELIVERED\"", stdout);
    pcli_json_detail_end(strerror(-produce_rc));
    rc = PCLI_FAILURE;
  }
  while (rc < 0) {
    uv_run(&loop, UV_RUN_NOWAIT);
    if (delivery.done && delivery.err != 0) {
      pcli_json_begin(request_id);
      fputs(",\"error\":\"NOT_DELIVERED\"", stdout);
      pcli_json_detail_end(kq_err2str(delivery.err));
      rc = PCLI_FAILURE;
      break;
    }
    rd_kafka_message_t *msg = pcli_reader_poll(reader, PCLI_POLL_MS);
    if (msg) {
      if (msg->key_len == sizeof(request_id) && memcmp(msg->key, request_id, 16) == 0) {
        double latency = pcli_mono_ms() - start;
        partner_sdk_response response;
        int open_rc =
            partner_sdk_open_response(sdk, msg->payload, msg->len, &response, err, sizeof(err));
        if (open_rc >= 0 && memcmp(response.request_id, request_id, 16) != 0) {
          snprintf(err, sizeof(err), "answer names another request id than its Kafka key");
          open_rc = PARTNER_SDK_EDECODE;
        }
        pcli_json_begin(request_id);
        pcli_json_response_fields(stdout, &response, open_rc);
        printf(",\"latency_ms\":%.3f", latency);
        pcli_json_detail_end(open_rc < 0 ? err : NULL);
        sodium_memzero(&response, sizeof(response));
        rc = open_rc == 0 ? PCLI_OK : open_rc > 0 ? PCLI_ANSWERED_ERROR : PCLI_FAILURE;
      }
      rd_kafka_message_destroy(msg);
    }
    if (rc < 0 && pcli_mono_ms() - start >= timeout_ms) {
      char detail[96];
      snprintf(detail, sizeof(detail), "no answer within %.1f s%s", timeout_ms / 1000.0,
               delivery.done ? "" : " (the request was not acknowledged by Kafka either)");
      pcli_json_begin(request_id);
      fputs(",\"error\":\"TIMEOUT\"", stdout);
      pcli_json_detail_end(detail);
      rc = PCLI_NO_ANSWER;
    }
  }
  pcli_reader_close(reader);
  kq_producer_close(producer, 2000);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  partner_sdk_close(sdk);
  return rc;
}

/* The timeout and the credentials every command that talks to Kafka needs. */
static int pcli_prepare(const char *command, const pcli_args *args, int *timeout_ms,
                        pcli_creds *creds) {
  int rc = pcli_timeout_ms(args, command, timeout_ms);
  return rc ? rc : pcli_resolve(command, args, creds);
}

int pcli_cmd_link(const pcli_args *args) {
  const char *nik = args->value[OPT_NIK];
  if (!nik) return pcli_usage_error("link", "--nik is required");
  if (!pcli_valid_nik(nik)) return pcli_usage_error("link", "--nik must be exactly 16 digits");
  int timeout_ms;
  pcli_creds creds;
  int rc = pcli_prepare("link", args, &timeout_ms, &creds);
  partner_sdk_request request = {.kind = PARTNER_SDK_KIND_LINK, .nik = nik};
  return rc ? rc : pcli_exchange(&creds, &request, timeout_ms);
}

int pcli_cmd_scan(const pcli_args *args) {
  const char *token = args->value[OPT_TOKEN], *venue = args->value[OPT_VENUE];
  if (!token) return pcli_usage_error("scan", "--token is required");
  if (!pcli_printable(token, PARTNER_SDK_MAX_TOKEN))
    return pcli_usage_error("scan", "--token must be 1 to 64 printable ASCII characters");
  if (!venue) return pcli_usage_error("scan", "--venue is required");
  if (!pcli_printable(venue, 64))
    return pcli_usage_error("scan", "--venue must be 1 to 64 printable ASCII characters");
  uint64_t scanned_at = service_now_ms();
  if (args->value[OPT_SCANNED_AT_MS] &&
      !pcli_parse_u64(args->value[OPT_SCANNED_AT_MS], &scanned_at))
    return pcli_usage_error("scan", "--scanned-at-ms must be a number of milliseconds");
  int timeout_ms;
  pcli_creds creds;
  int rc = pcli_prepare("scan", args, &timeout_ms, &creds);
  if (rc) return rc;
  partner_sdk_request request = {
      .kind = PARTNER_SDK_KIND_SCAN,
      .token = token,
      .venue_id = venue,
      .scanned_at_ms = scanned_at,
      .action = args->flag[OPT_CHECK_OUT] ? PARTNER_SDK_CHECK_OUT : PARTNER_SDK_CHECK_IN,
  };
  return pcli_exchange(&creds, &request, timeout_ms);
}

/* --- results ------------------------------------------------------------- */

static volatile sig_atomic_t pcli_stop;

static void pcli_on_signal(int signo) {
  (void)signo;
  pcli_stop = 1;
}

static void pcli_print_result(const partner_sdk *sdk, const rd_kafka_message_t *msg) {
  partner_sdk_response response;
  char err[512];
  int rc = partner_sdk_open_response(sdk, msg->payload, msg->len, &response, err, sizeof(err));
  uint8_t zero[16] = {0};
  const uint8_t *id = response.request_id;
  /* A value that did not get as far as its request id: show the key. */
  if (rc < 0 && memcmp(id, zero, 16) == 0 && msg->key_len == 16) id = msg->key;
  pcli_json_begin(id);
  printf(",\"partition\":%d,\"offset\":%lld", (int)msg->partition, (long long)msg->offset);
  if (rc >= 0) printf(",\"created_at_ms\":%llu", (unsigned long long)response.created_at_ms);
  pcli_json_response_fields(stdout, &response, rc);
  if (rc < 0) {
    char detail[600];
    snprintf(detail, sizeof(detail), "%s: %s", partner_sdk_strerror(rc), err);
    pcli_json_detail_end(detail);
  } else {
    pcli_json_detail_end(NULL);
  }
  sodium_memzero(&response, sizeof(response));
}

int pcli_cmd_results(const pcli_args *args) {
  int timeout_ms;
  pcli_creds creds;
  int rc = pcli_prepare("results", args, &timeout_ms, &creds);
  if (rc) return rc;
  partner_sdk *sdk = NULL;
  rc = pcli_open_sdk(&creds, &sdk);
  if (rc) return rc;
  char topic[64], err[512];
  topics_scan_results(creds.partner_id, topic, sizeof(topic));
  pcli_reader *reader = NULL;
  if (pcli_reader_open(creds.brokers, &creds.security, creds.partner_id, topic,
                       args->flag[OPT_FROM_BEGINNING], 500, &reader, err,
                       sizeof(err)) != 0) {
    partner_sdk_close(sdk);
    return pcli_failure("%s", err);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = pcli_on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  bool follow = args->flag[OPT_FOLLOW];
  double last_progress = pcli_mono_ms();
  rc = PCLI_OK;
  while (!pcli_stop) {
    rd_kafka_message_t *msg = pcli_reader_poll(reader, 100);
    if (msg) {
      pcli_print_result(sdk, msg);
      rd_kafka_message_destroy(msg);
      last_progress = pcli_mono_ms();
      continue;
    }
    if (follow) continue;
    if (pcli_reader_at_end(reader)) break;
    if (pcli_mono_ms() - last_progress >= timeout_ms) {
      (void)pcli_failure("did not reach the end of %s within %.1f s", topic, timeout_ms / 1000.0);
      rc = PCLI_NO_ANSWER;
      break;
    }
  }
  pcli_reader_close(reader);
  partner_sdk_close(sdk);
  return rc;
}
