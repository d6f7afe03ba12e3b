/* relay_chain: the parent of lindung-relay: the source that publishes to
 * <prefix>.0 and the sink that reads <prefix>.<hops>, one partner-like
 * client (partner_kafka, as the load generator uses), around relays it
 * starts as child processes. Open loop (Poisson arrivals, loadgen_pace) or
 * closed loop, as lindung-loadgen drives the scan path. */
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

#include "latency_histogram.h"
#include "loadgen_cpu.h"
#include "loadgen_pace.h"
#include "loadgen_pending.h"
#include "partner_kafka.h"
#include "relay.h"

static const relay_options *opt;
static volatile sig_atomic_t interrupted;

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
  r->sent_us = loadgen_now_us();
  if (partner_kafka_send_raw(kafka, first_topic, r->request_id, RELAY_ID_LEN, value, opt->sizes[0]))
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
  uint64_t now = loadgen_now_us();
  if (measuring && r->sent_us >= phase_start_us) {
    latency_histogram_record(&latency, now - r->sent_us);
    received++;
    uint64_t second = (now - phase_start_us) / 1000000u;
    if (second < RELAY_MAX_SECONDS) per_second[second]++;
  }
  loadgen_pending_remove(pending, r);
}

static void relay_expire(uint64_t now) {
  uint64_t cutoff = now > (uint64_t)opt->timeout_ms * 1000u ? now - (uint64_t)opt->timeout_ms * 1000u : 0;
  loadgen_request *r;
  while ((r = loadgen_pending_oldest_before(pending, cutoff))) {
    if (measuring && r->sent_us >= phase_start_us) lost++;
    loadgen_pending_remove(pending, r);
  }
}

static void relay_pump(int wait_ms) {
  partner_kafka_poll(kafka, wait_ms, relay_on_sink);
  relay_expire(loadgen_now_us());
}

static void relay_check_children(void) {
  for (unsigned i = 0; i < opt->hops; i++) {
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
  uint64_t start = loadgen_now_us(), last_send = 0;
  while (!interrupted) {
    uint64_t now = loadgen_now_us();
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
  uint64_t settle = loadgen_now_us() + 1000000u;
  while (loadgen_now_us() < settle && !interrupted) relay_pump(10);
  relay_expire(UINT64_MAX / 2);
  if (!opt->quiet)
    fprintf(stderr, "lindung-relay: chain of %u relays up after %.2f s\n", opt->hops,
            (double)(loadgen_now_us() - start) / 1e6);
}

static double relay_measure(void) {
  if (opt->cpu_run_dir) loadgen_cpu_start(&cpu);
  measuring = true;
  phase_start_us = loadgen_now_us();
  uint64_t end = phase_start_us + (uint64_t)(opt->duration_s * 1e6);
  uint64_t next_send = phase_start_us, last_progress = phase_start_us;
  while (!interrupted) {
    uint64_t now = loadgen_now_us();
    if (now >= end) break;
    if (opt->rate > 0) {
      while (next_send <= now) {
        relay_send_one();
        next_send += loadgen_poisson_gap_us(opt->rate);
      }
      loadgen_wait_until(next_send, relay_pump);
    } else {
      while (loadgen_pending_count(pending) < opt->concurrency) relay_send_one();
      relay_pump(1);
    }
    if (!opt->quiet && now - last_progress >= 1000000u) {
      last_progress = now;
      fprintf(stderr, "lindung-relay: %.0f s: %" PRIu64 " through, %zu in flight\n",
              (double)(now - phase_start_us) / 1e6, received, loadgen_pending_count(pending));
      relay_check_children();
    }
  }
  double elapsed = (double)(loadgen_now_us() - phase_start_us) / 1e6;
  uint64_t drain_end = loadgen_now_us() + (uint64_t)opt->timeout_ms * 1000u;
  while (loadgen_pending_count(pending) && loadgen_now_us() < drain_end && !interrupted) relay_pump(5);
  relay_expire(UINT64_MAX / 2);
  if (opt->cpu_run_dir) loadgen_cpu_stop(&cpu);
  return elapsed;
}

static void relay_write_json(double elapsed, double relay_cpu_s) {
  FILE *out = fopen(opt->json_path, "w");
  if (!out) relay_die("cannot write the --json file");
  fprintf(out,
          "{\"hops\":%u,\"mode\":\"%s\",\"rate\":%.0f,\"concurrency\":%u,\"duration_s\":%.3f,"
          "\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"lost\":%" PRIu64
          ",\"msgs_per_s\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
          "\"max_ms\":%.3f,\"relay_cpu_ms_per_1000_msgs\":%.1f,\"value_sizes\":[",
          opt->hops, opt->rate > 0 ? "open" : "closed", opt->rate, opt->concurrency, elapsed, sent,
          received, lost, (double)received / elapsed, latency_histogram_quantile(&latency, 0.5) / 1000.0,
          latency_histogram_quantile(&latency, 0.9) / 1000.0,
          latency_histogram_quantile(&latency, 0.99) / 1000.0,
          latency_histogram_quantile(&latency, 0.999) / 1000.0, latency.max_us / 1000.0,
          received ? relay_cpu_s * 1e6 / (double)received : 0.0);
  for (unsigned i = 0; i <= opt->hops; i++) fprintf(out, "%s%zu", i ? "," : "", opt->sizes[i]);
  fprintf(out, "],\"per_second\":[");
  size_t seconds = (size_t)ceil(elapsed);
  for (size_t s = 0; s < seconds && s < RELAY_MAX_SECONDS; s++)
    fprintf(out, "%s%" PRIu64, s ? "," : "", per_second[s]);
  fprintf(out, "],\"sent_per_second\":[");
  for (size_t s = 0; s < seconds && s < RELAY_MAX_SECONDS; s++)
    fprintf(out, "%s%" PRIu64, s ? "," : "", sent_per_second[s]);
  fprintf(out, "]");
  if (opt->cpu_run_dir) {
    fprintf(out, ",");
    loadgen_cpu_write_json(&cpu, out);
  }
  fprintf(out, "}\n");
  fclose(out);
}

static void relay_on_signal_parent(int signum) {
  (void)signum;
  interrupted = 1;
}

int relay_chain_run(const relay_options *options, const char *self) {
  opt = options;
  char topics[RELAY_MAX_HOPS + 1][128];
  const char *topic_list[RELAY_MAX_HOPS + 1];
  for (unsigned i = 0; i <= opt->hops; i++) {
    snprintf(topics[i], sizeof topics[i], "%s.%u", opt->prefix, i);
    topic_list[i] = topics[i];
  }
  snprintf(first_topic, sizeof first_topic, "%s", topics[0]);
  char err[512];
  if (partner_kafka_ensure_topics(opt->brokers, &opt->security, topic_list, opt->hops + 1, err, sizeof err))
    relay_die(err);

  signal(SIGINT, relay_on_signal_parent);
  signal(SIGTERM, relay_on_signal_parent);
  for (unsigned i = 0; i < opt->hops; i++) {
    char size[32], group[160];
    snprintf(size, sizeof size, "%zu", opt->sizes[i + 1]);
    /* A new group per run: no offsets of an earlier run to resume from. */
    snprintf(group, sizeof group, "lindung-relay-%u-%ld-%ld", i + 1, (long)getpid(),
             (long)time(NULL));
    pid_t pid = fork();
    if (pid < 0) relay_die("fork failed");
    if (pid == 0) {
      execl("/proc/self/exe", self, "--run-relay", topics[i], topics[i + 1], size, group,
            (char *)NULL);
      _exit(127);
    }
    children[i] = pid;
  }
  if (opt->cpu_run_dir) {
    loadgen_cpu_init(&cpu, opt->cpu_run_dir);
    for (unsigned i = 0; i < opt->hops; i++) {
      char name[32];
      snprintf(name, sizeof name, "relay-%u", i + 1);
      loadgen_cpu_watch(&cpu, name, children[i]);
    }
  }

  pending = loadgen_pending_new(opt->concurrency > 65536 ? opt->concurrency * 2 : 131072);
  const char *sink_topics[] = {topics[opt->hops]};
  kafka = partner_kafka_open(opt->brokers, &opt->security, sink_topics, 1, err, sizeof err);
  if (!kafka) relay_die(err);
  latency_histogram_reset(&latency);
  relay_warm_up();
  double elapsed = relay_measure();

  relay_stop_children();
  struct rusage usage;
  getrusage(RUSAGE_CHILDREN, &usage);
  double relay_cpu_s = (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
                       (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
  if (opt->json_path) relay_write_json(elapsed, relay_cpu_s);
  fprintf(stderr,
          "lindung-relay: %" PRIu64 " messages through %u relays in %.2f s (%.0f/s), p50 %.2f ms, "
          "p99 %.2f ms, p99.9 %.2f ms; lost %" PRIu64 "\n",
          received, opt->hops, elapsed, (double)received / elapsed,
          latency_histogram_quantile(&latency, 0.5) / 1000.0,
          latency_histogram_quantile(&latency, 0.99) / 1000.0,
          latency_histogram_quantile(&latency, 0.999) / 1000.0, lost);
  partner_kafka_close(kafka);
  loadgen_pending_free(pending);
  return interrupted ? 130 : lost ? 1 : 0;
}
