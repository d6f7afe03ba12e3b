/* faults_run: one run of lindung-faults (faults_run.h). */
#include "faults_run.h"

#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults_judge.h"
#include "faults_requests.h"
#include "loadgen_pace.h"
#include "partner_kafka.h"
#include "service_clock.h"
#include "topics.h"

#define MAX_PARTNERS 16

typedef struct partner_state {
  char id[33];
  char topic[64];
  partner_sdk *sdk;
  uint32_t *linked; /* people this partner holds a token for */
  char (*tokens)[PARTNER_SDK_MAX_TOKEN + 1];
  uint32_t *token_link; /* per person: the request that linked it */
  size_t linked_count;
} partner_state;

/* One run per process: the Kafka poll callback takes no context. */
static const faults_options *opt;
static loadgen_person *people;
static size_t people_count;
static loadgen_venue *venues;
static size_t venue_count;
static partner_state partners[MAX_PARTNERS];
static size_t partner_count;
static faults_table table;
static size_t answered_count, answers_seen;
static partner_kafka *kafka;
static FILE *sent_out, *answers_out;
static volatile sig_atomic_t interrupted;
static uint64_t rng_state;

void faults_die(const char *what) {
  fprintf(stderr, "lindung-faults: %s\n", what);
  exit(1);
}

static void add_partner(const loadgen_env *env, const char *id) {
  partner_state *p = &partners[partner_count];
  char err[256];
  snprintf(p->id, sizeof p->id, "%s", id);
  topics_scan_results(id, p->topic, sizeof p->topic);
  if (loadgen_seed_partner(env, p->id, &p->sdk, err, sizeof err)) faults_die(err);
  p->linked = calloc(people_count, sizeof *p->linked);
  p->tokens = calloc(people_count, sizeof *p->tokens);
  p->token_link = calloc(people_count, sizeof *p->token_link);
  if (!p->linked || !p->tokens || !p->token_link) faults_die("out of memory");
  partner_count++;
}

/* ---- sending ---- */

/* token_link: the request whose answer gave the token (for a scan), so
 * that an UNKNOWN_TOKEN can be traced to the Link it came from. */
static void send_request(uint32_t partner, faults_kind kind, uint32_t person_index, uint32_t venue_index,
                         const char *token, uint32_t token_link, bool in_run) {
  partner_state *p = &partners[partner];
  faults_request *r = faults_table_next(&table);
  if (!r) faults_die("request table full");
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
    body.scanned_at_ms = service_now_ms();
  }
  uint8_t value[PARTNER_SDK_REQUEST_BUFFER];
  size_t len;
  char err[256];
  if (partner_sdk_build_request(p->sdk, &body, r->id, value, sizeof value, &len, err, sizeof err)) faults_die(err);
  r->partner = partner;
  r->person = person_index;
  r->venue = venue_index;
  r->kind = (uint8_t)kind;
  r->in_run = in_run;
  faults_table_commit(&table);
  if (partner_kafka_send(kafka, p->id, r->id, value, len)) faults_die("cannot publish a request");
  if (in_run) {
    char hex[33], link_hex[33] = "-";
    sodium_bin2hex(hex, sizeof hex, r->id, 16);
    if (kind != FAULTS_LINK) sodium_bin2hex(link_hex, sizeof link_hex, table.requests[token_link].id, 16);
    fprintf(sent_out, "%" PRIu64 "\t%s\t%s\t%s\t%s\n", service_now_ms(), hex, p->id, faults_kind_name(kind), link_hex);
  }
}

/* One request of the run's mix: 10% links, 68% check-ins, 15% check-outs,
 * 7% bad requests (an unknown venue, or another partner's token). */
static void send_one(void) {
  uint32_t partner = faults_rng_below(&rng_state, (uint32_t)partner_count);
  partner_state *p = &partners[partner];
  uint32_t dice = faults_rng_below(&rng_state, 100), venue = faults_rng_below(&rng_state, (uint32_t)venue_count);
  if (dice < 10 || !p->linked_count) {
    send_request(partner, FAULTS_LINK, faults_rng_below(&rng_state, (uint32_t)people_count), 0, NULL, 0, true);
    return;
  }
  uint32_t k = faults_rng_below(&rng_state, (uint32_t)p->linked_count);
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
    uint32_t theirs = other->linked[faults_rng_below(&rng_state, (uint32_t)other->linked_count)];
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
  faults_request *r = faults_table_find(&table, response.request_id);
  if (!r) return; /* an answer to an earlier run */
  last_answer_us = loadgen_now_us();
  faults_judgement judgement = r->partner != index ? FAULTS_WRONG
                               : faults_judge((faults_kind)r->kind, people[r->person].colour,
                                              &venues[r->venue], rc, &response);
  if (!r->answered) {
    r->answered = true;
    answered_count++;
    if (r->kind == FAULTS_LINK && judgement == FAULTS_RIGHT && !p->tokens[r->person][0]) {
      memcpy(p->tokens[r->person], response.token, sizeof response.token);
      p->token_link[r->person] = (uint32_t)(r - table.requests);
      p->linked[p->linked_count++] = r->person;
    }
  }
  faults_answer_text(rc, &response, text, sizeof text);
  sodium_memzero(response.token, sizeof response.token);
  if (!r->in_run) return;
  answers_seen++;
  sodium_bin2hex(hex, sizeof hex, r->id, 16);
  static const char *const judgement_names[] = {"right", "wrong", "unavailable"};
  fprintf(answers_out, "%" PRIu64 "\t%s\t%s\t%s\t%s\n", service_now_ms(), hex, p->id, text, judgement_names[judgement]);
}

static void on_signal(int signum) {
  (void)signum;
  interrupted = 1;
}

static FILE *open_out(const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", opt->out_dir, name);
  FILE *f = fopen(path, "w");
  if (!f) faults_die("cannot write into --out");
  return f;
}

/* Links a sample of people through every partner before the run, so that
 * scans have tokens from the first second on. */
static void link_phase(void) {
  for (uint32_t i = 0; i < partner_count; i++)
    for (unsigned k = 0; k < opt->people_per_partner; k++)
      send_request(i, FAULTS_LINK, faults_rng_below(&rng_state, (uint32_t)people_count), 0, NULL, 0, false);
  uint64_t deadline = loadgen_now_us() + 120000000u;
  while (answered_count < table.count && loadgen_now_us() < deadline && !interrupted)
    partner_kafka_poll(kafka, 10, on_answer);
  fprintf(stderr, "lindung-faults: %zu of %zu links answered before the run\n", answered_count, table.count);
}

int faults_run(const faults_options *options, const loadgen_env *env) {
  opt = options;
  rng_state = opt->seed;
  char err[512];
  if (loadgen_seed_people(env->run_dir, &people, &people_count, err, sizeof err) ||
      loadgen_seed_venues(env->db_url, &venues, &venue_count, err, sizeof err))
    faults_die(err);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  for (size_t i = 0; i < loadgen_launch_partner_count; i++) add_partner(env, loadgen_launch_partners[i]);
  if (faults_table_init(&table, (size_t)opt->count + partner_count * opt->people_per_partner))
    faults_die("out of memory");
  const char *topics[MAX_PARTNERS];
  for (size_t i = 0; i < partner_count; i++) topics[i] = partners[i].topic;
  if (!(kafka = partner_kafka_open(env->brokers, &env->security, topics, partner_count, err, sizeof err))) faults_die(err);
  sent_out = open_out("sent.tsv");
  answers_out = open_out("answers.tsv");
  link_phase();

  size_t before_run = table.count, answered_before = answered_count;
  FILE *start = open_out("start_ms");
  fprintf(start, "%" PRIu64 "\n", service_now_ms());
  fclose(start);
  uint64_t run_start = loadgen_now_us(), last_progress = run_start;
  for (unsigned sent = 0; sent < opt->count && !interrupted;) {
    uint64_t due = run_start + (uint64_t)(sent / opt->rate * 1e6);
    uint64_t now = loadgen_now_us();
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
  uint64_t progress_us = loadgen_now_us();
  size_t progress_count = answered_count;
  last_answer_us = progress_us;
  while (!interrupted) {
    partner_kafka_poll(kafka, 100, on_answer);
    uint64_t now = loadgen_now_us();
    if (answered_count != progress_count) {
      progress_count = answered_count;
      progress_us = now;
    }
    if (answered_count == table.count && now - last_answer_us >= (uint64_t)opt->quiet_s * 1000000u) break;
    if (answered_count < table.count && now - progress_us >= (uint64_t)opt->drain_s * 1000000u) break;
  }
  fprintf(stderr, "lindung-faults: %zu sent, %zu answered, %zu answers read (duplicates included)\n",
          table.count - before_run, answered_count - answered_before, answers_seen);
  fclose(sent_out);
  fclose(answers_out);
  partner_kafka_close(kafka);
  for (size_t i = 0; i < partner_count; i++) {
    sodium_memzero(partners[i].tokens, people_count * sizeof *partners[i].tokens);
    partner_sdk_close(partners[i].sdk);
  }
  return interrupted ? 130 : 0;
}
