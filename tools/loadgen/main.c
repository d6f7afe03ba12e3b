/* lindung-loadgen: simulates the partner apps against a running Lindung.
 *
 * Each partner (default: every partner under $LINDUNG_RUN_DIR/partners)
 * first links a sample of the seeded people, then sends scans with a mix
 * of colours, venues, check-ins and check-outs, open loop at a fixed rate
 * (Poisson arrivals) or closed loop at a fixed concurrency. Every answer is
 * decrypted and checked against what the seeded data says it must be;
 * latency runs from publish to decrypted verdict. Talks to Kafka like any
 * partner would, with a plain librdkafka client. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "latency_histogram.h"
#include "loadgen_cpu.h"
#include "loadgen_expect.h"
#include "partner_kafka.h"
#include "loadgen_pending.h"
#include "partner_sdk.h"
#include "topics.h"

#define MAX_PARTNERS 64
#define MAX_SECONDS 3600
#define ERROR_CODES 14

typedef struct person {
  char nik[17];
  loadgen_colour colour;
} person;

typedef struct partner_state {
  char id[33];
  char topic[64];
  partner_sdk *sdk;
  uint32_t *linked;      /* people this partner linked */
  char (*tokens)[PARTNER_SDK_MAX_TOKEN + 1];
  size_t linked_count, link_target;
  uint64_t requests, answered, wrong, unanswered;
  uint64_t allow_by_colour[5], deny_by_colour[5];
  uint64_t errors[ERROR_CODES];
  latency_histogram latency;
} partner_state;

typedef struct options {
  const char *run_dir, *brokers, *db_url, *system_pk, *json_path, *partner_list, *secrets_path;
  kafka_security security;
  const char *histogram_path, *cpu_run_dir;
  uint32_t system_key_id;
  unsigned people_per_partner, concurrency, timeout_ms, check_out_percent;
  double rate, duration_s;
  bool table, quiet;
} options;

static options opt = {.people_per_partner = 50, .concurrency = 512, .timeout_ms = 10000,
                      .check_out_percent = 20, .rate = 0, .duration_s = 10};
static person *people;
static size_t people_count;
static loadgen_venue *venues;
static size_t venue_count;
static partner_state partners[MAX_PARTNERS];
static size_t partner_count;
static loadgen_pending *pending;
static partner_kafka *kafka;
static latency_histogram all_latency;
static uint64_t per_second[MAX_SECONDS], sent_per_second[MAX_SECONDS];
/* Latency of the answers that arrived in each second of the phase. */
#define SECOND_HISTOGRAMS 600
static latency_histogram *second_latency;
static loadgen_cpu cpu;
static volatile sig_atomic_t interrupted;
static FILE *secrets_out;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *what) {
  fprintf(stderr, "lindung-loadgen: %s\n", what);
  exit(1);
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: lindung-loadgen [options]\n\n"
          "Simulates the partner apps: links a sample of the seeded people through each\n"
          "partner, then sends scans and checks every decrypted answer against the seed.\n\n"
          "options:\n"
          "  --people N         people each partner links first (default 50)\n"
          "  --duration S       seconds of scanning (default 10)\n"
          "  --rate R           open loop: R scans/s in all, Poisson arrivals\n"
          "  --concurrency C    closed loop (no --rate): C scans in flight (default 512)\n"
          "  --timeout-ms T     an answer later than this counts as unanswered (default 10000)\n"
          "  --check-out P      percent of scans that are check-outs (default 20)\n"
          "  --partners a,b     only these partners (default: all under $LINDUNG_RUN_DIR/partners)\n"
          "  --table            print the per-partner table\n"
          "  --json FILE        write a JSON summary (per-second counts and latency, CDF)\n"
          "  --histogram FILE   write the latency histogram: one line per bucket, upper edge in\n"
          "                     microseconds and count\n"
          "  --cpu-pids DIR     sample the CPU time of the stack in DIR (pids/*.pid and\n"
          "                     PostgreSQL) over the scan phase, into the JSON summary\n"
          "  --quiet            no progress lines\n"
          "  --secrets-out FILE write every NIK and token used (for tests that check logs)\n\n"
          "environment: LINDUNG_KAFKA_BROKERS, LINDUNG_DB_URL (reads venues), LINDUNG_RUN_DIR\n"
          "(partners/ and seed/people.csv from `lindungctl seed`), LINDUNG_SYSTEM_KEY_ID,\n"
          "LINDUNG_SYSTEM_PUBLIC_KEY.\n");
}

static void parse_options(int argc, char **argv) {
  static const struct option longs[] = {
      {"people", 1, 0, 'p'}, {"duration", 1, 0, 'd'}, {"rate", 1, 0, 'r'},
      {"concurrency", 1, 0, 'c'}, {"timeout-ms", 1, 0, 't'}, {"check-out", 1, 0, 'o'},
      {"partners", 1, 0, 'P'}, {"table", 0, 0, 'T'}, {"json", 1, 0, 'j'},
      {"quiet", 0, 0, 'q'}, {"secrets-out", 1, 0, 's'}, {"histogram", 1, 0, 'H'},
      {"cpu-pids", 1, 0, 'C'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    switch (c) {
      case 'p': opt.people_per_partner = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'd': opt.duration_s = strtod(optarg, NULL); break;
      case 'r': opt.rate = strtod(optarg, NULL); break;
      case 'c': opt.concurrency = (unsigned)strtoul(optarg, NULL, 10); break;
      case 't': opt.timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'o': opt.check_out_percent = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'P': opt.partner_list = optarg; break;
      case 'T': opt.table = true; break;
      case 'j': opt.json_path = optarg; break;
      case 'q': opt.quiet = true; break;
      case 's': opt.secrets_path = optarg; break;
      case 'H': opt.histogram_path = optarg; break;
      case 'C': opt.cpu_run_dir = optarg; break;
      case 'h': usage(stdout); exit(0);
      default: usage(stderr); exit(2);
    }
  }
  if (optind < argc || opt.people_per_partner == 0 || opt.concurrency == 0 ||
      opt.duration_s <= 0 || opt.duration_s > MAX_SECONDS || opt.rate < 0 || opt.check_out_percent > 100) {
    fprintf(stderr, "lindung-loadgen: bad arguments (see --help)\n");
    exit(2);
  }
  opt.run_dir = getenv("LINDUNG_RUN_DIR") ? getenv("LINDUNG_RUN_DIR") : ".run";
  opt.brokers = getenv("LINDUNG_KAFKA_BROKERS");
  opt.db_url = getenv("LINDUNG_DB_URL");
  opt.system_pk = getenv("LINDUNG_SYSTEM_PUBLIC_KEY");
  const char *key_id = getenv("LINDUNG_SYSTEM_KEY_ID");
  if (!opt.brokers || !opt.db_url || !opt.system_pk || !key_id) {
    fprintf(stderr, "lindung-loadgen: LINDUNG_KAFKA_BROKERS, LINDUNG_DB_URL, LINDUNG_SYSTEM_KEY_ID and "
                    "LINDUNG_SYSTEM_PUBLIC_KEY are required (source .run/stack.env)\n");
    exit(2);
  }
  opt.system_key_id = (uint32_t)strtoul(key_id, NULL, 10);
  /* One client speaks for every partner at once, so on a broker with ACLs
   * it needs a principal allowed to (the stack's admin certificate). */
  char err[256];
  if (ksec_load_env(&opt.security, err, sizeof err)) {
    fprintf(stderr, "lindung-loadgen: %s\n", err);
    exit(2);
  }
}

static void load_people(void) {
  char path[4096];
  snprintf(path, sizeof path, "%s/seed/people.csv", opt.run_dir);
  FILE *f = fopen(path, "r");
  if (!f) die("cannot read seed/people.csv (run lindungctl seed first)");
  size_t capacity = 1024;
  people = malloc(capacity * sizeof *people);
  char line[256];
  while (fgets(line, sizeof line, f)) {
    char *nik = strtok(line, ",\n"), *status = strtok(NULL, ",\n");
    if (!nik || !status || strlen(nik) != 16 || nik[0] < '0' || nik[0] > '9') continue;
    if (people_count == capacity) people = realloc(people, (capacity *= 2) * sizeof *people);
    memcpy(people[people_count].nik, nik, 17);
    people[people_count].colour = loadgen_colour_parse(status);
    people_count++;
  }
  fclose(f);
  sodium_memzero(line, sizeof line);
  if (!people_count) die("seed/people.csv holds no people");
}

static void load_venues(void) {
  PGconn *db = PQconnectdb(opt.db_url);
  if (PQstatus(db) != CONNECTION_OK) die("cannot connect to LINDUNG_DB_URL");
  PGresult *res = PQexec(db,
                         "SELECT v.venue_id, c.admits_green, c.admits_yellow, v.capacity IS NOT NULL, "
                         "CASE s.value WHEN '3' THEN c.share_level3 WHEN '4' THEN c.share_level4 "
                         "ELSE c.share_level2 END = 0 "
                         "FROM venues v JOIN venue_categories c USING (category) "
                         "LEFT JOIN settings s ON s.name = 'ppkm_level' ORDER BY v.venue_id");
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) die("no venues (run lindungctl seed first)");
  venue_count = (size_t)PQntuples(res);
  venues = calloc(venue_count, sizeof *venues);
  for (size_t i = 0; i < venue_count; i++) {
    snprintf(venues[i].venue_id, sizeof venues[i].venue_id, "%s", PQgetvalue(res, (int)i, 0));
    venues[i].admits_green = PQgetvalue(res, (int)i, 1)[0] == 't';
    venues[i].admits_yellow = PQgetvalue(res, (int)i, 2)[0] == 't';
    venues[i].capped = PQgetvalue(res, (int)i, 3)[0] == 't';
    venues[i].closed = PQgetvalue(res, (int)i, 4)[0] == 't';
  }
  PQclear(res);
  PQfinish(db);
}

static int read_small_file(const char *path, char *out, size_t cap) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(out, 1, cap - 1, f);
  fclose(f);
  out[n] = '\0';
  while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = '\0';
  return 0;
}

static void add_partner(const char *id) {
  if (partner_count == MAX_PARTNERS) die("too many partners");
  partner_state *p = &partners[partner_count];
  char dir[4096], path[4200], key_id[32], err[256];
  snprintf(dir, sizeof dir, "%s/partners/%s", opt.run_dir, id);
  snprintf(path, sizeof path, "%s/key_id", dir);
  if (read_small_file(path, key_id, sizeof key_id)) die("cannot read a partner's key_id");
  snprintf(path, sizeof path, "%s/secret.key", dir);
  snprintf(p->id, sizeof p->id, "%s", id);
  topics_scan_results(id, p->topic, sizeof p->topic);
  partner_sdk_credentials credentials = {.partner_id = p->id,
                                         .partner_key_id = (uint32_t)strtoul(key_id, NULL, 10),
                                         .system_key_id = opt.system_key_id,
                                         .system_public_key = opt.system_pk,
                                         .secret_key_file = path};
  if (partner_sdk_open(&credentials, &p->sdk, err, sizeof err)) die(err);
  latency_histogram_reset(&p->latency);
  partner_count++;
}

static void load_partners(void) {
  if (opt.partner_list) {
    char *list = strdup(opt.partner_list);
    for (char *id = strtok(list, ","); id; id = strtok(NULL, ",")) add_partner(id);
    free(list);
    return;
  }
  static const char *const launch[] = {"gojek", "grab", "tokopedia", "tiketcom", "dana",
                                       "livin-mandiri", "traveloka", "cinema-xxi", "linkaja",
                                       "goers", "jaki"};
  for (size_t i = 0; i < sizeof launch / sizeof launch[0]; i++) add_partner(launch[i]);
}

static uint64_t phase_start_us;

/* ---- sending ---- */

static bool send_request(partner_state *p, uint32_t partner_index, uint32_t person_index,
                         uint32_t venue_index, bool link, bool check_out) {
  loadgen_request *r = loadgen_pending_add(pending);
  if (!r) return false;
  partner_sdk_request body = {0};
  if (link) {
    body.kind = PARTNER_SDK_KIND_LINK;
    body.nik = people[person_index].nik;
  } else {
    body.kind = PARTNER_SDK_KIND_SCAN;
    body.token = p->tokens[person_index];
    body.venue_id = venues[venue_index].venue_id;
    body.action = check_out ? PARTNER_SDK_CHECK_OUT : PARTNER_SDK_CHECK_IN;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    body.scanned_at_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
  }
  uint8_t value[PARTNER_SDK_REQUEST_BUFFER];
  size_t len;
  char err[256];
  if (partner_sdk_build_request(p->sdk, &body, r->request_id, value, sizeof value, &len, err, sizeof err))
    die(err);
  r->partner = partner_index;
  r->person = person_index;
  r->venue = venue_index;
  r->link = link;
  r->check_out = check_out;
  r->sent_us = now_us();
  if (partner_kafka_send(kafka, p->id, r->request_id, value, len))
    die("cannot publish to the partner's request topic");
  loadgen_pending_add_done(pending, r);
  p->requests++;
  if (!link && phase_start_us) {
    uint64_t second = (r->sent_us - phase_start_us) / 1000000u;
    if (second < MAX_SECONDS) sent_per_second[second]++;
  }
  return true;
}

/* ---- receiving ---- */

static partner_state *partner_by_topic(const char *topic, uint32_t *index) {
  for (uint32_t i = 0; i < partner_count; i++)
    if (!strcmp(partners[i].topic, topic)) {
      *index = i;
      return &partners[i];
    }
  return NULL;
}

static void on_answer(const char *topic, const void *key, size_t key_len, const void *value, size_t len) {
  (void)key;
  (void)key_len;
  uint32_t index;
  partner_state *p = partner_by_topic(topic, &index);
  if (!p) return;
  partner_sdk_response response;
  char err[256];
  int rc = partner_sdk_open_response(p->sdk, value, len, &response, err, sizeof err);
  loadgen_request *r = loadgen_pending_find(pending, response.request_id);
  if (!r || r->partner != index) return; /* an answer of an earlier run, or a duplicate */
  uint64_t latency = now_us() - r->sent_us;
  latency_histogram_record(&p->latency, latency);
  latency_histogram_record(&all_latency, latency);
  uint64_t second = (now_us() - phase_start_us) / 1000000u;
  if (!r->link && phase_start_us) {
    if (second < MAX_SECONDS) per_second[second]++;
    if (second < SECOND_HISTOGRAMS) latency_histogram_record(&second_latency[second], latency);
  }
  p->answered++;
  if (rc < 0) {
    p->wrong++;
  } else if (rc > 0) {
    if (rc < ERROR_CODES) p->errors[rc]++;
    p->wrong++;
  } else if (r->link) {
    if (response.kind != PARTNER_SDK_KIND_LINK || !response.token[0]) {
      p->wrong++;
    } else {
      memcpy(p->tokens[r->person], response.token, sizeof response.token);
      if (secrets_out) fprintf(secrets_out, "%s\n%s\n", people[r->person].nik, response.token);
      p->linked[p->linked_count++] = r->person;
    }
  } else {
    loadgen_answer answer = {0, response.verdict.status, response.verdict.decision, response.verdict.reason};
    loadgen_colour colour = people[r->person].colour;
    unsigned status = response.verdict.status >= 0 && response.verdict.status < 5 ? (unsigned)response.verdict.status : 0;
    if (response.verdict.decision == 1) p->allow_by_colour[status]++;
    if (response.verdict.decision == 2) p->deny_by_colour[status]++;
    if (response.kind != PARTNER_SDK_KIND_SCAN ||
        !loadgen_expect_scan(colour, &venues[r->venue], r->check_out, &answer))
      p->wrong++;
  }
  loadgen_pending_remove(pending, r);
}

static void expire_old(uint64_t now) {
  uint64_t cutoff = now - (uint64_t)opt.timeout_ms * 1000u;
  loadgen_request *r;
  while ((r = loadgen_pending_oldest_before(pending, cutoff))) {
    partners[r->partner].unanswered++;
    loadgen_pending_remove(pending, r);
  }
}

static void pump(int wait_ms) {
  partner_kafka_poll(kafka, wait_ms, on_answer);
  expire_old(now_us());
}

/* ---- phases ---- */

/* Serves answers until the next send is due, without spinning: gaps of
 * less than a millisecond (mean 0.5 ms at 2,000/s) are slept precisely,
 * since librdkafka's polls wait in whole milliseconds. */
static void wait_until(uint64_t due_us, uint64_t now) {
  uint64_t gap = due_us > now ? due_us - now : 0;
  if (gap >= 1000u) {
    pump(gap >= 3000u ? 2 : (int)(gap / 1000u));
    return;
  }
  pump(0);
  now = now_us();
  if (due_us > now) {
    struct timespec ts = {0, (long)(due_us - now) * 1000L};
    nanosleep(&ts, NULL);
  }
}

static void link_phase(void) {
  uint64_t start = now_us();
  for (uint32_t i = 0; i < partner_count; i++) {
    partner_state *p = &partners[i];
    p->link_target = opt.people_per_partner < people_count ? opt.people_per_partner : people_count;
    p->linked = calloc(people_count, sizeof *p->linked);
    p->tokens = calloc(people_count, sizeof *p->tokens);
  }
  /* Each partner links its own random sample; shuffle a copy per partner. */
  uint32_t *order = malloc(people_count * sizeof *order);
  for (uint32_t i = 0; i < partner_count; i++) {
    for (uint32_t k = 0; k < people_count; k++) order[k] = k;
    for (uint32_t k = 0; k < partners[i].link_target; k++) {
      uint32_t j = k + randombytes_uniform((uint32_t)(people_count - k));
      uint32_t t = order[k];
      order[k] = order[j];
      order[j] = t;
      while (loadgen_pending_count(pending) >= opt.concurrency) pump(1);
      send_request(&partners[i], i, order[k], 0, true, false);
      partner_kafka_poll(kafka, 0, on_answer);
    }
  }
  free(order);
  while (loadgen_pending_count(pending) && !interrupted) pump(5);
  size_t linked = 0;
  for (uint32_t i = 0; i < partner_count; i++) linked += partners[i].linked_count;
  if (!opt.quiet)
    fprintf(stderr, "lindung-loadgen: linked %zu people through %zu partners in %.2f s\n", linked,
            partner_count, (double)(now_us() - start) / 1e6);
  if (!linked) die("no Link was answered with a token");
}

static void send_one_scan(void) {
  uint32_t i = randombytes_uniform((uint32_t)partner_count);
  partner_state *p = &partners[i];
  if (!p->linked_count) return;
  uint32_t person_index = p->linked[randombytes_uniform((uint32_t)p->linked_count)];
  uint32_t venue_index = randombytes_uniform((uint32_t)venue_count);
  bool check_out = randombytes_uniform(100) < opt.check_out_percent;
  send_request(p, i, person_index, venue_index, false, check_out);
}

static void reset_scan_counters(void) {
  for (size_t i = 0; i < partner_count; i++) {
    partner_state *p = &partners[i];
    p->requests = p->answered = p->wrong = p->unanswered = 0;
    memset(p->allow_by_colour, 0, sizeof p->allow_by_colour);
    memset(p->deny_by_colour, 0, sizeof p->deny_by_colour);
    memset(p->errors, 0, sizeof p->errors);
    latency_histogram_reset(&p->latency);
  }
  latency_histogram_reset(&all_latency);
  memset(per_second, 0, sizeof per_second);
  memset(sent_per_second, 0, sizeof sent_per_second);
  for (size_t s = 0; s < SECOND_HISTOGRAMS; s++) latency_histogram_reset(&second_latency[s]);
}

static double scan_phase(void) {
  reset_scan_counters();
  if (opt.cpu_run_dir) loadgen_cpu_start(&cpu);
  phase_start_us = now_us();
  uint64_t end = phase_start_us + (uint64_t)(opt.duration_s * 1e6);
  uint64_t next_send = phase_start_us;
  uint64_t last_progress = phase_start_us;
  while (!interrupted) {
    uint64_t now = now_us();
    if (now >= end) break;
    if (opt.rate > 0) {
      while (next_send <= now) {
        send_one_scan();
        /* Poisson arrivals: exponential gaps, so a slow Lindung shows as latency. */
        double u = (randombytes_uniform(1u << 30) + 1.0) / (double)(1u << 30);
        next_send += (uint64_t)(-log(u) / opt.rate * 1e6);
      }
      wait_until(next_send, now);
    } else {
      while (loadgen_pending_count(pending) < opt.concurrency) send_one_scan();
      pump(1);
    }
    if (!opt.quiet && now - last_progress >= 1000000u) {
      last_progress = now;
      uint64_t answered = 0;
      for (size_t i = 0; i < partner_count; i++) answered += partners[i].answered;
      fprintf(stderr, "lindung-loadgen: %.0f s: %" PRIu64 " answered, %zu in flight\n",
              (double)(now - phase_start_us) / 1e6, answered, loadgen_pending_count(pending));
    }
  }
  double elapsed = (double)(now_us() - phase_start_us) / 1e6;
  /* Give late answers until the timeout before counting them unanswered. */
  uint64_t drain_end = now_us() + (uint64_t)opt.timeout_ms * 1000u;
  while (loadgen_pending_count(pending) && now_us() < drain_end && !interrupted) pump(5);
  expire_old(UINT64_MAX / 2 + now_us());
  if (opt.cpu_run_dir) loadgen_cpu_stop(&cpu);
  return elapsed;
}

/* ---- output ---- */

static const char *const error_names[ERROR_CODES] = {
    "NONE", "MALFORMED", "UNKNOWN_PARTNER", "PARTNER_REVOKED", "UNKNOWN_KEY", "KEY_REVOKED",
    "DECRYPT_FAILED", "STALE_REQUEST", "REPLAYED", "RATE_LIMITED", "UNKNOWN_TOKEN",
    "UNKNOWN_VENUE", "UNKNOWN_NIK", "UNAVAILABLE"};

static void print_table(void) {
  printf("%-14s %8s %8s | %-23s | %-23s | %-16s | %8s %8s\n", "partner", "requests", "answered",
         "ALLOW green/yellow", "DENY g/y/red/black", "errors", "p50 ms", "p99 ms");
  for (size_t i = 0; i < partner_count; i++) {
    partner_state *p = &partners[i];
    char allow[32], deny[32], errors[128] = "";
    snprintf(allow, sizeof allow, "%" PRIu64 "/%" PRIu64, p->allow_by_colour[1], p->allow_by_colour[2]);
    snprintf(deny, sizeof deny, "%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64, p->deny_by_colour[1],
             p->deny_by_colour[2], p->deny_by_colour[3], p->deny_by_colour[4]);
    size_t used = 0;
    for (int code = 1; code < ERROR_CODES; code++)
      if (p->errors[code] && used < sizeof errors)
        used += (size_t)snprintf(errors + used, sizeof errors - used, "%s%s:%" PRIu64, used ? "," : "",
                                 error_names[code], p->errors[code]);
    if (p->unanswered && used < sizeof errors)
      snprintf(errors + used, sizeof errors - used, "%sno answer:%" PRIu64, used ? "," : "", p->unanswered);
    printf("%-14s %8" PRIu64 " %8" PRIu64 " | %-23s | %-23s | %-16s | %8.2f %8.2f\n", p->id, p->requests,
           p->answered, allow, deny, errors[0] ? errors : "-",
           latency_histogram_quantile(&p->latency, 0.50) / 1000.0,
           latency_histogram_quantile(&p->latency, 0.99) / 1000.0);
  }
}

static void write_json(double elapsed) {
  uint64_t sent = 0, answered = 0, wrong = 0, unanswered = 0, allow = 0, deny = 0;
  for (size_t i = 0; i < partner_count; i++) {
    partner_state *p = &partners[i];
    sent += p->requests;
    answered += p->answered;
    wrong += p->wrong;
    unanswered += p->unanswered;
    for (int c = 0; c < 5; c++) {
      allow += p->allow_by_colour[c];
      deny += p->deny_by_colour[c];
    }
  }
  FILE *out = fopen(opt.json_path, "w");
  if (!out) die("cannot write the --json file");
  fprintf(out,
          "{\"mode\":\"%s\",\"rate\":%.0f,\"concurrency\":%u,\"duration_s\":%.3f,\"partners\":%zu,"
          "\"sent\":%" PRIu64 ",\"answered\":%" PRIu64 ",\"allow\":%" PRIu64 ",\"deny\":%" PRIu64
          ",\"wrong\":%" PRIu64 ",\"unanswered\":%" PRIu64 ",\"scans_per_s\":%.1f,"
          "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"per_second\":[",
          opt.rate > 0 ? "open" : "closed", opt.rate, opt.concurrency, elapsed, partner_count, sent, answered,
          allow, deny, wrong, unanswered, (double)answered / elapsed,
          latency_histogram_quantile(&all_latency, 0.50) / 1000.0,
          latency_histogram_quantile(&all_latency, 0.90) / 1000.0,
          latency_histogram_quantile(&all_latency, 0.99) / 1000.0,
          latency_histogram_quantile(&all_latency, 0.999) / 1000.0, all_latency.max_us / 1000.0);
  size_t seconds = (size_t)ceil(elapsed);
  for (size_t s = 0; s < seconds && s < MAX_SECONDS; s++) fprintf(out, "%s%" PRIu64, s ? "," : "", per_second[s]);
  fprintf(out, "],\"sent_per_second\":[");
  for (size_t s = 0; s < seconds && s < MAX_SECONDS; s++) fprintf(out, "%s%" PRIu64, s ? "," : "", sent_per_second[s]);
  /* Per second of the phase: [p50, p99, max] in ms of the answers that came in that second. */
  fprintf(out, "],\"latency_per_second_ms\":[");
  for (size_t s = 0; s < seconds && s < SECOND_HISTOGRAMS; s++) {
    const latency_histogram *h = &second_latency[s];
    fprintf(out, "%s[%.3f,%.3f,%.3f]", s ? "," : "", latency_histogram_quantile(h, 0.5) / 1000.0,
            latency_histogram_quantile(h, 0.99) / 1000.0, h->max_us / 1000.0);
  }
  fprintf(out, "],\"latency_cdf_ms\":[");
  static const double qs[] = {0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, 1.0};
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
    fprintf(out, "%s[%.4f,%.3f]", i ? "," : "", qs[i], latency_histogram_quantile(&all_latency, qs[i]) / 1000.0);
  fprintf(out, "]");
  if (opt.cpu_run_dir) {
    fprintf(out, ",");
    loadgen_cpu_write_json(&cpu, out);
  }
  fprintf(out, "}\n");
  fclose(out);
}

static void write_histogram(void) {
  FILE *out = fopen(opt.histogram_path, "w");
  if (!out) die("cannot write the --histogram file");
  fprintf(out, "# latency of every scan answered: bucket upper edge (us), count\n");
  for (unsigned i = 0; i < LATENCY_HISTOGRAM_BUCKETS; i++)
    if (all_latency.counts[i])
      fprintf(out, "%" PRIu64 " %" PRIu64 "\n", latency_histogram_bucket_upper(i), all_latency.counts[i]);
  fclose(out);
}

static void on_signal(int signum) {
  (void)signum;
  interrupted = 1;
}

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  parse_options(argc, argv);
  if (sodium_init() < 0) die("libsodium failed to start");
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  if (opt.secrets_path && !(secrets_out = fopen(opt.secrets_path, "a"))) die("cannot open --secrets-out");
  load_people();
  load_venues();
  load_partners();
  second_latency = calloc(SECOND_HISTOGRAMS, sizeof *second_latency);
  if (!second_latency) die("out of memory");
  if (opt.cpu_run_dir) loadgen_cpu_init(&cpu, opt.cpu_run_dir);
  pending = loadgen_pending_new(opt.concurrency > 65536 ? opt.concurrency * 2 : 131072);
  const char *topics[MAX_PARTNERS];
  for (size_t i = 0; i < partner_count; i++) topics[i] = partners[i].topic;
  char err[512];
  kafka = partner_kafka_open(opt.brokers, &opt.security, topics, partner_count, err, sizeof err);
  if (!kafka) die(err);
  link_phase();
  double elapsed = scan_phase();
  uint64_t wrong = 0, unanswered = 0;
  for (size_t i = 0; i < partner_count; i++) {
    wrong += partners[i].wrong;
    unanswered += partners[i].unanswered;
  }
  if (opt.table) print_table();
  if (opt.json_path) write_json(elapsed);
  if (opt.histogram_path) write_histogram();
  uint64_t answered = 0;
  for (size_t i = 0; i < partner_count; i++) answered += partners[i].answered;
  fprintf(stderr,
          "lindung-loadgen: %" PRIu64 " scans answered in %.2f s (%.0f/s), p50 %.2f ms, p99 %.2f ms, "
          "p99.9 %.2f ms; wrong %" PRIu64 ", unanswered %" PRIu64 "\n",
          answered, elapsed, (double)answered / elapsed, latency_histogram_quantile(&all_latency, 0.5) / 1000.0,
          latency_histogram_quantile(&all_latency, 0.99) / 1000.0,
          latency_histogram_quantile(&all_latency, 0.999) / 1000.0, wrong, unanswered);
  partner_kafka_close(kafka);
  for (size_t i = 0; i < partner_count; i++) partner_sdk_close(partners[i].sdk);
  loadgen_pending_free(pending);
  free(second_latency);
  if (secrets_out) fclose(secrets_out);
  return interrupted ? 130 : (wrong || unanswered) ? 1 : 0;
}
