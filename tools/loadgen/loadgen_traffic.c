/* loadgen_traffic: the two phases of lindung-loadgen: every partner links
 * a sample of the seeded people, then sends scans open loop (Poisson
 * arrivals at a rate) or closed loop (a fixed concurrency); every answer is
 * decrypted and checked against what the seed says it must be. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"
#include "service_clock.h"

/* ---- sending ---- */

static bool send_request(partner_state *p, uint32_t partner_index, uint32_t person_index,
                         uint32_t venue_index, bool link, bool check_out) {
  loadgen_request *r = loadgen_pending_add(lg.pending);
  if (!r) return false;
  partner_sdk_request body = {0};
  if (link) {
    body.kind = PARTNER_SDK_KIND_LINK;
    body.nik = lg.people[person_index].nik;
  } else {
    body.kind = PARTNER_SDK_KIND_SCAN;
    body.token = p->tokens[person_index];
    body.venue_id = lg.venues[venue_index].venue_id;
    body.action = check_out ? PARTNER_SDK_CHECK_OUT : PARTNER_SDK_CHECK_IN;
    body.scanned_at_ms = service_now_ms();
  }
  uint8_t value[PARTNER_SDK_REQUEST_BUFFER];
  size_t len;
  char err[256];
  if (partner_sdk_build_request(p->sdk, &body, r->request_id, value, sizeof value, &len, err, sizeof err))
    loadgen_die(err);
  r->partner = partner_index;
  r->person = person_index;
  r->venue = venue_index;
  r->link = link;
  r->check_out = check_out;
  r->sent_us = loadgen_now_us();
  if (partner_kafka_send(lg.kafka, p->id, r->request_id, value, len))
    loadgen_die("cannot publish to the partner's request topic");
  loadgen_pending_add_done(lg.pending, r);
  p->requests++;
  if (!link && lg.phase_start_us) {
    uint64_t second = (r->sent_us - lg.phase_start_us) / 1000000u;
    if (second < MAX_SECONDS) lg.sent_per_second[second]++;
  }
  return true;
}

/* ---- receiving ---- */

static partner_state *partner_by_topic(const char *topic, uint32_t *index) {
  for (uint32_t i = 0; i < lg.partner_count; i++)
    if (!strcmp(lg.partners[i].topic, topic)) {
      *index = i;
      return &lg.partners[i];
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
  loadgen_request *r = loadgen_pending_find(lg.pending, response.request_id);
  if (!r || r->partner != index) return; /* an answer of an earlier run, or a duplicate */
  uint64_t latency = loadgen_now_us() - r->sent_us;
  latency_histogram_record(&p->latency, latency);
  latency_histogram_record(&lg.all_latency, latency);
  uint64_t second = (loadgen_now_us() - lg.phase_start_us) / 1000000u;
  if (!r->link && lg.phase_start_us) {
    if (second < MAX_SECONDS) lg.per_second[second]++;
    if (second < SECOND_HISTOGRAMS) latency_histogram_record(&lg.second_latency[second], latency);
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
      if (lg.secrets_out) fprintf(lg.secrets_out, "%s\n%s\n", lg.people[r->person].nik, response.token);
      p->linked[p->linked_count++] = r->person;
    }
  } else {
    loadgen_answer answer = {0, response.verdict.status, response.verdict.decision, response.verdict.reason};
    loadgen_colour colour = lg.people[r->person].colour;
    unsigned status = response.verdict.status >= 0 && response.verdict.status < 5 ? (unsigned)response.verdict.status : 0;
    if (response.verdict.decision == 1) p->allow_by_colour[status]++;
    if (response.verdict.decision == 2) p->deny_by_colour[status]++;
    if (response.kind != PARTNER_SDK_KIND_SCAN ||
        !loadgen_expect_scan(colour, &lg.venues[r->venue], r->check_out, &answer))
      p->wrong++;
  }
  loadgen_pending_remove(lg.pending, r);
}

static void expire_old(uint64_t now) {
  uint64_t cutoff = now - (uint64_t)lg.opt.timeout_ms * 1000u;
  loadgen_request *r;
  while ((r = loadgen_pending_oldest_before(lg.pending, cutoff))) {
    lg.partners[r->partner].unanswered++;
    loadgen_pending_remove(lg.pending, r);
  }
}

static void pump(int wait_ms) {
  partner_kafka_poll(lg.kafka, wait_ms, on_answer);
  expire_old(loadgen_now_us());
}

/* ---- phases ---- */

void loadgen_link_phase(void) {
  uint64_t start = loadgen_now_us();
  for (uint32_t i = 0; i < lg.partner_count; i++) {
    partner_state *p = &lg.partners[i];
    p->link_target = lg.opt.people_per_partner < lg.people_count ? lg.opt.people_per_partner : lg.people_count;
    p->linked = calloc(lg.people_count, sizeof *p->linked);
    p->tokens = calloc(lg.people_count, sizeof *p->tokens);
  }
  /* Each partner links its own random sample; shuffle a copy per partner. */
  uint32_t *order = malloc(lg.people_count * sizeof *order);
  for (uint32_t i = 0; i < lg.partner_count; i++) {
    for (uint32_t k = 0; k < lg.people_count; k++) order[k] = k;
    for (uint32_t k = 0; k < lg.partners[i].link_target; k++) {
      uint32_t j = k + randombytes_uniform((uint32_t)(lg.people_count - k));
      uint32_t t = order[k];
      order[k] = order[j];
      order[j] = t;
      while (loadgen_pending_count(lg.pending) >= lg.opt.concurrency) pump(1);
      send_request(&lg.partners[i], i, order[k], 0, true, false);
      partner_kafka_poll(lg.kafka, 0, on_answer);
    }
  }
  free(order);
  while (loadgen_pending_count(lg.pending) && !lg.interrupted) pump(5);
  size_t linked = 0;
  for (uint32_t i = 0; i < lg.partner_count; i++) linked += lg.partners[i].linked_count;
  if (!lg.opt.quiet)
    fprintf(stderr, "lindung-loadgen: linked %zu people through %zu partners in %.2f s\n", linked,
            lg.partner_count, (double)(loadgen_now_us() - start) / 1e6);
  if (!linked) loadgen_die("no Link was answered with a token");
}

static void send_one_scan(void) {
  uint32_t i = randombytes_uniform((uint32_t)lg.partner_count);
  partner_state *p = &lg.partners[i];
  if (!p->linked_count) return;
  uint32_t person_index = p->linked[randombytes_uniform((uint32_t)p->linked_count)];
  uint32_t venue_index = randombytes_uniform((uint32_t)lg.venue_count);
  bool check_out = randombytes_uniform(100) < lg.opt.check_out_percent;
  send_request(p, i, person_index, venue_index, false, check_out);
}

static void reset_scan_counters(void) {
  for (size_t i = 0; i < lg.partner_count; i++) {
    partner_state *p = &lg.partners[i];
    p->requests = p->answered = p->wrong = p->unanswered = 0;
    memset(p->allow_by_colour, 0, sizeof p->allow_by_colour);
    memset(p->deny_by_colour, 0, sizeof p->deny_by_colour);
    memset(p->errors, 0, sizeof p->errors);
    latency_histogram_reset(&p->latency);
  }
  latency_histogram_reset(&lg.all_latency);
  memset(lg.per_second, 0, sizeof lg.per_second);
  memset(lg.sent_per_second, 0, sizeof lg.sent_per_second);
  for (size_t s = 0; s < SECOND_HISTOGRAMS; s++) latency_histogram_reset(&lg.second_latency[s]);
}

double loadgen_scan_phase(void) {
  reset_scan_counters();
  if (lg.opt.cpu_run_dir) loadgen_cpu_start(&lg.cpu);
  lg.phase_start_us = loadgen_now_us();
  uint64_t end = lg.phase_start_us + (uint64_t)(lg.opt.duration_s * 1e6);
  uint64_t next_send = lg.phase_start_us;
  uint64_t last_progress = lg.phase_start_us;
  while (!lg.interrupted) {
    uint64_t now = loadgen_now_us();
    if (now >= end) break;
    if (lg.opt.rate > 0) {
      while (next_send <= now) {
        send_one_scan();
        next_send += loadgen_poisson_gap_us(lg.opt.rate);
      }
      loadgen_wait_until(next_send, pump);
    } else {
      while (loadgen_pending_count(lg.pending) < lg.opt.concurrency) send_one_scan();
      pump(1);
    }
    if (!lg.opt.quiet && now - last_progress >= 1000000u) {
      last_progress = now;
      uint64_t answered = 0;
      for (size_t i = 0; i < lg.partner_count; i++) answered += lg.partners[i].answered;
      fprintf(stderr, "lindung-loadgen: %.0f s: %" PRIu64 " answered, %zu in flight\n",
              (double)(now - lg.phase_start_us) / 1e6, answered, loadgen_pending_count(lg.pending));
    }
  }
  double elapsed = (double)(loadgen_now_us() - lg.phase_start_us) / 1e6;
  /* Give late answers until the timeout before counting them unanswered. */
  uint64_t drain_end = loadgen_now_us() + (uint64_t)lg.opt.timeout_ms * 1000u;
  while (loadgen_pending_count(lg.pending) && loadgen_now_us() < drain_end && !lg.interrupted) pump(5);
  expire_old(UINT64_MAX / 2 + loadgen_now_us());
  if (lg.opt.cpu_run_dir) loadgen_cpu_stop(&lg.cpu);
  return elapsed;
}

