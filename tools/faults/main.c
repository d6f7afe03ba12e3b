/* lindung-faults: the traffic of scripts/faults. Speaks for all the
 * partners under $LINDUNG_RUN_DIR/partners: links a sample of the seeded
 * people, then sends N requests at a fixed rate (links, check-ins,
 * check-outs and some bad requests, chosen by a seeded generator, each with
 * a fresh request id), and records every request sent and every answer that
 * comes back, duplicates included, judged against the seed. It keeps
 * reading until every request is answered and nothing has arrived for a
 * while, or until the drain deadline. Comparing the sets is the job of
 * tools/faults/analyse.py; this program only observes.
 *
 * Files in --out DIR: start_ms (wall clock at the first request), sent.tsv
 * (ms, request id, partner, kind, the Link whose token a scan carries) and answers.tsv (ms, request id, partner,
 * answer text, right|wrong|unavailable). */
#include <getopt.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "faults_judge.h"
#include "partner_kafka.h"
#include "partner_sdk.h"

#define MAX_PARTNERS 16

typedef struct person {
  char nik[17];
  loadgen_colour colour;
} person;

typedef struct partner_state {
  char id[33];
  char topic[64];
  partner_sdk *sdk;
  uint32_t *linked; /* people this partner holds a token for */
  char (*tokens)[PARTNER_SDK_MAX_TOKEN + 1];
  uint32_t *token_link; /* per person: the request that linked it */
  size_t linked_count;
} partner_state;

typedef struct request {
  uint8_t id[16];
  uint32_t partner, person, venue;
  uint8_t kind;
  bool answered;
  bool in_run; /* false for the links made before the run */
} request;

static struct {
  const char *run_dir, *out_dir, *brokers, *db_url, *system_pk;
  kafka_security security;
  uint32_t system_key_id;
  unsigned count, people_per_partner, drain_s, quiet_s;
  double rate;
  uint64_t seed;
} opt = {.count = 100000, .people_per_partner = 40, .drain_s = 300, .quiet_s = 15, .rate = 150, .seed = 1};

static person *people;
static size_t people_count;
static loadgen_venue *venues;
static size_t venue_count;
static partner_state partners[MAX_PARTNERS];
static size_t partner_count;
static request *requests;
static size_t request_count, request_cap, answered_count, answers_seen;
static uint32_t *slots; /* open addressing on the request id: index + 1 */
static size_t slot_mask;
static partner_kafka *kafka;
static FILE *sent_out, *answers_out;
static volatile sig_atomic_t interrupted;
static uint64_t rng_state;

static void die(const char *what) {
  fprintf(stderr, "lindung-faults: %s\n", what);
  exit(1);
}

static uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* splitmix64: the same seed gives the same mix of requests. */
static uint32_t rng_below(uint32_t n) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (uint32_t)(z % n);
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: lindung-faults --out DIR [options]\n\n"
          "The traffic of scripts/faults: sends N requests from every partner at a fixed\n"
          "rate and records each request and each answer (duplicates included) in DIR.\n\n"
          "  --count N      requests in the run (default 100000)\n"
          "  --rate R       requests per second (default 150)\n"
          "  --seed S       seed of the request mix (default 1)\n"
          "  --people N     people each partner links before the run (default 40)\n"
          "  --drain S      give up once S s pass without a new request answered (default 300)\n"
          "  --quiet S      stop once all are answered and nothing came for S s (default 15)\n\n"
          "environment: as lindung-loadgen (source the stack's stack.env).\n");
}

static void parse_options(int argc, char **argv) {
  static const struct option longs[] = {{"out", 1, 0, 'o'},    {"count", 1, 0, 'n'}, {"rate", 1, 0, 'r'},
                                        {"seed", 1, 0, 's'},   {"people", 1, 0, 'p'}, {"drain", 1, 0, 'd'},
                                        {"quiet", 1, 0, 'q'},  {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    switch (c) {
      case 'o': opt.out_dir = optarg; break;
      case 'n': opt.count = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'r': opt.rate = strtod(optarg, NULL); break;
      case 's': opt.seed = strtoull(optarg, NULL, 10); break;
      case 'p': opt.people_per_partner = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'd': opt.drain_s = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'q': opt.quiet_s = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'h': usage(stdout); exit(0);
      default: usage(stderr); exit(2);
    }
  }
  if (optind < argc || !opt.out_dir || opt.count == 0 || opt.rate <= 0 || opt.people_per_partner == 0) {
    usage(stderr);
    exit(2);
  }
  rng_state = opt.seed;
  opt.run_dir = getenv("LINDUNG_RUN_DIR") ? getenv("LINDUNG_RUN_DIR") : ".run";
  opt.brokers = getenv("LINDUNG_KAFKA_BROKERS");
  opt.db_url = getenv("LINDUNG_DB_URL");
  opt.system_pk = getenv("LINDUNG_SYSTEM_PUBLIC_KEY");
  const char *key_id = getenv("LINDUNG_SYSTEM_KEY_ID");
  if (!opt.brokers || !opt.db_url || !opt.system_pk || !key_id) die("source the stack's stack.env first");
  opt.system_key_id = (uint32_t)strtoul(key_id, NULL, 10);
  char err[256];
  if (ksec_load_env(&opt.security, err, sizeof err)) die(err);
}

static void load_people(void) {
  char path[4096], line[256];
  snprintf(path, sizeof path, "%s/seed/people.csv", opt.run_dir);
  FILE *f = fopen(path, "r");
  if (!f) die("cannot read seed/people.csv (run lindungctl seed first)");
  size_t cap = 1024;
  people = malloc(cap * sizeof *people);
  while (people && fgets(line, sizeof line, f)) {
    char *nik = strtok(line, ",\n"), *status = strtok(NULL, ",\n");
    if (!nik || !status || strlen(nik) != 16 || nik[0] < '0' || nik[0] > '9') continue;
    if (people_count == cap && !(people = realloc(people, (cap *= 2) * sizeof *people))) break;
    memcpy(people[people_count].nik, nik, 17);
    people[people_count++].colour = loadgen_colour_parse(status);
  }
  fclose(f);
  sodium_memzero(line, sizeof line);
  if (!people || !people_count) die("seed/people.csv holds no people");
}

static void load_venues(void) {
  PGconn *db = PQconnectdb(opt.db_url);
  if (PQstatus(db) != CONNECTION_OK) die("cannot connect to LINDUNG_DB_URL");
  /* The same question lindung-loadgen asks: what each venue admits now. */
  PGresult *res = PQexec(db,
                         "SELECT v.venue_id, c.admits_green, c.admits_yellow, v.capacity IS NOT NULL, "
                         "CASE s.value WHEN '3' THEN c.share_level3 WHEN '4' THEN c.share_level4 "
                         "ELSE c.share_level2 END = 0 "
                         "FROM venues v JOIN venue_categories c USING (category) "
                         "LEFT JOIN settings s ON s.name = 'ppkm_level' ORDER BY v.venue_id");
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) die("no venues (run lindungctl seed first)");
  venue_count = (size_t)PQntuples(res);
  venues = calloc(venue_count, sizeof *venues);
  if (!venues) die("out of memory");
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

static void add_partner(const char *id) {
  partner_state *p = &partners[partner_count];
  char path[4200], key_id[32] = "", err[256];
  snprintf(path, sizeof path, "%s/partners/%s/key_id", opt.run_dir, id);
  FILE *f = fopen(path, "r");
  if (!f || !fgets(key_id, sizeof key_id, f)) die("cannot read a partner's key_id (run lindungctl seed)");
  fclose(f);
  snprintf(path, sizeof path, "%s/partners/%s/secret.key", opt.run_dir, id);
  snprintf(p->id, sizeof p->id, "%s", id);
  snprintf(p->topic, sizeof p->topic, "scan.results.%s", id);
  partner_sdk_credentials credentials = {.partner_id = p->id,
                                         .partner_key_id = (uint32_t)strtoul(key_id, NULL, 10),
                                         .system_key_id = opt.system_key_id,
                                         .system_public_key = opt.system_pk,
                                         .secret_key_file = path};
  if (partner_sdk_open(&credentials, &p->sdk, err, sizeof err)) die(err);
  p->linked = calloc(people_count, sizeof *p->linked);
  p->tokens = calloc(people_count, sizeof *p->tokens);
  p->token_link = calloc(people_count, sizeof *p->token_link);
  if (!p->linked || !p->tokens || !p->token_link) die("out of memory");
  partner_count++;
}

/* ---- the request table ---- */

static size_t slot_of(const uint8_t id[16]) {
  uint64_t h;
  memcpy(&h, id, sizeof h); /* request ids are random */
  return (size_t)h & slot_mask;
}

static request *request_find(const uint8_t id[16]) {
  for (size_t s = slot_of(id);; s = (s + 1) & slot_mask) {
    if (!slots[s]) return NULL;
    request *r = &requests[slots[s] - 1];
    if (!memcmp(r->id, id, 16)) return r;
  }
}

static void request_index(size_t index) {
  size_t s = slot_of(requests[index].id);
  while (slots[s]) s = (s + 1) & slot_mask;
  slots[s] = (uint32_t)index + 1;
}

/* ---- sending ---- */

/* token_link: the request whose answer gave the token (for a scan), so
 * that an UNKNOWN_TOKEN can be traced to the Link it came from. */
static void send_request(uint32_t partner, faults_kind kind, uint32_t person_index, uint32_t venue_index,
                         const char *token, uint32_t token_link, bool in_run) {
  if (request_count == request_cap) die("request table full");
  partner_state *p = &partners[partner];
  request *r = &requests[request_count];
  partner_sdk_request body = {0};
  static const char unknown_venue[] = "QR-FAULTS-NO-SUCH-VENUE";
  if (kind == FAULTS_LINK) {
    body.kind = PARTNER_SDK_KIND_LINK;
    body.nik = people[person_index].nik;
  } else {
    body.kind = PARTNER_SDK_KIND_SCAN;
    body.token = token;
    body.venue_id = kind == FAULTS_BAD_VENUE ? unknown_venue : venues[venue_index].venue_id;
    body.action = kind == FAULTS_CHECK_OUT ? PARTNER_SDK_CHECK_OUT : PARTNER_SDK_CHECK_IN;
    body.scanned_at_ms = wall_ms();
  }
  uint8_t value[PARTNER_SDK_REQUEST_BUFFER];
  size_t len;
  char err[256];
  if (partner_sdk_build_request(p->sdk, &body, r->id, value, sizeof value, &len, err, sizeof err)) die(err);
  r->partner = partner;
  r->person = person_index;
  r->venue = venue_index;
  r->kind = (uint8_t)kind;
  r->in_run = in_run;
  request_index(request_count++);
  if (partner_kafka_send(kafka, p->id, r->id, value, len)) die("cannot publish a request");
  if (in_run) {
    char hex[33], link_hex[33] = "-";
    sodium_bin2hex(hex, sizeof hex, r->id, 16);
    if (kind != FAULTS_LINK) sodium_bin2hex(link_hex, sizeof link_hex, requests[token_link].id, 16);
    fprintf(sent_out, "%" PRIu64 "\t%s\t%s\t%s\t%s\n", wall_ms(), hex, p->id, faults_kind_name(kind), link_hex);
  }
}

/* One request of the run's mix: 10% links, 68% check-ins, 15% check-outs,
 * 7% bad requests (an unknown venue, or another partner's token). */
static void send_one(void) {
  uint32_t partner = rng_below((uint32_t)partner_count);
  partner_state *p = &partners[partner];
  uint32_t dice = rng_below(100), venue = rng_below((uint32_t)venue_count);
  if (dice < 10 || !p->linked_count) {
    send_request(partner, FAULTS_LINK, rng_below((uint32_t)people_count), 0, NULL, 0, true);
    return;
  }
  uint32_t k = rng_below((uint32_t)p->linked_count);
  uint32_t person_index = p->linked[k];
  if (dice < 93) {
    send_request(partner, dice < 78 ? FAULTS_CHECK_IN : FAULTS_CHECK_OUT, person_index, venue,
                 p->tokens[person_index], p->token_link[person_index], true);
  } else if (dice < 96) {
    send_request(partner, FAULTS_BAD_VENUE, person_index, venue, p->tokens[person_index],
                 p->token_link[person_index], true);
  } else {
    partner_state *other = &partners[(partner + 1) % partner_count];
    if (!other->linked_count) return;
    uint32_t theirs = other->linked[rng_below((uint32_t)other->linked_count)];
    send_request(partner, FAULTS_BAD_TOKEN, theirs, venue, other->tokens[theirs], other->token_link[theirs], true);
  }
}

/* ---- receiving ---- */

static uint64_t last_answer_us;

static void on_answer(const char *topic, const void *key, size_t key_len, const void *value, size_t len) {
  (void)key;
  (void)key_len;
  uint32_t index = 0;
  while (index < partner_count && strcmp(partners[index].topic, topic)) index++;
  if (index == partner_count) return;
  partner_state *p = &partners[index];
  partner_sdk_response response;
  char err[256], text[FAULTS_ANSWER_TEXT], hex[33];
  int rc = partner_sdk_open_response(p->sdk, value, len, &response, err, sizeof err);
  request *r = request_find(response.request_id);
  if (!r) return; /* an answer to an earlier run */
  last_answer_us = mono_us();
  faults_judgement judgement = r->partner != index ? FAULTS_WRONG
                               : faults_judge((faults_kind)r->kind, people[r->person].colour,
                                              &venues[r->venue], rc, &response);
  if (!r->answered) {
    r->answered = true;
    answered_count++;
    if (r->kind == FAULTS_LINK && judgement == FAULTS_RIGHT && !p->tokens[r->person][0]) {
      memcpy(p->tokens[r->person], response.token, sizeof response.token);
      p->token_link[r->person] = (uint32_t)(r - requests);
      p->linked[p->linked_count++] = r->person;
    }
  }
  faults_answer_text(rc, &response, text, sizeof text);
  sodium_memzero(response.token, sizeof response.token);
  if (!r->in_run) return;
  answers_seen++;
  sodium_bin2hex(hex, sizeof hex, r->id, 16);
  static const char *const judgement_names[] = {"right", "wrong", "unavailable"};
  fprintf(answers_out, "%" PRIu64 "\t%s\t%s\t%s\t%s\n", wall_ms(), hex, p->id, text, judgement_names[judgement]);
}

static void on_signal(int signum) {
  (void)signum;
  interrupted = 1;
}

static FILE *open_out(const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", opt.out_dir, name);
  FILE *f = fopen(path, "w");
  if (!f) die("cannot write into --out");
  return f;
}

/* Links a sample of people through every partner before the run, so that
 * scans have tokens from the first second on. */
static void link_phase(void) {
  for (uint32_t i = 0; i < partner_count; i++)
    for (unsigned k = 0; k < opt.people_per_partner; k++)
      send_request(i, FAULTS_LINK, rng_below((uint32_t)people_count), 0, NULL, 0, false);
  uint64_t deadline = mono_us() + 120000000u;
  while (answered_count < request_count && mono_us() < deadline && !interrupted)
    partner_kafka_poll(kafka, 10, on_answer);
  fprintf(stderr, "lindung-faults: %zu of %zu links answered before the run\n", answered_count, request_count);
}

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  parse_options(argc, argv);
  if (sodium_init() < 0) die("libsodium failed to start");
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  load_people();
  load_venues();
  static const char *const launch[] = {"gojek", "grab", "tokopedia", "tiketcom", "dana", "livin-mandiri",
                                       "traveloka", "cinema-xxi", "linkaja", "goers", "jaki"};
  for (size_t i = 0; i < sizeof launch / sizeof launch[0]; i++) add_partner(launch[i]);
  request_cap = (size_t)opt.count + partner_count * opt.people_per_partner;
  for (slot_mask = 1; slot_mask < 2 * request_cap; slot_mask <<= 1) {}
  requests = calloc(request_cap, sizeof *requests);
  slots = calloc(slot_mask, sizeof *slots);
  slot_mask--;
  if (!requests || !slots) die("out of memory");
  const char *topics[MAX_PARTNERS];
  for (size_t i = 0; i < partner_count; i++) topics[i] = partners[i].topic;
  char err[512];
  if (!(kafka = partner_kafka_open(opt.brokers, &opt.security, topics, partner_count, err, sizeof err))) die(err);
  sent_out = open_out("sent.tsv");
  answers_out = open_out("answers.tsv");
  link_phase();

  size_t before_run = request_count, answered_before = answered_count;
  FILE *start = open_out("start_ms");
  fprintf(start, "%" PRIu64 "\n", wall_ms());
  fclose(start);
  uint64_t run_start = mono_us(), last_progress = run_start;
  for (unsigned sent = 0; sent < opt.count && !interrupted;) {
    uint64_t due = run_start + (uint64_t)(sent / opt.rate * 1e6);
    uint64_t now = mono_us();
    if (due <= now) {
      send_one();
      sent++;
      continue;
    }
    partner_kafka_poll(kafka, (int)((due - now) / 1000u), on_answer);
    if (now - last_progress >= 5000000u) {
      last_progress = now;
      fprintf(stderr, "lindung-faults: %.0f s: %u sent, %zu answered\n", (double)(now - run_start) / 1e6, sent,
              answered_count - answered_before);
      fflush(sent_out);
      fflush(answers_out);
    }
  }
  /* Quiescence: everything answered and silence for --quiet seconds. A
   * backlog is drained as long as it moves: only --drain seconds without a
   * new first answer end the wait with requests unanswered. */
  uint64_t progress_us = mono_us();
  size_t progress_count = answered_count;
  last_answer_us = progress_us;
  while (!interrupted) {
    partner_kafka_poll(kafka, 100, on_answer);
    uint64_t now = mono_us();
    if (answered_count != progress_count) {
      progress_count = answered_count;
      progress_us = now;
    }
    if (answered_count == request_count && now - last_answer_us >= (uint64_t)opt.quiet_s * 1000000u) break;
    if (answered_count < request_count && now - progress_us >= (uint64_t)opt.drain_s * 1000000u) break;
  }
  fprintf(stderr, "lindung-faults: %zu sent, %zu answered, %zu answers read (duplicates included)\n",
          request_count - before_run, answered_count - answered_before, answers_seen);
  fclose(sent_out);
  fclose(answers_out);
  partner_kafka_close(kafka);
  for (size_t i = 0; i < partner_count; i++) {
    sodium_memzero(partners[i].tokens, people_count * sizeof *partners[i].tokens);
    partner_sdk_close(partners[i].sdk);
  }
  return interrupted ? 130 : 0;
}
