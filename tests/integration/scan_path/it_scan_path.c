/* The scan path end to end, through the running services and the partner
 * library: every colour at a category that admits it and one that does not,
 * link -> scan for each launch partner, and every bad input of the scan
 * path issue with its exact outcome. Writes every NIK and token it used to
 * the file named by argv[1], so run.sh can check no log holds one. */
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lindung/v1/internal.pb-c.h"
#include "lindung/v1/partner.pb-c.h"
#include "partner_kafka.h"
#include "partner_sdk.h"
#include "testing.h"
#include "testing_kafka.h"
#include "testing_partners.h"

#define MAX_CASES 256
enum { OUTCOME_ANSWER, OUTCOME_DEADLETTER };
enum { ALLOW = 1, DENY = 2, ANY_VERDICT = -1 };

typedef struct expected {
  const char *name;
  uint8_t key[16]; /* Kafka key: the request id, or a marker for dead letters */
  size_t key_len;  /* 16, but 15 for the case whose request id is too short */
  int partner;
  int outcome;
  int error;                  /* expected error code (OUTCOME_ANSWER) */
  int decision, reason;       /* expected verdict when error == 0 and not a link */
  int kind;                   /* PARTNER_SDK_KIND_LINK for links */
  char token[PARTNER_SDK_MAX_TOKEN + 1]; /* filled when a Link is answered */
  int answers;
  int answers_on_results; /* a dead-letter case answered on a partner's topic: wrong */
  int got_error, got_decision, got_reason;
} expected;

static expected cases[MAX_CASES];
static size_t case_count;
static partner_sdk *sdk[TESTING_PARTNERS];
static partner_kafka *kafka;
static FILE *secrets_out;
static const char *run_dir;

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static expected *add_case(const char *name, int partner, int outcome, int error) {
  expected *c = &cases[case_count++];
  memset(c, 0, sizeof *c);
  c->name = name;
  c->partner = partner;
  c->outcome = outcome;
  c->error = error;
  return c;
}

static void on_message(const char *topic, const void *key, size_t key_len, const void *value, size_t len) {
  if (!strcmp(topic, "scan.deadletter")) {
    Lindung__V1__DeadLetter *letter = lindung__v1__dead_letter__unpack(NULL, len, value);
    if (!letter) return;
    for (size_t i = 0; i < case_count; i++)
      if (cases[i].outcome == OUTCOME_DEADLETTER && letter->source_key.len == 16 &&
          !memcmp(letter->source_key.data, cases[i].key, 16))
        cases[i].answers++;
    lindung__v1__dead_letter__free_unpacked(letter, NULL);
    return;
  }
  for (int p = 0; p < TESTING_PARTNERS; p++) {
    char expected_topic[64];
    snprintf(expected_topic, sizeof expected_topic, "scan.results.%s", testing_partner_ids[p]);
    if (strcmp(topic, expected_topic)) continue;
    for (size_t i = 0; i < case_count; i++) {
      expected *c = &cases[i];
      size_t want_len = c->key_len ? c->key_len : 16;
      if (c->partner != p || key_len != want_len || memcmp(c->key, key, want_len)) continue;
      if (c->outcome == OUTCOME_DEADLETTER) {
        c->answers_on_results++;
        continue;
      }
      if (want_len != 16) {
        /* An answer to a request id of the wrong size: read its clear error. */
        Lindung__V1__ScanResponse *raw = lindung__v1__scan_response__unpack(NULL, len, value);
        c->answers++;
        c->got_error = raw ? (int)raw->error : -1;
        if (raw) lindung__v1__scan_response__free_unpacked(raw, NULL);
        continue;
      }
      partner_sdk_response response;
      char err[256];
      int rc = partner_sdk_open_response(sdk[p], value, len, &response, err, sizeof err);
      c->answers++;
      c->got_error = rc < 0 ? 100 - rc : rc;
      if (rc == 0 && response.kind == PARTNER_SDK_KIND_SCAN) {
        c->got_decision = response.verdict.decision;
        c->got_reason = response.verdict.reason;
      }
      if (rc == 0 && response.kind == PARTNER_SDK_KIND_LINK) {
        memcpy(c->token, response.token, sizeof c->token);
        fprintf(secrets_out, "%s\n", response.token);
      }
    }
    return;
  }
}

/* Waits until every case has its answer (or 60 s), then checks them. */
static void await_and_check(void) {
  partner_kafka_flush(kafka, 10000);
  uint64_t deadline = now_ms() + 60000;
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < case_count; i++)
      if (!cases[i].answers) all = false;
    if (all || now_ms() > deadline) break;
    partner_kafka_poll(kafka, 50, on_message);
  }
  partner_kafka_poll(kafka, 200, on_message); /* catch duplicates of the last answers */
  for (size_t i = 0; i < case_count; i++) {
    expected *c = &cases[i];
    bool ok = c->answers >= 1 && c->answers_on_results == 0;
    if (c->outcome == OUTCOME_ANSWER && ok) {
      ok = c->got_error == c->error;
      if (ok && c->error == 0 && c->kind != PARTNER_SDK_KIND_LINK && c->decision != ANY_VERDICT)
        ok = c->got_decision == c->decision && c->got_reason == c->reason;
      if (ok && c->error == 0 && c->kind == PARTNER_SDK_KIND_LINK) ok = c->token[0] != '\0';
    }
    testing_checks++;
    if (!ok) {
      testing_failures++;
      fprintf(stderr, "FAIL %-44s answers=%d error=%d decision=%d reason=%d (want error=%d decision=%d reason=%d)\n",
              c->name, c->answers, c->got_error, c->got_decision, c->got_reason, c->error, c->decision,
              c->reason);
    } else {
      fprintf(stderr, "ok   %s\n", c->name);
    }
  }
}

/* ---- building requests ---- */

static size_t build(int partner, const partner_sdk_request *body, uint8_t request_id[16], uint8_t *out) {
  size_t len;
  char err[256];
  if (partner_sdk_build_request(sdk[partner], body, request_id, out, PARTNER_SDK_REQUEST_BUFFER, &len, err,
                                sizeof err)) {
    fprintf(stderr, "build failed: %s\n", err);
    exit(1);
  }
  return len;
}

static expected *send_body(const char *name, int partner, const partner_sdk_request *body, int error) {
  expected *c = add_case(name, partner, OUTCOME_ANSWER, error);
  uint8_t value[PARTNER_SDK_REQUEST_BUFFER];
  size_t len = build(partner, body, c->key, value);
  partner_kafka_send(kafka, testing_partner_ids[partner], c->key, value, len);
  return c;
}

static expected *send_link(const char *name, int partner, const char *nik, int error) {
  partner_sdk_request body = {.kind = PARTNER_SDK_KIND_LINK, .nik = nik};
  expected *c = send_body(name, partner, &body, error);
  c->kind = PARTNER_SDK_KIND_LINK;
  return c;
}

static expected *send_scan(const char *name, int partner, const char *token, const char *venue, int action,
                           int error, int decision, int reason) {
  partner_sdk_request body = {.kind = PARTNER_SDK_KIND_SCAN, .token = token, .venue_id = venue,
                              .scanned_at_ms = now_ms(), .action = action};
  expected *c = send_body(name, partner, &body, error);
  c->decision = decision;
  c->reason = reason;
  return c;
}

/* A valid sealed scan, unpacked so a case can change it before sending. */
static Lindung__V1__ScanRequest *valid_request(const char *token, uint64_t sent_at_ms) {
  partner_sdk_request body = {.kind = PARTNER_SDK_KIND_SCAN, .token = token, .venue_id = "QR-MALL-0001",
                              .scanned_at_ms = now_ms(), .action = PARTNER_SDK_CHECK_IN};
  uint8_t rid[16], value[PARTNER_SDK_REQUEST_BUFFER];
  size_t len;
  char err[256];
  randombytes_buf(rid, sizeof rid);
  if (partner_sdk_build_request_fixed(sdk[0], &body, rid, sent_at_ms, NULL, value, sizeof value, &len, err,
                                      sizeof err))
    exit(1);
  return lindung__v1__scan_request__unpack(NULL, len, value);
}

static void send_crafted(const char *name, Lindung__V1__ScanRequest *request, const uint8_t *key, int outcome,
                         int error) {
  expected *c = add_case(name, 0, outcome, error);
  if (key)
    memcpy(c->key, key, 16);
  else if (request->request_id.len == 16)
    memcpy(c->key, request->request_id.data, 16);
  else
    randombytes_buf(c->key, 16);
  uint8_t value[4096];
  size_t len = lindung__v1__scan_request__pack(request, value);
  partner_kafka_send_raw(kafka, "scan.requests.gojek", c->key, 16, value, len);
  lindung__v1__scan_request__free_unpacked(request, NULL);
}

static void send_dead_letter_case(const char *name, const void *value, size_t len) {
  expected *c = add_case(name, 0, OUTCOME_DEADLETTER, 0);
  randombytes_buf(c->key, 16);
  partner_kafka_send_raw(kafka, "scan.requests.gojek", c->key, 16, value, len);
}

/* ---- people ---- */

static char green_nik[17], yellow_nik[17], red_nik[17], black_nik[17];

static void pick_people(void) {
  char path[4096], line[256];
  snprintf(path, sizeof path, "%s/seed/people.csv", run_dir);
  FILE *f = fopen(path, "r");
  if (!f) exit(1);
  while (fgets(line, sizeof line, f)) {
    char *nik = strtok(line, ",\n"), *status = strtok(NULL, ",\n");
    if (!nik || !status || strlen(nik) != 16) continue;
    char *slot = !strcmp(status, "green") ? green_nik : !strcmp(status, "yellow") ? yellow_nik
               : !strcmp(status, "red")   ? red_nik : !strcmp(status, "black") ? black_nik : NULL;
    if (slot && !slot[0]) {
      memcpy(slot, nik, 17);
      fprintf(secrets_out, "%s\n", nik);
    }
  }
  fclose(f);
  if (!green_nik[0] || !yellow_nik[0] || !red_nik[0] || !black_nik[0]) {
    fprintf(stderr, "the seed lacks a colour\n");
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 2 || sodium_init() < 0) return 2;
  run_dir = getenv("LINDUNG_RUN_DIR");
  secrets_out = fopen(argv[1], "w");
  if (!run_dir || !secrets_out) return 2;
  pick_people();
  testing_open_partner_sdks(run_dir, sdk);
  kafka = testing_open_results("scan.deadletter");

  /* Round 1: links. */
  expected *green = send_link("link green person (gojek)", 0, green_nik, 0);
  expected *yellow = send_link("link yellow person (gojek)", 0, yellow_nik, 0);
  expected *red = send_link("link red person (gojek)", 0, red_nik, 0);
  expected *black = send_link("link black person (gojek)", 0, black_nik, 0);
  expected *per_partner[TESTING_PARTNERS];
  for (int p = 0; p < TESTING_PARTNERS; p++) per_partner[p] = send_link("link green person through each partner", p, green_nik, 0);
  send_link("NIK of 15 digits is MALFORMED", 0, "317101250989000", 1);
  send_link("NIK not in the registry is UNKNOWN_NIK", 0, "9999999999999999", 12);
  await_and_check();
  if (testing_failures) return testing_summary();

  /* A record of almost 1 MB (just under librdkafka's message.max.bytes) is
   * reported by a bounded dead letter, and every partner's requests after it
   * in round 2 are still answered. */
  size_t junk_len = 990000;
  uint8_t *junk = malloc(junk_len);
  if (!junk) return 2;
  randombytes_buf(junk, junk_len);
  send_dead_letter_case("a 990 kB junk record: dead letter, nothing stalls", junk, junk_len);
  free(junk);

  /* Round 2: verdicts for every colour at a mall (admits green and yellow)
   * and a cinema (green only), check-out, and each partner's own token. */
  send_scan("green at mall: ALLOW", 0, green->token, "QR-MALL-0002", 1, 0, ALLOW, 1);
  send_scan("green at cinema: ALLOW", 0, green->token, "QR-CINEMA-0001", 1, 0, ALLOW, 1);
  send_scan("yellow at mall: ALLOW", 0, yellow->token, "QR-MALL-0002", 1, 0, ALLOW, 1);
  send_scan("yellow at cinema: DENY not allowed here", 0, yellow->token, "QR-CINEMA-0001", 1, 0, DENY, 2);
  send_scan("red at mall: DENY not vaccinated", 0, red->token, "QR-MALL-0002", 1, 0, DENY, 4);
  send_scan("red at cinema: DENY not vaccinated", 0, red->token, "QR-CINEMA-0001", 1, 0, DENY, 4);
  send_scan("black at transport: DENY positive or contact", 0, black->token, "QR-TRANSPORT-0001", 1, 0, DENY, 3);
  send_scan("black at cinema: DENY positive or contact", 0, black->token, "QR-CINEMA-0001", 1, 0, DENY, 3);
  send_scan("check-out always accepted", 0, black->token, "QR-MALL-0002", 2, 0, ALLOW, 7);
  for (int p = 0; p < TESTING_PARTNERS; p++)
    send_scan("scan with each partner's own token: ALLOW", p, per_partner[p]->token, "QR-TRANSPORT-0001", 1, 0,
              ALLOW, 1);
  send_scan("token issued to another partner: UNKNOWN_TOKEN", 0, per_partner[1]->token, "QR-MALL-0001", 1, 10, 0, 0);
  send_scan("unknown token: UNKNOWN_TOKEN", 0, "lt1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "QR-MALL-0001", 1,
            10, 0, 0);
  send_scan("unknown venue: UNKNOWN_VENUE", 0, green->token, "QR-NOWHERE-0000", 1, 11, 0, 0);
  send_scan("a Scan with no action: MALFORMED", 0, green->token, "QR-MALL-0001", 0, 1, 0, 0);

  /* Unattributable input goes to scan.deadletter. */
  send_dead_letter_case("empty value: dead letter", "", 0);
  uint8_t noise[200];
  memset(noise, 0xff, sizeof noise); /* wire type 7 does not exist */
  send_dead_letter_case("random bytes: dead letter", noise, sizeof noise);
  Lindung__V1__DeadLetter other = LINDUNG__V1__DEAD_LETTER__INIT;
  other.service = "not-a-scan-request";
  other.source_offset = 42;
  uint8_t other_bytes[256];
  send_dead_letter_case("valid protobuf of another type: dead letter", other_bytes,
                        lindung__v1__dead_letter__pack(&other, other_bytes));

  /* Gojek's own topic carrying a valid Link sealed by grab (gojek speaking
   * for grab): a dead letter, and no answer on grab's topic. */
  {
    partner_sdk_request body = {.kind = PARTNER_SDK_KIND_LINK, .nik = green_nik};
    expected *c = add_case("grab's request on gojek's topic: dead letter, no answer", 1,
                           OUTCOME_DEADLETTER, 0);
    uint8_t value[PARTNER_SDK_REQUEST_BUFFER];
    size_t len = build(1, &body, c->key, value);
    partner_kafka_send_raw(kafka, "scan.requests.gojek", c->key, 16, value, len);
  }

  Lindung__V1__ScanRequest *r;
  uint64_t now = now_ms();
  (void)yellow;
  r = valid_request(green->token, now);
  r->version = 2;
  send_crafted("version 2: MALFORMED", r, NULL, OUTCOME_ANSWER, 1);
  r = valid_request(green->token, now);
  r->request_id.len = 15;
  {
    /* Sent with a 15-byte Kafka key too; the answer echoes the 15 bytes. */
    expected *c = add_case("15-byte request id: MALFORMED", 0, OUTCOME_ANSWER, 1);
    memcpy(c->key, r->request_id.data, 15);
    c->key_len = 15;
    uint8_t value[4096];
    size_t len = lindung__v1__scan_request__pack(r, value);
    partner_kafka_send_raw(kafka, "scan.requests.gojek", c->key, 15, value, len);
    lindung__v1__scan_request__free_unpacked(r, NULL);
  }
  r = valid_request(green->token, now);
  uint8_t other_key[16];
  randombytes_buf(other_key, 16);
  {
    /* The answer is keyed by the request id, not by the odd Kafka key. */
    expected *c = add_case("Kafka key unlike the request id: MALFORMED", 0, OUTCOME_ANSWER, 1);
    memcpy(c->key, r->request_id.data, 16);
    uint8_t value[4096];
    size_t len = lindung__v1__scan_request__pack(r, value);
    partner_kafka_send_raw(kafka, "scan.requests.gojek", other_key, 16, value, len);
    lindung__v1__scan_request__free_unpacked(r, NULL);
  }
  r = valid_request(green->token, now);
  static char unknown_partner[] = "no-such-partner";
  free(r->partner_id);
  r->partner_id = strdup(unknown_partner);
  send_crafted("unknown partner: dead letter", r, NULL, OUTCOME_DEADLETTER, 0);
  r = valid_request(green->token, now);
  r->partner_key_id = 999999;
  send_crafted("partner key id never registered: UNKNOWN_KEY", r, NULL, OUTCOME_ANSWER, 4);
  r = valid_request(green->token, now);
  r->system_key_id = 999999;
  send_crafted("system key id never registered: UNKNOWN_KEY", r, NULL, OUTCOME_ANSWER, 4);
  r = valid_request(green->token, now);
  {
    uint8_t *longer = malloc(25);
    memcpy(longer, r->nonce.data, 24);
    longer[24] = 0;
    free(r->nonce.data);
    r->nonce.data = longer;
    r->nonce.len = 25;
  }
  send_crafted("25-byte nonce: MALFORMED", r, NULL, OUTCOME_ANSWER, 1);
  r = valid_request(green->token, now);
  {
    uint8_t *longer = calloc(1, 1025);
    memcpy(longer, r->ciphertext.data, r->ciphertext.len);
    free(r->ciphertext.data);
    r->ciphertext.data = longer;
    r->ciphertext.len = 1025;
  }
  send_crafted("ciphertext of 1025 bytes: MALFORMED", r, NULL, OUTCOME_ANSWER, 1);
  r = valid_request(green->token, now);
  r->ciphertext.data[3] ^= 0x10;
  send_crafted("one flipped bit in the ciphertext: DECRYPT_FAILED", r, NULL, OUTCOME_ANSWER, 6);
  r = valid_request(green->token, now);
  r->partner_id[4] ^= 0x01; /* gojek -> gojej: no such partner */
  send_crafted("one flipped bit in the partner id: dead letter", r, NULL, OUTCOME_DEADLETTER, 0);
  r = valid_request(green->token, now);
  r->request_id.data[5] ^= 0x04;
  send_crafted("one flipped bit in the request id (key too): DECRYPT_FAILED", r, NULL, OUTCOME_ANSWER, 6);
  r = valid_request(green->token, now);
  {
    uint8_t original[16];
    memcpy(original, r->request_id.data, 16);
    r->request_id.data[5] ^= 0x04;
    expected *c = add_case("one flipped bit in the request id (not the key): MALFORMED", 0, OUTCOME_ANSWER, 1);
    memcpy(c->key, r->request_id.data, 16);
    uint8_t value[4096];
    size_t len = lindung__v1__scan_request__pack(r, value);
    partner_kafka_send_raw(kafka, "scan.requests.gojek", original, 16, value, len);
    lindung__v1__scan_request__free_unpacked(r, NULL);
  }
  r = valid_request(green->token, now);
  r->sent_at_ms ^= 0x01;
  send_crafted("one flipped bit in sent_at_ms: DECRYPT_FAILED", r, NULL, OUTCOME_ANSWER, 6);
  send_crafted("sent_at_ms 301 s in the past: STALE_REQUEST", valid_request(green->token, now - 301000), NULL,
               OUTCOME_ANSWER, 7);
  send_crafted("sent_at_ms 301 s in the future: STALE_REQUEST", valid_request(green->token, now + 301000), NULL,
               OUTCOME_ANSWER, 7);
  {
    /* The same request twice: the first is answered, the second is REPLAYED.
     * Both carry one request id, so each expectation counts answers in order. */
    r = valid_request(green->token, now);
    uint8_t value[4096];
    size_t len = lindung__v1__scan_request__pack(r, value);
    expected *c = add_case("the same request sent twice: first ALLOW, then REPLAYED", 0, OUTCOME_ANSWER, 0);
    memcpy(c->key, r->request_id.data, 16);
    c->decision = ALLOW;
    c->reason = 1;
    partner_kafka_send_raw(kafka, "scan.requests.gojek", c->key, 16, value, len);
    partner_kafka_flush(kafka, 10000);
    /* Let the first one through before its twin arrives. */
    uint64_t until = now_ms() + 30000;
    while (!c->answers && now_ms() < until) partner_kafka_poll(kafka, 50, on_message);
    /* From here on the first case keeps its answer; the twin's must be REPLAYED. */
    c->partner = -1;
    expected *twin = add_case("the same request sent twice: second is REPLAYED", 0, OUTCOME_ANSWER, 8);
    memcpy(twin->key, c->key, 16);
    partner_kafka_send_raw(kafka, "scan.requests.gojek", c->key, 16, value, len);
    lindung__v1__scan_request__free_unpacked(r, NULL);
  }
  /* A venue that fills: QR-CINEMA-TINY has one place (or none at this PPKM
   * level): three check-ins admit at most one and turn the rest away full. */
  expected *tiny[3];
  for (int i = 0; i < 3; i++)
    tiny[i] = send_scan("green at the tiny cinema (checked as a group)", 0, per_partner[0]->token,
                        "QR-CINEMA-TINY", 1, 0, ANY_VERDICT, 0);
  await_and_check();
  int allowed = 0, full = 0;
  for (int i = 0; i < 3; i++) {
    allowed += tiny[i]->got_decision == ALLOW;
    full += tiny[i]->got_decision == DENY && tiny[i]->got_reason == 5;
  }
  CHECK(allowed <= 1);
  CHECK_EQ_INT(allowed + full, 3);
  return testing_summary();
}
