/* Hostile partners through the interface a partner has (its request topic
 * on the real broker):
 *
 *   it_hostile junk <secrets-file>
 *       a ~1 MB junk record on gojek's topic, then one Link from every
 *       partner: each is answered, the junk is reported by a bounded dead
 *       letter; prints how long after the junk the slowest partner was
 *       answered.
 *   it_hostile spoof <count> <secrets-file>
 *       <count> requests on gojek's own topic naming grab: each is dead
 *       lettered as partner_mismatch, none is answered in scan.results.grab;
 *       then grab's own requests (its quota set low by run.sh) are answered,
 *       none RATE_LIMITED: the spoofs spent none of grab's quota.
 *   it_hostile replay <copies> <secrets-file>
 *       one Link from gojek, answered, then the very same record sent again
 *       <copies> times: each copy is answered REPLAYED; prints the request id
 *       (hex) so run.sh can count the replays in the audit trail.
 *   it_hostile sealed <people> <secrets-file> <pads-file>
 *       as a reader of scan.decrypted (the admin principal): gojek links
 *       <people> people and scans each token in; every record decrypt wrote
 *       meanwhile is a SealedRecord holding no NIK, token or response pad in
 *       clear, keyed by 32 bytes that are no unkeyed hash of a NIK or token.
 *       Writes each response pad (hex, recomputed from gojek's session key
 *       and the answer's nonce) to the pads file for run.sh's byte search.
 *       Then junk and a record under an unknown inner key on scan.decrypted:
 *       each dead-lettered by the resolver with its reason, which answers on.
 *   it_hostile retention <topic>...
 *       the broker's retention.ms and segment.ms of each topic (Admin
 *       DescribeConfigs): at most an hour, segments rolled within it.
 *   it_hostile stretch <topic> <retention.ms>
 *       sets the topic's configuration to that retention alone (Admin
 *       AlterConfigs), as a stale deployment would have it.
 *
 * Writes every NIK and token it used to the secrets file, so run.sh can
 * look for them everywhere the stack wrote. */
#define _GNU_SOURCE /* memmem */
#include <librdkafka/rdkafka.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "envelope.h"
#include "hex.h"
#include "lindung/v1/internal.pb-c.h"
#include "lindung/v1/partner.pb-c.h"
#include "partner_kafka.h"
#include "partner_sdk.h"
#include "testing.h"
#include "testing_kafka.h"
#include "testing_partners.h"
#include "token.h"

#define GOJEK 0
#define GRAB 1
/* Just under librdkafka's default message.max.bytes (1,000,000 with overhead). */
#define JUNK_BYTES 990000
#define OWN_REQUESTS 5
/* Spoofed request ids start with this, so any answer to one is recognised. */
static const uint8_t spoof_marker[4] = {'S', 'P', 'O', 'F'};

static partner_sdk *sdk[TESTING_PARTNERS];
static partner_kafka *kafka;
static FILE *secrets_out;
static const char *run_dir;

typedef struct awaited {
  uint8_t id[16];
  int partner;
  int answers;
  int error;
  uint64_t answered_ms;
  char token[PARTNER_SDK_MAX_TOKEN + 1]; /* a Link's answer */
} awaited;

static awaited waits[64];
static size_t wait_count;
static uint8_t junk_key[16];
static size_t junk_letters, junk_letter_value_len, junk_letter_length;
static size_t mismatch_letters, spoof_answers;

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_dead_letter(const void *value, size_t len) {
  Lindung__V1__DeadLetter *letter = lindung__v1__dead_letter__unpack(NULL, len, value);
  if (!letter) return;
  if (letter->source_key.len == 16 && !memcmp(letter->source_key.data, junk_key, 16)) {
    junk_letters++;
    junk_letter_value_len = letter->source_value.len;
    junk_letter_length = (size_t)letter->source_value_length;
  }
  if (letter->source_key.len == 16 && !memcmp(letter->source_key.data, spoof_marker, 4) &&
      !strcmp(letter->reason, "partner_mismatch") &&
      !strcmp(letter->source_topic, "scan.requests.gojek"))
    mismatch_letters++;
  lindung__v1__dead_letter__free_unpacked(letter, NULL);
}

/* --- sealed inside ---------------------------------------------------- */

#define SEALED_MAX_PEOPLE 32
#define SEALED_MAX_RECORDS 1024

static FILE *pads_out;
static envelope_session gojek_session;
typedef struct seen_record {
  uint8_t key[64];
  size_t key_len;
  uint8_t *value;
  size_t len;
} seen_record;
static seen_record decrypted[SEALED_MAX_RECORDS];
static size_t decrypted_count;

/* Gojek's own session keys, as its SDK derives them: its rx is Lindung's tx,
 * from which decrypt makes every response pad it hands the resolver. */
static void open_gojek_session(void) {
  char path[4096], err[256];
  uint8_t text[65], sk[32], pk[32], system_pk[32];
  snprintf(path, sizeof path, "%s/partners/gojek/secret.key", run_dir);
  long n = cfg_read_secret(path, text, 64, true, err, sizeof err);
  const char *system_hex = getenv("LINDUNG_SYSTEM_PUBLIC_KEY");
  if (n != 64 || !system_hex) exit(2);
  text[64] = '\0';
  if (hex_decode((const char *)text, sk, 32) || hex_decode(system_hex, system_pk, 32) ||
      crypto_scalarmult_base(pk, sk) || envelope_partner_session(&gojek_session, pk, sk, system_pk))
    exit(2);
}

/* The pad of an answer: the keystream decrypt derived for its nonce
 * (envelope.c: the Poly1305 key, then the stream after the first block). */
static void write_pad(const void *value, size_t len) {
  Lindung__V1__ScanResponse *response = lindung__v1__scan_response__unpack(NULL, len, value);
  if (!response) return;
  /* The answer opens with gojek_session.rx under this nonce, so the stream
   * below is the very one decrypt cut the pad from: the search for it is
   * a search for what was there. */
  envelope_header header = {.partner_id = response->partner_id,
                            .partner_key_id = response->partner_key_id,
                            .system_key_id = response->system_key_id,
                            .request_id = response->request_id.data,
                            .at_ms = response->created_at_ms};
  uint8_t ad[ENVELOPE_MAX_AD_BYTES], opened[ENVELOPE_MAX_CIPHERTEXT];
  size_t ad_len = response->request_id.len == 16
                      ? envelope_associated_data(ENVELOPE_RESPONSE, &header, ad)
                      : 0;
  bool opens = ad_len && response->nonce.len == ENVELOPE_NONCE_BYTES &&
               response->ciphertext.len >= ENVELOPE_TAG_BYTES &&
               response->ciphertext.len <= sizeof opened &&
               envelope_open(gojek_session.rx, ad, ad_len, response->nonce.data,
                             response->ciphertext.data, response->ciphertext.len, opened) == 0;
  CHECK(opens);
  if (opens) {
    uint8_t stream[64 + ENVELOPE_PAD_MAX_BODY], pad[ENVELOPE_PAD_BYTES];
    char hex[2 * ENVELOPE_PAD_BYTES + 1];
    crypto_stream_xchacha20(stream, sizeof stream, response->nonce.data, gojek_session.rx);
    memcpy(pad, stream, 32);
    memcpy(pad + 32, stream + 64, ENVELOPE_PAD_MAX_BODY);
    sodium_bin2hex(hex, sizeof hex, pad, sizeof pad);
    fprintf(pads_out, "%s\n", hex);
  }
  lindung__v1__scan_response__free_unpacked(response, NULL);
}

static void keep_decrypted(const void *key, size_t key_len, const void *value, size_t len) {
  if (decrypted_count == SEALED_MAX_RECORDS) return;
  seen_record *r = &decrypted[decrypted_count++];
  r->key_len = key_len < sizeof r->key ? key_len : sizeof r->key;
  memcpy(r->key, key, r->key_len);
  r->value = malloc(len ? len : 1);
  if (!r->value) exit(2);
  memcpy(r->value, value, len);
  r->len = len;
}

static void on_message(const char *topic, const void *key, size_t key_len, const void *value,
                       size_t len) {
  if (!strcmp(topic, "scan.deadletter")) {
    on_dead_letter(value, len);
    return;
  }
  if (!strcmp(topic, "scan.decrypted")) {
    keep_decrypted(key, key_len, value, len);
    return;
  }
  if (key_len == 16 && !memcmp(key, spoof_marker, 4)) spoof_answers++;
  for (size_t i = 0; i < wait_count; i++) {
    awaited *w = &waits[i];
    char want_topic[64];
    snprintf(want_topic, sizeof want_topic, "scan.results.%s", testing_partner_ids[w->partner]);
    if (key_len != 16 || memcmp(key, w->id, 16) || strcmp(topic, want_topic)) continue;
    partner_sdk_response response;
    char err[256];
    int rc = partner_sdk_open_response(sdk[w->partner], value, len, &response, err, sizeof err);
    if (!w->answers++) w->answered_ms = now_ms();
    w->error = rc < 0 ? 100 - rc : rc;
    if (rc == 0 && response.kind == PARTNER_SDK_KIND_LINK) {
      fprintf(secrets_out, "%s\n", response.token);
      snprintf(w->token, sizeof w->token, "%s", response.token);
    }
    if (rc == 0 && pads_out && w->partner == GOJEK) write_pad(value, len);
  }
}

/* A sealed Link of this partner into value (PARTNER_SDK_REQUEST_BUFFER). */
static size_t build_link(int partner, const char *nik, uint8_t id[16], uint8_t *value) {
  partner_sdk_request body = {.kind = PARTNER_SDK_KIND_LINK, .nik = nik};
  size_t len;
  char err[256];
  if (partner_sdk_build_request(sdk[partner], &body, id, value, PARTNER_SDK_REQUEST_BUFFER, &len,
                                err, sizeof err)) {
    fprintf(stderr, "build failed: %s\n", err);
    exit(1);
  }
  return len;
}

static void send_link(int partner, const char *nik) {
  awaited *w = &waits[wait_count++];
  memset(w, 0, sizeof *w);
  w->partner = partner;
  uint8_t value[PARTNER_SDK_REQUEST_BUFFER];
  size_t len = build_link(partner, nik, w->id, value);
  partner_kafka_send(kafka, testing_partner_ids[partner], w->id, value, len);
}

/* Polls until every awaited request has an answer or timeout_ms passed. */
static bool await_all(uint64_t timeout_ms) {
  partner_kafka_flush(kafka, 10000);
  uint64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < wait_count; i++) all = all && waits[i].answers > 0;
    if (all) return true;
    if (now_ms() > deadline) return false;
    partner_kafka_poll(kafka, 50, on_message);
  }
}

static void pick_green_nik(char nik[17]) {
  char path[4096], line[256];
  snprintf(path, sizeof path, "%s/seed/people.csv", run_dir);
  FILE *f = fopen(path, "r");
  if (!f) exit(2);
  nik[0] = '\0';
  while (!nik[0] && fgets(line, sizeof line, f)) {
    char *n = strtok(line, ",\n"), *status = strtok(NULL, ",\n");
    if (n && status && strlen(n) == 16 && !strcmp(status, "green")) memcpy(nik, n, 17);
  }
  fclose(f);
  if (!nik[0]) exit(2);
  fprintf(secrets_out, "%s\n", nik);
}

static void attack_junk(const char *nik) {
  uint8_t *junk = malloc(JUNK_BYTES);
  if (!junk) exit(2);
  randombytes_buf(junk, JUNK_BYTES);
  randombytes_buf(junk_key, sizeof junk_key);
  uint64_t sent = now_ms();
  CHECK_EQ_INT(partner_kafka_send_raw(kafka, "scan.requests.gojek", junk_key, 16, junk, JUNK_BYTES),
               0);
  free(junk);
  for (int p = 0; p < TESTING_PARTNERS; p++) send_link(p, nik);
  /* Generous: a busy shared machine must not make this flake; the figure
   * printed below is what the 5 s goal is measured against. */
  CHECK(await_all(60000));
  uint64_t slowest = 0;
  for (size_t i = 0; i < wait_count; i++) {
    CHECK_EQ_INT(waits[i].error, 0);
    if (waits[i].answers && waits[i].answered_ms - sent > slowest)
      slowest = waits[i].answered_ms - sent;
  }
  uint64_t until = now_ms() + 30000;
  while (!junk_letters && now_ms() < until) partner_kafka_poll(kafka, 50, on_message);
  CHECK_EQ_INT(junk_letters, 1);
  CHECK_EQ_INT(junk_letter_length, JUNK_BYTES);
  CHECK(junk_letter_value_len > 0 && junk_letter_value_len <= 4096);
  printf("figure: after a %d-byte junk record, the slowest of %d partners was answered %llu ms "
         "later (goal 5000 ms)\n",
         JUNK_BYTES, TESTING_PARTNERS, (unsigned long long)slowest);
}

static void attack_spoof(size_t count, const char *nik) {
  /* gojek's valid request, rewritten to name grab. */
  uint8_t value[PARTNER_SDK_REQUEST_BUFFER], id[16];
  size_t len = build_link(GOJEK, nik, id, value);
  Lindung__V1__ScanRequest *request = lindung__v1__scan_request__unpack(NULL, len, value);
  if (!request) exit(1);
  free(request->partner_id);
  request->partner_id = strdup("grab");
  uint64_t start = now_ms();
  for (size_t i = 0; i < count; i++) {
    memcpy(request->request_id.data, spoof_marker, 4);
    randombytes_buf(request->request_id.data + 4, 12);
    len = lindung__v1__scan_request__pack(request, value);
    while (partner_kafka_send_raw(kafka, "scan.requests.gojek", request->request_id.data, 16,
                                  value, len) != 0)
      partner_kafka_poll(kafka, 10, on_message);
    if (i % 1000 == 999) partner_kafka_poll(kafka, 0, on_message);
  }
  lindung__v1__scan_request__free_unpacked(request, NULL);
  partner_kafka_flush(kafka, 30000);
  uint64_t until = now_ms() + 180000;
  while (mismatch_letters < count && now_ms() < until) partner_kafka_poll(kafka, 50, on_message);
  uint64_t done = now_ms();
  CHECK_EQ_INT(mismatch_letters, count);
  /* grab's own requests, after every spoof was handled: grab's bucket is
   * still full. */
  wait_count = 0;
  for (int i = 0; i < OWN_REQUESTS; i++) send_link(GRAB, nik);
  CHECK(await_all(60000));
  for (size_t i = 0; i < wait_count; i++) CHECK_EQ_INT(waits[i].error, 0);
  partner_kafka_poll(kafka, 500, on_message);
  CHECK_EQ_INT(spoof_answers, 0);
  printf("figure: %zu requests naming grab on gojek's topic dead-lettered in %.1f s (%.0f/s); "
         "%zu answered to anyone; grab's next %d requests all accepted\n",
         count, (double)(done - start) / 1000.0,
         (double)count * 1000.0 / (double)(done - start + 1), spoof_answers, OWN_REQUESTS);
}

static void attack_replay(size_t copies, const char *nik) {
  uint8_t value[PARTNER_SDK_REQUEST_BUFFER], id[16];
  size_t len = build_link(GOJEK, nik, id, value);
  wait_count = 0;
  awaited *first = &waits[wait_count++];
  memset(first, 0, sizeof *first);
  memcpy(first->id, id, 16);
  partner_kafka_send(kafka, "gojek", id, value, len);
  CHECK(await_all(60000));
  CHECK_EQ_INT(first->error, 0);
  /* The copies share the request id: their answers are counted as they come. */
  for (size_t i = 0; i < copies; i++) partner_kafka_send(kafka, "gojek", id, value, len);
  partner_kafka_flush(kafka, 10000);
  size_t replayed = 0;
  uint64_t until = now_ms() + 60000;
  while (replayed < copies && now_ms() < until) {
    first->answers = 0;
    partner_kafka_poll(kafka, 50, on_message);
    if (first->answers) replayed += first->error == 8 ? (size_t)first->answers : 0;
  }
  CHECK_EQ_INT(replayed, copies);
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, id, 16);
  printf("replayed request id: %s\n", hex);
}

static void pick_people(char niks[][17], size_t count) {
  char path[4096], line[256];
  snprintf(path, sizeof path, "%s/seed/people.csv", run_dir);
  FILE *f = fopen(path, "r");
  if (!f) exit(2);
  size_t n = 0;
  /* From the end of the list: other attacks use its first green person. */
  char all[4096][17];
  size_t total = 0;
  while (total < 4096 && fgets(line, sizeof line, f)) {
    char *nik = strtok(line, ",\n");
    if (nik && strlen(nik) == 16) memcpy(all[total++], nik, 17);
  }
  fclose(f);
  for (; n < count && n < total; n++) {
    memcpy(niks[n], all[total - 1 - n], 17);
    fprintf(secrets_out, "%s\n", niks[n]);
  }
  if (n < count) exit(2);
}

static bool same_as(const seen_record *r, const void *data, size_t len, const char *label) {
  uint8_t unkeyed[32];
  crypto_generichash_state state;
  crypto_generichash_init(&state, NULL, 0, 32);
  if (label) crypto_generichash_update(&state, (const uint8_t *)label, strlen(label));
  crypto_generichash_update(&state, data, len);
  crypto_generichash_final(&state, unkeyed, 32);
  return r->key_len == 32 && !memcmp(r->key, unkeyed, 32);
}

static void check_sealed_records(char niks[][17], size_t people) {
  size_t unsealed = 0, guessable = 0, clear = 0;
  uint32_t key_id = 0;
  for (size_t i = 0; i < decrypted_count; i++) {
    seen_record *r = &decrypted[i];
    Lindung__V1__SealedRecord *sealed = lindung__v1__sealed_record__unpack(NULL, r->len, r->value);
    if (!sealed || !sealed->key_id || sealed->nonce.len != 24 || sealed->ciphertext.len < 16) {
      unsealed++;
    } else {
      key_id = sealed->key_id;
    }
    if (sealed) lindung__v1__sealed_record__free_unpacked(sealed, NULL);
    if (r->key_len != 32) guessable++;
    for (size_t p = 0; p < people; p++) {
      /* The key decrypt used before, and the plain hash a guesser would try. */
      if (same_as(r, niks[p], 16, "nik:") || same_as(r, niks[p], 16, NULL)) guessable++;
      if (memmem(r->value, r->len, niks[p], 16)) clear++;
      const char *token = waits[p].token;
      uint8_t digest[TOKEN_HASH_BYTES];
      token_hash(token, strlen(token), digest);
      if (r->key_len == 32 && !memcmp(r->key, digest, 32)) guessable++;
      if (memmem(r->value, r->len, token, strlen(token)) ||
          memmem(r->value, r->len, digest, sizeof digest))
        clear++;
    }
    free(r->value);
  }
  /* A Link and a Scan per person, whatever else ran meanwhile. */
  CHECK(decrypted_count >= 2 * people);
  CHECK_EQ_INT(unsealed, 0);
  CHECK_EQ_INT(guessable, 0);
  CHECK_EQ_INT(clear, 0);
  printf("figure: %zu records on scan.decrypted, %zu not sealed, %zu keyed by an unkeyed hash of "
         "a NIK or token, %zu holding one in clear (sealed under inner key %u)\n",
         decrypted_count, unsealed, guessable, clear, key_id);
}

/* Dead letters of the resolver about scan.decrypted, by reason. */
static size_t unopened_letters[2];
static const char *const unopened_reasons[2] = {"sealed_malformed", "sealed_unknown_key"};

static void on_resolver_letter(const char *topic, const void *key, size_t key_len,
                               const void *value, size_t len) {
  (void)topic;
  (void)key;
  (void)key_len;
  Lindung__V1__DeadLetter *letter = lindung__v1__dead_letter__unpack(NULL, len, value);
  if (!letter) return;
  for (int i = 0; i < 2; i++)
    if (!strcmp(letter->service, "status-resolver") &&
        !strcmp(letter->source_topic, "scan.decrypted") &&
        !strcmp(letter->reason, unopened_reasons[i]))
      unopened_letters[i]++;
  lindung__v1__dead_letter__free_unpacked(letter, NULL);
}

/* Whoever can write scan.decrypted (here the admin principal) and writes
 * something that is not sealed under a key the resolver holds: it is
 * dead-lettered with its reason, and the resolver goes on answering. */
static void attack_write_decrypted(const char *nik) {
  const char *topics[] = {"scan.deadletter"};
  char err[512];
  partner_kafka *letters =
      partner_kafka_open(getenv("LINDUNG_KAFKA_BROKERS"), testing_kafka_security(), topics, 1,
                         err, sizeof err);
  if (!letters) exit(2);
  uint8_t key[32], junk[200], forged[256];
  randombytes_buf(key, sizeof key);
  randombytes_buf(junk, sizeof junk);
  junk[0] = 0xff; /* field 31, wire type 7: no protobuf message */
  Lindung__V1__SealedRecord record = LINDUNG__V1__SEALED_RECORD__INIT;
  record.key_id = 999999;
  record.nonce.data = junk;
  record.nonce.len = 24;
  record.ciphertext.data = junk + 24;
  record.ciphertext.len = 100;
  size_t forged_len = lindung__v1__sealed_record__pack(&record, forged);
  CHECK_EQ_INT(partner_kafka_send_raw(kafka, "scan.decrypted", key, 32, junk, sizeof junk), 0);
  CHECK_EQ_INT(partner_kafka_send_raw(kafka, "scan.decrypted", key, 32, forged, forged_len), 0);
  partner_kafka_flush(kafka, 10000);
  uint64_t until = now_ms() + 60000;
  while ((!unopened_letters[0] || !unopened_letters[1]) && now_ms() < until)
    partner_kafka_poll(letters, 50, on_resolver_letter);
  CHECK_EQ_INT(unopened_letters[0], 1);
  CHECK_EQ_INT(unopened_letters[1], 1);
  partner_kafka_close(letters);
  wait_count = 0;
  send_link(GOJEK, nik);
  CHECK(await_all(60000));
  CHECK_EQ_INT(waits[0].error, 0);
  printf("figure: junk and a record under an unknown inner key on scan.decrypted: %zu and %zu "
         "dead letters, the next link answered\n",
         unopened_letters[0], unopened_letters[1]);
}

static void attack_read_decrypted(size_t people) {
  char niks[SEALED_MAX_PEOPLE][17];
  if (people == 0 || people > SEALED_MAX_PEOPLE) exit(2);
  pick_people(niks, people);
  open_gojek_session();
  wait_count = 0;
  for (size_t p = 0; p < people; p++) send_link(GOJEK, niks[p]);
  CHECK(await_all(60000));
  for (size_t p = 0; p < people; p++) {
    CHECK_EQ_INT(waits[p].error, 0);
    if (!waits[p].token[0]) exit(1);
  }
  for (size_t p = 0; p < people; p++) {
    awaited *w = &waits[wait_count++];
    memset(w, 0, sizeof *w);
    w->partner = GOJEK;
    partner_sdk_request body = {.kind = PARTNER_SDK_KIND_SCAN, .token = waits[p].token,
                                .venue_id = "QR-MALL-0001", .scanned_at_ms = now_ms(),
                                .action = PARTNER_SDK_CHECK_IN};
    uint8_t value[PARTNER_SDK_REQUEST_BUFFER];
    size_t len;
    char err[256];
    if (partner_sdk_build_request(sdk[GOJEK], &body, w->id, value, sizeof value, &len, err,
                                  sizeof err))
      exit(1);
    partner_kafka_send(kafka, "gojek", w->id, value, len);
  }
  CHECK(await_all(60000));
  for (size_t i = people; i < wait_count; i++) CHECK_EQ_INT(waits[i].error, 0);
  partner_kafka_poll(kafka, 500, on_message); /* stragglers of scan.decrypted */
  check_sealed_records(niks, people);
}

/* An admin client as the stack's admin principal. */
static rd_kafka_t *open_admin(void) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", getenv("LINDUNG_KAFKA_BROKERS"), err,
                        sizeof err) != RD_KAFKA_CONF_OK ||
      ksec_conf_set(conf, testing_kafka_security(), err, sizeof err))
    exit(2);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) exit(2);
  return rk;
}

/* What an operator's mistake (or an old deployment) leaves: the topic keeps
 * retention_ms and the broker's default segments. */
static void stretch_retention(const char *topic, const char *retention_ms) {
  rd_kafka_t *rk = open_admin();
  rd_kafka_ConfigResource_t *resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
  rd_kafka_ConfigResource_set_config(resource, "retention.ms", retention_ms);
  rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
  rd_kafka_AlterConfigs(rk, &resource, 1, NULL, queue);
  rd_kafka_event_t *event = rd_kafka_queue_poll(queue, 30000);
  CHECK(event && !rd_kafka_event_error(event));
  size_t n = 0;
  const rd_kafka_ConfigResource_t **altered =
      event ? rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(event), &n)
            : NULL;
  CHECK(n == 1 && !rd_kafka_ConfigResource_error(altered[0]));
  if (event) rd_kafka_event_destroy(event);
  rd_kafka_ConfigResource_destroy(resource);
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(rk);
}

/* The broker's own word on a topic's retention (DescribeConfigs). */
static void check_retention(int count, char **topics) {
  rd_kafka_t *rk = open_admin();
  rd_kafka_ConfigResource_t *resources[8];
  if (count > 8) exit(2);
  for (int i = 0; i < count; i++)
    resources[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topics[i]);
  rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
  rd_kafka_DescribeConfigs(rk, resources, (size_t)count, NULL, queue);
  rd_kafka_event_t *event = rd_kafka_queue_poll(queue, 30000);
  CHECK(event && !rd_kafka_event_error(event));
  size_t n = 0;
  const rd_kafka_ConfigResource_t **described =
      event ? rd_kafka_DescribeConfigs_result_resources(
                  rd_kafka_event_DescribeConfigs_result(event), &n)
            : NULL;
  CHECK_EQ_INT(n, count);
  for (size_t i = 0; i < n; i++) {
    long long retention = -2, segment = -2;
    size_t m = 0;
    const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(described[i], &m);
    for (size_t j = 0; j < m; j++) {
      const char *name = rd_kafka_ConfigEntry_name(entries[j]);
      const char *v = rd_kafka_ConfigEntry_value(entries[j]);
      if (!strcmp(name, "retention.ms") && v) retention = atoll(v);
      if (!strcmp(name, "segment.ms") && v) segment = atoll(v);
    }
    const char *name = rd_kafka_ConfigResource_name(described[i]);
    CHECK(retention > 0 && retention <= 3600000);
    CHECK(segment > 0 && segment < retention);
    printf("figure: %s retention.ms=%lld segment.ms=%lld (the broker's DescribeConfigs)\n", name,
           retention, segment);
  }
  if (event) rd_kafka_event_destroy(event);
  rd_kafka_ConfigResource_destroy_array(resources, (size_t)count);
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(rk);
}

int main(int argc, char **argv) {
  if (argc < 3 || sodium_init() < 0) return 2;
  if (!strcmp(argv[1], "retention")) {
    check_retention(argc - 2, argv + 2);
    return testing_summary();
  }
  if (!strcmp(argv[1], "stretch") && argc == 4) {
    stretch_retention(argv[2], argv[3]);
    return testing_summary();
  }
  bool junk = !strcmp(argv[1], "junk") && argc == 3;
  bool spoof = !strcmp(argv[1], "spoof") && argc == 4;
  bool replay = !strcmp(argv[1], "replay") && argc == 4;
  bool sealed = !strcmp(argv[1], "sealed") && argc == 5;
  if (!junk && !spoof && !replay && !sealed) return 2;
  run_dir = getenv("LINDUNG_RUN_DIR");
  secrets_out = fopen(argv[sealed ? 3 : argc - 1], "a");
  if (sealed) pads_out = fopen(argv[4], "a");
  if (!run_dir || !secrets_out || (sealed && !pads_out)) return 2;
  setvbuf(secrets_out, NULL, _IOLBF, 0);
  char nik[17];
  pick_green_nik(nik);
  testing_open_partner_sdks(run_dir, sdk);
  kafka = testing_open_results(sealed ? "scan.decrypted" : "scan.deadletter");
  if (junk) attack_junk(nik);
  if (spoof) attack_spoof(strtoul(argv[2], NULL, 10), nik);
  if (replay) attack_replay(strtoul(argv[2], NULL, 10), nik);
  if (sealed) {
    attack_read_decrypted(strtoul(argv[2], NULL, 10));
    attack_write_decrypted(nik);
  }
  if (pads_out) fclose(pads_out);
  partner_kafka_close(kafka);
  for (int p = 0; p < TESTING_PARTNERS; p++) partner_sdk_close(sdk[p]);
  fclose(secrets_out);
  return testing_summary();
}
