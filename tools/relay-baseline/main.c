/* lindung-relay: the transport limit the scan path is compared to.
 *
 * A relay chain over the same broker with as many hops as the scan path:
 * a source publishes to <prefix>.0, relay i consumes <prefix>.(i-1) and
 * produces <prefix>.i without doing any work, and a sink reads the last
 * topic. Source and sink are one partner-like client (partner_kafka, as the
 * load generator uses); every relay is its own process on the services'
 * Kafka loop (kafka_loop.h) with the services' consumer settings, and
 * resizes each value to the size of the scan-path message at that hop, so
 * the only difference to the pipeline is the work the services do. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "kafka_loop.h"
#include "latency_histogram.h"
#include "loadgen_cpu.h"
#include "loadgen_pending.h"
#include "partner_kafka.h"

#define RELAY_MAX_HOPS 8
#define RELAY_MAX_SECONDS 3600
#define RELAY_MAX_VALUE 4096
#define RELAY_ID_LEN 16

typedef struct relay_options {
  const char *brokers, *prefix, *json_path, *cpu_run_dir;
  kafka_security security;
  unsigned hops, concurrency, timeout_ms;
  size_t sizes[RELAY_MAX_HOPS + 1];
  double rate, duration_s;
  bool quiet;
} relay_options;

static relay_options opt = {.prefix = "bench.relay", .hops = 3, .concurrency = 512,
                            .timeout_ms = 10000, .duration_s = 10,
                            /* Medians of scan.requests, scan.accepted, scan.decrypted and
                             * scan.results.* values on the scan path. */
                            .sizes = {160, 175, 616, 120}};
static volatile sig_atomic_t interrupted;

static uint64_t relay_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The relays this process started (pids; 0 once reaped). */
static pid_t children[RELAY_MAX_HOPS];

/* Stops the relays this process started, so none outlives a failed run. */
static void relay_stop_children(void) {
  for (unsigned i = 0; i < RELAY_MAX_HOPS; i++)
    if (children[i] > 0) kill(children[i], SIGTERM);
  for (unsigned i = 0; i < RELAY_MAX_HOPS; i++)
    if (children[i] > 0) waitpid(children[i], NULL, 0);
}

static void relay_die(const char *what) {
  fprintf(stderr, "lindung-relay: %s\n", what);
  relay_stop_children();
  exit(1);
}

/* ---- one relay (a child process) ---- */

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

static int relay_run_hop(const char *from, const char *to, size_t size, const char *group) {
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
      .brokers = opt.brokers, .client_id = group, .security = &opt.security};
  if (kq_producer_open(hop.loop, &producer_settings, NULL, NULL, &hop.producer, err, sizeof err))
    relay_die(err);
  const char *topics[] = {from, NULL};
  kq_consumer_settings consumer_settings = {
      .kafka = {.brokers = opt.brokers,
                .client_id = group,
                .security = &opt.security,
                .properties = properties},
      .group_id = group,
      .topics = topics,
      .max_batch = 500,
      .max_in_flight = 4000,
      .auto_offset_reset = "latest",
  };
  if (kq_consumer_open(hop.loop, &consumer_settings, hop.producer, relay_on_batch, &hop,
                       &hop.consumer, err, sizeof err))
    relay_die(err);
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

/* ---- source and sink (the parent) ---- */

static partner_kafka *kafka;
static loadgen_pending *pending;
static latency_histogram latency;
static uint64_t sent, received, lost, phase_start_us;
static uint64_t per_second[RELAY_MAX_SECONDS], sent_per_second[RELAY_MAX_SECONDS];
static bool measuring;
static char first_topic[128];
static loadgen_cpu cpu;

static void relay_send_one(void) {
  loadgen_request *r = loadgen_pending_add(pending);
  if (!r) return;
  uint8_t value[RELAY_MAX_VALUE] = {0};
  randombytes_buf(r->request_id, RELAY_ID_LEN);
  memcpy(value, r->request_id, RELAY_ID_LEN);
  r->sent_us = relay_now_us();
  if (partner_kafka_send_raw(kafka, first_topic, r->request_id, RELAY_ID_LEN, value, opt.sizes[0]))
    relay_die("cannot publish to the first relay topic");
  loadgen_pending_add_done(pending, r);
  if (measuring) {
    sent++;
    uint64_t second = (r->sent_us - phase_start_us) / 1000000u;
    if (second < RELAY_MAX_SECONDS) sent_per_second[second]++;
  }
}

static void relay_on_sink(const char *topic, const void *key, size_t key_len, const void *value,
                          size_t len) {
  (void)topic;
  (void)value;
  (void)len;
  if (key_len != RELAY_ID_LEN) return;
  loadgen_request *r = loadgen_pending_find(pending, key);
  if (!r) return; /* a duplicate, or a message of an earlier run */
  uint64_t now = relay_now_us();
  if (measuring && r->sent_us >= phase_start_us) {
    latency_histogram_record(&latency, now - r->sent_us);
    received++;
    uint64_t second = (now - phase_start_us) / 1000000u;
    if (second < RELAY_MAX_SECONDS) per_second[second]++;
  }
  loadgen_pending_remove(pending, r);
}

static void relay_expire(uint64_t now) {
  uint64_t cutoff = now > (uint64_t)opt.timeout_ms * 1000u ? now - (uint64_t)opt.timeout_ms * 1000u : 0;
  loadgen_request *r;
  while ((r = loadgen_pending_oldest_before(pending, cutoff))) {
    if (measuring && r->sent_us >= phase_start_us) lost++;
    loadgen_pending_remove(pending, r);
  }
}

static void relay_pump(int wait_ms) {
  partner_kafka_poll(kafka, wait_ms, relay_on_sink);
  relay_expire(relay_now_us());
}

static void relay_check_children(void) {
  for (unsigned i = 0; i < opt.hops; i++) {
    int status;
    if (children[i] > 0 && waitpid(children[i], &status, WNOHANG) == children[i]) {
      children[i] = 0;
      relay_die("a relay process exited");
    }
  }
}

/* Sends a message now and then until one comes through the whole chain:
 * then every relay has joined its group and is assigned its partitions. */
static void relay_warm_up(void) {
  uint64_t start = relay_now_us(), last_send = 0;
  while (!interrupted) {
    uint64_t now = relay_now_us();
    if (now - start > 60u * 1000000u) relay_die("the relay chain did not start within 60 s");
    if (now - last_send > 200000u) {
      relay_send_one();
      last_send = now;
      relay_check_children();
    }
    uint64_t before = loadgen_pending_count(pending);
    partner_kafka_poll(kafka, 20, relay_on_sink);
    if (loadgen_pending_count(pending) < before) break;
  }
  /* Let stragglers of the warm-up through, then forget the rest. */
  uint64_t settle = relay_now_us() + 1000000u;
  while (relay_now_us() < settle && !interrupted) relay_pump(10);
  relay_expire(UINT64_MAX / 2);
  if (!opt.quiet)
    fprintf(stderr, "lindung-relay: chain of %u relays up after %.2f s\n", opt.hops,
            (double)(relay_now_us() - start) / 1e6);
}

static double relay_measure(void) {
  if (opt.cpu_run_dir) loadgen_cpu_start(&cpu);
  measuring = true;
  phase_start_us = relay_now_us();
  uint64_t end = phase_start_us + (uint64_t)(opt.duration_s * 1e6);
  uint64_t next_send = phase_start_us, last_progress = phase_start_us;
  while (!interrupted) {
    uint64_t now = relay_now_us();
    if (now >= end) break;
    if (opt.rate > 0) {
      while (next_send <= now) {
        relay_send_one();
        double u = (randombytes_uniform(1u << 30) + 1.0) / (double)(1u << 30);
        next_send += (uint64_t)(-log(u) / opt.rate * 1e6);
      }
      /* No spinning: sub-millisecond gaps are slept, longer ones polled. */
      uint64_t gap = next_send > now ? next_send - now : 0;
      if (gap >= 1000u) {
        relay_pump(gap >= 3000u ? 2 : (int)(gap / 1000u));
      } else {
        relay_pump(0);
        uint64_t after = relay_now_us();
        if (next_send > after) {
          struct timespec ts = {0, (long)(next_send - after) * 1000L};
          nanosleep(&ts, NULL);
        }
      }
    } else {
      while (loadgen_pending_count(pending) < opt.concurrency) relay_send_one();
      relay_pump(1);
    }
    if (!opt.quiet && now - last_progress >= 1000000u) {
      last_progress = now;
      fprintf(stderr, "lindung-relay: %.0f s: %" PRIu64 " through, %zu in flight\n",
              (double)(now - phase_start_us) / 1e6, received, loadgen_pending_count(pending));
      relay_check_children();
    }
  }
  double elapsed = (double)(relay_now_us() - phase_start_us) / 1e6;
  uint64_t drain_end = relay_now_us() + (uint64_t)opt.timeout_ms * 1000u;
  while (loadgen_pending_count(pending) && relay_now_us() < drain_end && !interrupted) relay_pump(5);
  relay_expire(UINT64_MAX / 2);
  if (opt.cpu_run_dir) loadgen_cpu_stop(&cpu);
  return elapsed;
}

static void relay_write_json(double elapsed, double relay_cpu_s) {
  FILE *out = fopen(opt.json_path, "w");
  if (!out) relay_die("cannot write the --json file");
  fprintf(out,
          "{\"hops\":%u,\"mode\":\"%s\",\"rate\":%.0f,\"concurrency\":%u,\"duration_s\":%.3f,"
          "\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"lost\":%" PRIu64
          ",\"msgs_per_s\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
          "\"max_ms\":%.3f,\"relay_cpu_ms_per_1000_msgs\":%.1f,\"value_sizes\":[",
          opt.hops, opt.rate > 0 ? "open" : "closed", opt.rate, opt.concurrency, elapsed, sent,
          received, lost, (double)received / elapsed, latency_histogram_quantile(&latency, 0.5) / 1000.0,
          latency_histogram_quantile(&latency, 0.9) / 1000.0,
          latency_histogram_quantile(&latency, 0.99) / 1000.0,
          latency_histogram_quantile(&latency, 0.999) / 1000.0, latency.max_us / 1000.0,
          received ? relay_cpu_s * 1e6 / (double)received : 0.0);
  for (unsigned i = 0; i <= opt.hops; i++) fprintf(out, "%s%zu", i ? "," : "", opt.sizes[i]);
  fprintf(out, "],\"per_second\":[");
  size_t seconds = (size_t)ceil(elapsed);
  for (size_t s = 0; s < seconds && s < RELAY_MAX_SECONDS; s++)
    fprintf(out, "%s%" PRIu64, s ? "," : "", per_second[s]);
  fprintf(out, "],\"sent_per_second\":[");
  for (size_t s = 0; s < seconds && s < RELAY_MAX_SECONDS; s++)
    fprintf(out, "%s%" PRIu64, s ? "," : "", sent_per_second[s]);
  fprintf(out, "]");
  if (opt.cpu_run_dir) {
    fprintf(out, ",");
    loadgen_cpu_write_json(&cpu, out);
  }
  fprintf(out, "}\n");
  fclose(out);
}

/* ---- options ---- */

static void relay_usage(FILE *out) {
  fprintf(out,
          "usage: lindung-relay [options]\n\n"
          "The bare relay chain: source -> N relays (consume and produce, no work) -> sink,\n"
          "over the same broker and Kafka loop code as the scan path. Its throughput is the\n"
          "transport limit the pipeline is compared to.\n\n"
          "options:\n"
          "  --hops N           relays in the chain (default 3, as the scan path)\n"
          "  --duration S       seconds of measuring (default 10)\n"
          "  --rate R           open loop: R messages/s, Poisson arrivals\n"
          "  --concurrency C    closed loop (no --rate): C messages in flight (default 512)\n"
          "  --sizes a,b,...    value bytes published by the source and by each relay\n"
          "                     (default 160,175,616,120: the scan path's messages)\n"
          "  --prefix P         topics P.0 .. P.N (default bench.relay)\n"
          "  --timeout-ms T     a message later than this counts as lost (default 10000)\n"
          "  --json FILE        write a JSON summary\n"
          "  --cpu-pids DIR     sample the CPU time of the relays and of the stack in DIR\n"
          "                     (pids/*.pid, PostgreSQL) while measuring, into the JSON\n"
          "  --quiet            no progress lines\n\n"
          "environment: LINDUNG_KAFKA_BROKERS, LINDUNG_KAFKA_FETCH_WAIT_MS (relays; default 10\n"
          "as the services). Topics missing on the broker are created on demand (a broker\n"
          "creating them with its default partition count).\n");
}

static void relay_parse_sizes(const char *text) {
  char *copy = strdup(text), *save = NULL;
  unsigned i = 0;
  for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    unsigned long size = strtoul(item, NULL, 10);
    if (i > RELAY_MAX_HOPS || size < RELAY_ID_LEN || size > RELAY_MAX_VALUE)
      relay_die("--sizes: each from 16 to 4096 bytes, at most one per hop plus one");
    opt.sizes[i++] = size;
  }
  free(copy);
  /* Hops without a size of their own keep the last one given. */
  for (; i > 0 && i <= RELAY_MAX_HOPS; i++) opt.sizes[i] = opt.sizes[i - 1];
}

static void relay_parse_options(int argc, char **argv) {
  static const struct option longs[] = {
      {"hops", 1, 0, 'n'},    {"duration", 1, 0, 'd'},   {"rate", 1, 0, 'r'},
      {"concurrency", 1, 0, 'c'}, {"sizes", 1, 0, 's'}, {"prefix", 1, 0, 'p'},
      {"timeout-ms", 1, 0, 't'}, {"json", 1, 0, 'j'},   {"quiet", 0, 0, 'q'},
      {"cpu-pids", 1, 0, 'C'},
      {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    switch (c) {
      case 'n': opt.hops = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'd': opt.duration_s = strtod(optarg, NULL); break;
      case 'r': opt.rate = strtod(optarg, NULL); break;
      case 'c': opt.concurrency = (unsigned)strtoul(optarg, NULL, 10); break;
      case 's': relay_parse_sizes(optarg); break;
      case 'p': opt.prefix = optarg; break;
      case 't': opt.timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'j': opt.json_path = optarg; break;
      case 'q': opt.quiet = true; break;
      case 'C': opt.cpu_run_dir = optarg; break;
      case 'h': relay_usage(stdout); exit(0);
      default: relay_usage(stderr); exit(2);
    }
  }
  if (optind < argc || opt.hops < 1 || opt.hops > RELAY_MAX_HOPS || opt.concurrency == 0 ||
      opt.duration_s <= 0 || opt.duration_s > RELAY_MAX_SECONDS || opt.rate < 0 ||
      strlen(opt.prefix) > 100) {
    fprintf(stderr, "lindung-relay: bad arguments (see --help)\n");
    exit(2);
  }
  for (unsigned i = 1; i <= opt.hops; i++)
    if (!opt.sizes[i]) opt.sizes[i] = opt.sizes[i - 1];
}

static void relay_on_signal_parent(int signum) {
  (void)signum;
  interrupted = 1;
}

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  opt.brokers = getenv("LINDUNG_KAFKA_BROKERS");
  if (!opt.brokers || !*opt.brokers) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
      relay_usage(stdout);
      return 0;
    }
    fprintf(stderr, "lindung-relay: LINDUNG_KAFKA_BROKERS is required (source .run/stack.env)\n");
    return 2;
  }
  char security_err[256];
  if (ksec_load_env(&opt.security, security_err, sizeof security_err)) {
    fprintf(stderr, "lindung-relay: %s\n", security_err);
    return 2;
  }
  /* Internal: a relay process, started by the parent below. */
  if (argc == 6 && !strcmp(argv[1], "--run-relay"))
    return relay_run_hop(argv[2], argv[3], strtoul(argv[4], NULL, 10), argv[5]);

  relay_parse_options(argc, argv);
  if (sodium_init() < 0) relay_die("libsodium failed to start");
  char topics[RELAY_MAX_HOPS + 1][128];
  const char *topic_list[RELAY_MAX_HOPS + 1];
  for (unsigned i = 0; i <= opt.hops; i++) {
    snprintf(topics[i], sizeof topics[i], "%s.%u", opt.prefix, i);
    topic_list[i] = topics[i];
  }
  snprintf(first_topic, sizeof first_topic, "%s", topics[0]);
  char err[512];
  if (partner_kafka_ensure_topics(opt.brokers, &opt.security, topic_list, opt.hops + 1, err, sizeof err))
    relay_die(err);

  signal(SIGINT, relay_on_signal_parent);
  signal(SIGTERM, relay_on_signal_parent);
  for (unsigned i = 0; i < opt.hops; i++) {
    char size[32], group[160];
    snprintf(size, sizeof size, "%zu", opt.sizes[i + 1]);
    /* A new group per run: no offsets of an earlier run to resume from. */
    snprintf(group, sizeof group, "lindung-relay-%u-%ld-%ld", i + 1, (long)getpid(),
             (long)time(NULL));
    pid_t pid = fork();
    if (pid < 0) relay_die("fork failed");
    if (pid == 0) {
      execl("/proc/self/exe", argv[0], "--run-relay", topics[i], topics[i + 1], size, group,
            (char *)NULL);
      _exit(127);
    }
    children[i] = pid;
  }
  if (opt.cpu_run_dir) {
    loadgen_cpu_init(&cpu, opt.cpu_run_dir);
    for (unsigned i = 0; i < opt.hops; i++) {
      char name[32];
      snprintf(name, sizeof name, "relay-%u", i + 1);
      loadgen_cpu_watch(&cpu, name, children[i]);
    }
  }

  pending = loadgen_pending_new(opt.concurrency > 65536 ? opt.concurrency * 2 : 131072);
  const char *sink_topics[] = {topics[opt.hops]};
  kafka = partner_kafka_open(opt.brokers, &opt.security, sink_topics, 1, err, sizeof err);
  if (!kafka) relay_die(err);
  latency_histogram_reset(&latency);
  relay_warm_up();
  double elapsed = relay_measure();

  for (unsigned i = 0; i < opt.hops; i++)
    if (children[i] > 0) kill(children[i], SIGTERM);
  for (unsigned i = 0; i < opt.hops; i++)
    if (children[i] > 0) waitpid(children[i], NULL, 0);
  struct rusage usage;
  getrusage(RUSAGE_CHILDREN, &usage);
  double relay_cpu_s = (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
                       (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
  if (opt.json_path) relay_write_json(elapsed, relay_cpu_s);
  fprintf(stderr,
          "lindung-relay: %" PRIu64 " messages through %u relays in %.2f s (%.0f/s), p50 %.2f ms, "
          "p99 %.2f ms, p99.9 %.2f ms; lost %" PRIu64 "\n",
          received, opt.hops, elapsed, (double)received / elapsed,
          latency_histogram_quantile(&latency, 0.5) / 1000.0,
          latency_histogram_quantile(&latency, 0.99) / 1000.0,
          latency_histogram_quantile(&latency, 0.999) / 1000.0, lost);
  partner_kafka_close(kafka);
  loadgen_pending_free(pending);
  return interrupted ? 130 : lost ? 1 : 0;
}
