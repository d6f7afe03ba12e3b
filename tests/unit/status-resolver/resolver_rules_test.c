/* Unit tests of the status-resolver's pure logic (services/status-resolver/
 * resolver_rules.c, linked from lindung_resolver_lib): routing, the verdict rules of
 * STATUS-RULES.md, the sealed answers and the audit events. */
#define _GNU_SOURCE /* memmem */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "resolver_rules.h"
#include "testing.h"

#define NOW_MS 1700000000123ull

typedef Lindung__V1__Status status_t;

/* A valid token of the asking partner, a known venue of a category that
 * admits both colours, unlimited capacity. */
static resolver_scan_facts facts_ok(status_t status) {
  resolver_scan_facts f;
  memset(&f, 0, sizeof f);
  f.token_found = true;
  f.token_same_partner = true;
  f.person_id = 42;
  f.status = status;
  f.venue_found = true;
  f.admits_green = true;
  f.admits_yellow = true;
  f.share_percent = 70;
  return f;
}

static resolver_scan_outcome decide(const resolver_scan_facts *f, Lindung__V1__Action action) {
  resolver_scan_outcome out;
  resolver_decide(f, action, NOW_MS, &out);
  return out;
}

#define CHECK_VERDICT(o, st, dec, rea)                      \
  do {                                                      \
    CHECK_EQ_INT((o).error, LINDUNG__V1__ERROR_CODE__NONE); \
    CHECK_EQ_INT((o).verdict.status, (st));                 \
    CHECK_EQ_INT((o).verdict.decision, (dec));              \
    CHECK_EQ_INT((o).verdict.reason, (rea));                \
  } while (0)

#define GREEN LINDUNG__V1__STATUS__GREEN
#define YELLOW LINDUNG__V1__STATUS__YELLOW
#define RED LINDUNG__V1__STATUS__RED
#define BLACK LINDUNG__V1__STATUS__BLACK
#define NO_STATUS LINDUNG__V1__STATUS__STATUS_UNSPECIFIED
#define ALLOW LINDUNG__V1__DECISION__ALLOW
#define DENY LINDUNG__V1__DECISION__DENY
#define CHECK_IN LINDUNG__V1__ACTION__CHECK_IN
#define CHECK_OUT LINDUNG__V1__ACTION__CHECK_OUT

static void test_green_admitted_and_not(void) {
  resolver_scan_facts f = facts_ok(GREEN);
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, GREEN, ALLOW, LINDUNG__V1__REASON__STATUS_ALLOWED);
  CHECK_EQ_INT(o.verdict.checked_at_ms, NOW_MS);
  CHECK(o.record);
  CHECK(!o.take_seat);
  CHECK(!o.free_seat);
  CHECK(o.person_known);
  CHECK(o.venue_known);

  f.admits_green = false; /* a category (or a region's override) without green */
  o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, GREEN, DENY, LINDUNG__V1__REASON__STATUS_NOT_ALLOWED_HERE);
  CHECK(o.record);
  CHECK(!o.take_seat);
}

static void test_yellow_admitted_and_not(void) {
  resolver_scan_facts f = facts_ok(YELLOW);
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, YELLOW, ALLOW, LINDUNG__V1__REASON__STATUS_ALLOWED);

  f.admits_yellow = false; /* e.g. cinema, tourism */
  o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, YELLOW, DENY, LINDUNG__V1__REASON__STATUS_NOT_ALLOWED_HERE);
  CHECK(o.record);
}

static void test_red_denied_everywhere(void) {
  resolver_scan_facts f = facts_ok(RED);
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, RED, DENY, LINDUNG__V1__REASON__NOT_VACCINATED);
  f.admits_yellow = false;
  f.admits_green = false;
  o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, RED, DENY, LINDUNG__V1__REASON__NOT_VACCINATED);
  CHECK(o.record);
  CHECK(!o.take_seat);
}

static void test_black_wins(void) {
  /* A venue that admits everything, with room: BLACK still may not enter. */
  resolver_scan_facts f = facts_ok(BLACK);
  f.capacity_limited = true;
  f.capacity = 1000;
  f.share_percent = 100;
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, BLACK, DENY, LINDUNG__V1__REASON__POSITIVE_OR_CONTACT);
  CHECK(!o.take_seat);
  /* Even at a full venue the reason is the colour, not the capacity. */
  f.occupancy = 1000;
  o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, BLACK, DENY, LINDUNG__V1__REASON__POSITIVE_OR_CONTACT);
  f.admits_green = f.admits_yellow = false;
  o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, BLACK, DENY, LINDUNG__V1__REASON__POSITIVE_OR_CONTACT);
}

static void test_no_health_record(void) {
  resolver_scan_facts f = facts_ok(NO_STATUS);
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, NO_STATUS, DENY, LINDUNG__V1__REASON__NO_HEALTH_RECORD);
  CHECK(o.record);
  CHECK(o.person_known);
}

static void test_check_out_always_allowed(void) {
  status_t colours[] = {GREEN, YELLOW, RED, BLACK, NO_STATUS};
  for (size_t i = 0; i < sizeof colours / sizeof colours[0]; i++) {
    resolver_scan_facts f = facts_ok(colours[i]);
    f.admits_green = f.admits_yellow = false;
    f.capacity_limited = true;
    f.capacity = 10;
    f.share_percent = 0; /* closed: leaving is still allowed */
    f.occupancy = 10;
    resolver_scan_outcome o = decide(&f, CHECK_OUT);
    CHECK_VERDICT(o, colours[i], ALLOW, LINDUNG__V1__REASON__CHECKED_OUT);
    CHECK(o.free_seat);
    CHECK(!o.take_seat);
    CHECK(o.record);
  }
}

static void test_unknown_token(void) {
  resolver_scan_facts f = facts_ok(GREEN);
  f.token_found = false;
  f.venue_found = false; /* the token is checked first */
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_EQ_INT(o.error, LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN);
  CHECK(!o.record);
  CHECK(!o.person_known);
  o = decide(&f, CHECK_OUT);
  CHECK_EQ_INT(o.error, LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN);
}

static void test_token_of_another_partner(void) {
  resolver_scan_facts f = facts_ok(GREEN);
  f.token_same_partner = false;
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_EQ_INT(o.error, LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN);
  CHECK(!o.person_known);
  CHECK(!o.record);
  o = decide(&f, CHECK_OUT);
  CHECK_EQ_INT(o.error, LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN);
}

static void test_revoked_token(void) {
  resolver_scan_facts f = facts_ok(GREEN);
  f.token_revoked = true;
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_EQ_INT(o.error, LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN);
  CHECK(!o.person_known);
  CHECK(!o.record);
  o = decide(&f, CHECK_OUT);
  CHECK_EQ_INT(o.error, LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN);
}

static void test_unknown_venue(void) {
  resolver_scan_facts f = facts_ok(GREEN);
  f.venue_found = false;
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_EQ_INT(o.error, LINDUNG__V1__ERROR_CODE__UNKNOWN_VENUE);
  CHECK(o.person_known);
  CHECK(!o.venue_known);
  CHECK(!o.record);
  o = decide(&f, CHECK_OUT);
  CHECK_EQ_INT(o.error, LINDUNG__V1__ERROR_CODE__UNKNOWN_VENUE);
  CHECK(!o.free_seat);
}

static void test_effective_capacity(void) {
  CHECK_EQ_INT(resolver_effective_capacity(100, 70), 70);
  CHECK_EQ_INT(resolver_effective_capacity(7, 50), 3); /* rounded down */
  CHECK_EQ_INT(resolver_effective_capacity(3, 25), 0);
  CHECK_EQ_INT(resolver_effective_capacity(200, 100), 200);
  CHECK_EQ_INT(resolver_effective_capacity(200, 0), 0); /* closed */
  CHECK_EQ_INT(resolver_effective_capacity(0, 70), 0);
  CHECK_EQ_INT(resolver_effective_capacity(200, 150), 200);
}

static void test_venue_with_room_takes_a_seat(void) {
  resolver_scan_facts f = facts_ok(GREEN);
  f.capacity_limited = true;
  f.capacity = 100;
  f.share_percent = 50; /* PPKM level 3 at a mall */
  f.occupancy = 49;
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, GREEN, ALLOW, LINDUNG__V1__REASON__STATUS_ALLOWED);
  CHECK(o.take_seat);
  CHECK_EQ_INT(o.seat_limit, 50);
  CHECK(o.record);
  /* The atomic seat was taken by someone else first. */
  resolver_seat_refused(&o);
  CHECK_VERDICT(o, GREEN, DENY, LINDUNG__V1__REASON__VENUE_FULL);
  CHECK(!o.take_seat);
  CHECK(o.record);

  f = facts_ok(YELLOW);
  f.capacity_limited = true;
  f.capacity = 10;
  f.share_percent = 100;
  o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, YELLOW, ALLOW, LINDUNG__V1__REASON__STATUS_ALLOWED);
  CHECK(o.take_seat);
  CHECK_EQ_INT(o.seat_limit, 10);
}

static void test_venue_full(void) {
  resolver_scan_facts f = facts_ok(GREEN);
  f.capacity_limited = true;
  f.capacity = 100;
  f.share_percent = 50;
  f.occupancy = 50; /* full at this PPKM level, though not by capacity */
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, GREEN, DENY, LINDUNG__V1__REASON__VENUE_FULL);
  CHECK(!o.take_seat);
  CHECK(o.record);

  f = facts_ok(YELLOW);
  f.capacity_limited = true;
  f.capacity = 100;
  f.share_percent = 70;
  f.occupancy = 80; /* over the limit after the level went up */
  o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, YELLOW, DENY, LINDUNG__V1__REASON__VENUE_FULL);
}

static void test_venue_closed_at_level(void) {
  /* Office at PPKM level 4: share 0, closed. */
  resolver_scan_facts f = facts_ok(GREEN);
  f.capacity_limited = true;
  f.capacity = 500;
  f.share_percent = 0;
  f.occupancy = 0;
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, GREEN, DENY, LINDUNG__V1__REASON__VENUE_FULL);
  CHECK(!o.take_seat);
}

static void test_unlimited_venue_takes_no_seat(void) {
  resolver_scan_facts f = facts_ok(GREEN);
  f.capacity_limited = false;
  f.share_percent = 0; /* without a capacity the share limits nothing */
  f.occupancy = 1000000;
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, GREEN, ALLOW, LINDUNG__V1__REASON__STATUS_ALLOWED);
  CHECK(!o.take_seat);
}

static void test_redelivery_repeats_recorded_verdict(void) {
  /* The first delivery allowed; since then the person turned BLACK and the
   * venue filled: a redelivery still answers what was answered. */
  resolver_scan_facts f = facts_ok(BLACK);
  f.capacity_limited = true;
  f.capacity = 10;
  f.share_percent = 100;
  f.occupancy = 10;
  f.recorded = true;
  f.recorded_verdict.status = GREEN;
  f.recorded_verdict.decision = ALLOW;
  f.recorded_verdict.reason = LINDUNG__V1__REASON__STATUS_ALLOWED;
  f.recorded_verdict.checked_at_ms = NOW_MS - 5000;
  resolver_scan_outcome o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, GREEN, ALLOW, LINDUNG__V1__REASON__STATUS_ALLOWED);
  CHECK_EQ_INT(o.verdict.checked_at_ms, NOW_MS - 5000);
  CHECK(!o.record);
  CHECK(!o.take_seat);
  CHECK(!o.free_seat);
  CHECK(o.person_known);

  /* Even when the token was revoked in between. */
  f.token_revoked = true;
  o = decide(&f, CHECK_IN);
  CHECK_VERDICT(o, GREEN, ALLOW, LINDUNG__V1__REASON__STATUS_ALLOWED);

  /* A recorded check-out does not free a second place. */
  f.recorded_verdict.reason = LINDUNG__V1__REASON__CHECKED_OUT;
  o = decide(&f, CHECK_OUT);
  CHECK_VERDICT(o, GREEN, ALLOW, LINDUNG__V1__REASON__CHECKED_OUT);
  CHECK(!o.free_seat);
  CHECK(!o.record);
}

static void test_names_round_trip(void) {
  for (int s = 0; s <= 4; s++) {
    Lindung__V1__Status back = (Lindung__V1__Status)99;
    CHECK_EQ_INT(resolver_status_parse(resolver_status_name((Lindung__V1__Status)s), &back), 0);
    CHECK_EQ_INT(back, s);
  }
  CHECK_EQ_STR(resolver_status_name(GREEN), "green");
  CHECK_EQ_STR(resolver_status_name(BLACK), "black");
  for (int d = 1; d <= 2; d++) {
    Lindung__V1__Decision back = LINDUNG__V1__DECISION__DECISION_UNSPECIFIED;
    CHECK_EQ_INT(resolver_decision_parse(resolver_decision_name((Lindung__V1__Decision)d), &back),
                 0);
    CHECK_EQ_INT(back, d);
  }
  for (int r = 1; r <= 7; r++) {
    Lindung__V1__Reason back = LINDUNG__V1__REASON__REASON_UNSPECIFIED;
    CHECK_EQ_INT(resolver_reason_parse(resolver_reason_name((Lindung__V1__Reason)r), &back), 0);
    CHECK_EQ_INT(back, r);
  }
  CHECK_EQ_STR(resolver_reason_name(LINDUNG__V1__REASON__VENUE_FULL), "venue_full");
  Lindung__V1__Reason r;
  Lindung__V1__Decision d;
  Lindung__V1__Status s;
  CHECK_EQ_INT(resolver_reason_parse("VENUE_FULL", &r), -1);
  CHECK_EQ_INT(resolver_reason_parse("", &r), -1);
  CHECK_EQ_INT(resolver_decision_parse("maybe", &d), -1);
  CHECK_EQ_INT(resolver_status_parse("purple", &s), -1);
  CHECK_EQ_INT(resolver_status_parse(NULL, &s), -1);
  CHECK_EQ_STR(resolver_action_name(CHECK_IN), "check_in");
  CHECK_EQ_STR(resolver_action_name(CHECK_OUT), "check_out");
}

static void test_utf8_cut(void) {
  CHECK_EQ_INT(resolver_utf8_cut("abc", 3, 10), 3);
  CHECK_EQ_INT(resolver_utf8_cut("abcdef", 6, 4), 4);
  /* "é" is 2 bytes (c3 a9): cutting inside it keeps the bytes before. */
  const char *text = "ab\xc3\xa9z";
  CHECK_EQ_INT(resolver_utf8_cut(text, 5, 3), 2);
  CHECK_EQ_INT(resolver_utf8_cut(text, 5, 4), 4);
  /* A 4-byte character (f0 9f 98 80). */
  const char *emoji = "a\xf0\x9f\x98\x80";
  CHECK_EQ_INT(resolver_utf8_cut(emoji, 5, 4), 1);
  CHECK_EQ_INT(resolver_utf8_cut(emoji, 5, 2), 1);
  CHECK_EQ_INT(resolver_utf8_cut(emoji, 5, 1), 1);
}

/* --- routing ------------------------------------------------------------ */

typedef struct fixture {
  Lindung__V1__DecryptedRequest request;
  Lindung__V1__DecryptedScan scan;
  Lindung__V1__DecryptedLink link;
  uint8_t request_id[16];
  uint8_t token_hash[32];
  uint8_t nonce[ENVELOPE_NONCE_BYTES];
  uint8_t pad[ENVELOPE_PAD_BYTES];
  uint8_t tx[32];
  char nik[17];
} fixture;

static void fixture_init(fixture *fx, bool link) {
  Lindung__V1__DecryptedRequest request = LINDUNG__V1__DECRYPTED_REQUEST__INIT;
  Lindung__V1__DecryptedScan scan = LINDUNG__V1__DECRYPTED_SCAN__INIT;
  Lindung__V1__DecryptedLink link_init = LINDUNG__V1__DECRYPTED_LINK__INIT;
  fx->request = request;
  fx->scan = scan;
  fx->link = link_init;
  for (int i = 0; i < 16; i++) fx->request_id[i] = (uint8_t)(0xA0 + i);
  memset(fx->token_hash, 0x5C, sizeof fx->token_hash);
  randombytes_buf(fx->tx, sizeof fx->tx);
  CHECK_EQ_INT(envelope_pad_make(fx->tx, fx->nonce, fx->pad), 0);
  snprintf(fx->nik, sizeof fx->nik, "3174012345678901");

  fx->request.partner_id = (char *)"gojek";
  fx->request.partner_key_id = 7;
  fx->request.system_key_id = 3;
  fx->request.request_id.data = fx->request_id;
  fx->request.request_id.len = 16;
  fx->request.sent_at_ms = NOW_MS - 200;
  fx->request.received_at_ms = NOW_MS - 100;
  fx->request.response_nonce.data = fx->nonce;
  fx->request.response_nonce.len = sizeof fx->nonce;
  fx->request.response_pad.data = fx->pad;
  fx->request.response_pad.len = sizeof fx->pad;
  if (link) {
    fx->link.nik = fx->nik;
    fx->request.kind_case = LINDUNG__V1__DECRYPTED_REQUEST__KIND_LINK;
    fx->request.link = &fx->link;
  } else {
    fx->scan.token_hash.data = fx->token_hash;
    fx->scan.token_hash.len = sizeof fx->token_hash;
    fx->scan.venue_id = (char *)"mall-grand-indonesia";
    fx->scan.scanned_at_ms = NOW_MS - 1000;
    fx->scan.action = CHECK_IN;
    fx->request.kind_case = LINDUNG__V1__DECRYPTED_REQUEST__KIND_SCAN;
    fx->request.scan = &fx->scan;
  }
}

static resolver_route route(const fixture *fx) {
  resolver_route r;
  resolver_route_request(&fx->request, &r);
  return r;
}

#define MALFORMED LINDUNG__V1__ERROR_CODE__MALFORMED

/* --- opening what decrypt sealed ------------------------------------------ */

static inner_seal_keys *inner_keys(uint32_t id, uint8_t fill) {
  uint8_t master[INNER_SEAL_KEY_BYTES];
  memset(master, fill, sizeof master);
  inner_seal_keys *keys = inner_seal_keys_new();
  CHECK(inner_seal_keys_add(keys, id, master) == 0);
  return keys;
}

/* Seals the fixture's request as decrypt does. */
static size_t seal_request(const inner_seal_keys *keys, const fixture *fx, uint8_t *out,
                           size_t cap) {
  uint8_t plain[1024];
  size_t plain_len = lindung__v1__decrypted_request__pack(&fx->request, plain);
  return inner_seal(keys, "scan.decrypted", plain, plain_len, out, cap);
}

static void test_open_request(void) {
  inner_seal_keys *keys = inner_keys(2, 0x44);
  fixture fx;
  fixture_init(&fx, true);
  uint8_t sealed[1200];
  size_t len = seal_request(keys, &fx, sealed, sizeof sealed);
  CHECK(len > 0);
  CHECK(memmem(sealed, len, fx.nik, 16) == NULL);
  CHECK(memmem(sealed, len, fx.pad, sizeof fx.pad) == NULL);
  Lindung__V1__DecryptedRequest *request = NULL;
  CHECK(resolver_open_request(keys, sealed, len, &request) == NULL);
  CHECK(request != NULL);
  if (request) {
    CHECK_EQ_STR(request->partner_id, "gojek");
    CHECK_EQ_INT(request->kind_case, LINDUNG__V1__DECRYPTED_REQUEST__KIND_LINK);
    if (request->link) CHECK_EQ_STR(request->link->nik, fx.nik);
    CHECK(request->response_pad.len == sizeof fx.pad &&
          memcmp(request->response_pad.data, fx.pad, sizeof fx.pad) == 0);
    resolver_route r;
    resolver_route_request(request, &r);
    CHECK_EQ_INT(r.kind, RESOLVER_ROUTE_LINK);
    protobuf_c_message_free_unpacked(&request->base, NULL);
  }
  inner_seal_keys_free(keys);
}

/* A record that does not open is a dead letter with its reason, never a
 * request: the same holds for the clear DecryptedRequest decrypt used to
 * send, so nothing unsealed is ever answered. */
static void test_open_request_refuses(void) {
  inner_seal_keys *keys = inner_keys(2, 0x44), *other = inner_keys(2, 0x45),
                  *rotated = inner_keys(3, 0x44);
  fixture fx;
  fixture_init(&fx, false);
  uint8_t sealed[1200], clear[1024];
  size_t len = seal_request(keys, &fx, sealed, sizeof sealed);
  Lindung__V1__DecryptedRequest *request = (Lindung__V1__DecryptedRequest *)&fx;
  CHECK_EQ_STR(resolver_open_request(other, sealed, len, &request), "sealed_not_opened");
  CHECK(request == NULL);
  CHECK_EQ_STR(resolver_open_request(rotated, sealed, len, &request), "sealed_unknown_key");
  size_t clear_len = lindung__v1__decrypted_request__pack(&fx.request, clear);
  CHECK(resolver_open_request(keys, clear, clear_len, &request) != NULL);
  CHECK(request == NULL);
  CHECK_EQ_STR(resolver_open_request(keys, NULL, 0, &request), "sealed_malformed");
  sealed[len / 2] ^= 0x10;
  CHECK(resolver_open_request(keys, sealed, len, &request) != NULL);
  CHECK(request == NULL);
  /* Sealed correctly, but not a DecryptedRequest inside. */
  const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
  len = inner_seal(keys, "scan.decrypted", junk, sizeof junk, sealed, sizeof sealed);
  CHECK_EQ_STR(resolver_open_request(keys, sealed, len, &request), "sealed_request_invalid");
  CHECK(request == NULL);
  /* Sealed for another topic. */
  len = inner_seal(keys, "scan.accepted", clear, clear_len, sealed, sizeof sealed);
  CHECK_EQ_STR(resolver_open_request(keys, sealed, len, &request), "sealed_not_opened");
  inner_seal_keys_free(rotated);
  inner_seal_keys_free(other);
  inner_seal_keys_free(keys);
}

static void test_route_valid(void) {
  fixture fx;
  fixture_init(&fx, false);
  CHECK_EQ_INT(route(&fx).kind, RESOLVER_ROUTE_SCAN);
  fx.scan.action = CHECK_OUT;
  CHECK_EQ_INT(route(&fx).kind, RESOLVER_ROUTE_SCAN);
  fixture_init(&fx, true);
  CHECK_EQ_INT(route(&fx).kind, RESOLVER_ROUTE_LINK);
}

static void test_route_dead_letter(void) {
  const char *bad[] = {"", "g", "Gojek", "go jek", "gojek_", "a23456789012345678901234567890123"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    fixture fx;
    fixture_init(&fx, false);
    fx.request.partner_id = (char *)bad[i];
    resolver_route r = route(&fx);
    CHECK_EQ_INT(r.kind, RESOLVER_ROUTE_DEAD_LETTER);
    CHECK_EQ_STR(r.dead_letter_reason, "bad_partner_id");
  }
}

static void expect_error(const fixture *fx, Lindung__V1__ErrorCode code) {
  resolver_route r = route(fx);
  CHECK_EQ_INT(r.kind, RESOLVER_ROUTE_ERROR);
  CHECK_EQ_INT(r.error, code);
}

static void test_route_errors(void) {
  fixture fx;
  fixture_init(&fx, false);
  fx.request.request_id.len = 15;
  expect_error(&fx, MALFORMED);
  fixture_init(&fx, false);
  fx.request.partner_key_id = 0;
  expect_error(&fx, MALFORMED);
  fixture_init(&fx, false);
  fx.request.response_pad.len = 0;
  expect_error(&fx, MALFORMED);
  fixture_init(&fx, false);
  fx.request.response_nonce.len = 12;
  expect_error(&fx, MALFORMED);
  fixture_init(&fx, false);
  fx.request.kind_case = LINDUNG__V1__DECRYPTED_REQUEST__KIND__NOT_SET;
  expect_error(&fx, MALFORMED);
  fixture_init(&fx, false);
  fx.scan.action = LINDUNG__V1__ACTION__ACTION_UNSPECIFIED;
  expect_error(&fx, MALFORMED);
  fixture_init(&fx, false);
  fx.scan.venue_id = (char *)"";
  expect_error(&fx, MALFORMED);
  fixture_init(&fx, false);
  fx.scan.venue_id = (char *)"v23456789012345678901234567890123456789012345678901234567890123456";
  expect_error(&fx, MALFORMED);
  fixture_init(&fx, false);
  fx.scan.token_missing = true;
  fx.scan.token_hash.len = 0;
  expect_error(&fx, LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN);
  fixture_init(&fx, false);
  fx.scan.token_hash.len = 31;
  expect_error(&fx, MALFORMED);

  const char *niks[] = {"317401234567890", "31740123456789012", "317401234567890a", ""};
  for (size_t i = 0; i < sizeof niks / sizeof niks[0]; i++) {
    fixture_init(&fx, true);
    fx.link.nik = (char *)niks[i];
    expect_error(&fx, MALFORMED);
  }
}

/* --- sealed answers ----------------------------------------------------- */

static Lindung__V1__ResponseBody *open_response(const fixture *fx, const uint8_t *packed,
                                                size_t len, uint64_t *created_at_ms) {
  Lindung__V1__ScanResponse *response = lindung__v1__scan_response__unpack(NULL, len, packed);
  CHECK(response != NULL);
  if (!response) return NULL;
  CHECK_EQ_INT(response->version, 1);
  CHECK_EQ_STR(response->partner_id, "gojek");
  CHECK_EQ_INT(response->partner_key_id, 7);
  CHECK_EQ_INT(response->system_key_id, 3);
  CHECK_EQ_INT(response->request_id.len, 16);
  CHECK_MEM(response->request_id.data, fx->request_id, 16);
  CHECK_EQ_INT(response->error, LINDUNG__V1__ERROR_CODE__NONE);
  CHECK_EQ_INT(response->nonce.len, ENVELOPE_NONCE_BYTES);
  CHECK_MEM(response->nonce.data, fx->nonce, ENVELOPE_NONCE_BYTES);
  *created_at_ms = response->created_at_ms;

  /* The partner's view: open with its rx (= Lindung's tx) and the response AD. */
  envelope_header header = {.partner_id = "gojek",
                            .partner_key_id = 7,
                            .system_key_id = 3,
                            .request_id = fx->request_id,
                            .at_ms = response->created_at_ms};
  uint8_t ad[ENVELOPE_MAX_AD_BYTES];
  size_t ad_len = envelope_associated_data(ENVELOPE_RESPONSE, &header, ad);
  uint8_t plain[1024];
  Lindung__V1__ResponseBody *body = NULL;
  CHECK(response->ciphertext.len >= 16 && response->ciphertext.len <= sizeof plain + 16);
  int rc = envelope_open(fx->tx, ad, ad_len, fx->nonce, response->ciphertext.data,
                         response->ciphertext.len, plain);
  CHECK_EQ_INT(rc, 0);
  if (rc == 0)
    body = lindung__v1__response_body__unpack(NULL, response->ciphertext.len - 16, plain);
  CHECK(body != NULL);
  lindung__v1__scan_response__free_unpacked(response, NULL);
  return body;
}

static void test_verdict_response_opens(void) {
  fixture fx;
  fixture_init(&fx, false);
  resolver_verdict v = {YELLOW, ALLOW, LINDUNG__V1__REASON__STATUS_ALLOWED, NOW_MS};
  uint8_t out[4096];
  size_t len = resolver_verdict_response(&fx.request, &v, "Grand Indonesia", out, sizeof out);
  CHECK(len > 0);
  uint64_t created = 0;
  Lindung__V1__ResponseBody *body = open_response(&fx, out, len, &created);
  CHECK_EQ_INT(created, NOW_MS);
  if (body) {
    CHECK_EQ_INT(body->kind_case, LINDUNG__V1__RESPONSE_BODY__KIND_VERDICT);
    CHECK_EQ_INT(body->verdict->status, YELLOW);
    CHECK_EQ_INT(body->verdict->decision, ALLOW);
    CHECK_EQ_INT(body->verdict->reason, LINDUNG__V1__REASON__STATUS_ALLOWED);
    CHECK_EQ_STR(body->verdict->venue_name, "Grand Indonesia");
    CHECK_EQ_INT(body->verdict->checked_at_ms, NOW_MS);
    lindung__v1__response_body__free_unpacked(body, NULL);
  }
  /* A redelivery seals the same bytes (the pad must never seal two
   * different messages). */
  uint8_t again[4096];
  size_t len2 = resolver_verdict_response(&fx.request, &v, "Grand Indonesia", again, sizeof again);
  CHECK_EQ_INT(len2, len);
  CHECK_MEM(again, out, len);
}

static void test_verdict_response_long_name(void) {
  fixture fx;
  fixture_init(&fx, false);
  /* 200 four-byte characters: 800 bytes, more than a pad seals. */
  char name[801];
  for (int i = 0; i < 200; i++) memcpy(name + 4 * i, "\xf0\x9f\x98\x80", 4);
  name[800] = '\0';
  resolver_verdict v = {GREEN, DENY, LINDUNG__V1__REASON__VENUE_FULL, NOW_MS};
  uint8_t out[4096];
  size_t len = resolver_verdict_response(&fx.request, &v, name, out, sizeof out);
  CHECK(len > 0);
  uint64_t created;
  Lindung__V1__ResponseBody *body = open_response(&fx, out, len, &created);
  if (body) {
    size_t n = strlen(body->verdict->venue_name);
    CHECK_EQ_INT(n, RESOLVER_VENUE_NAME_MAX);
    CHECK_MEM(body->verdict->venue_name, name, n);
    CHECK_EQ_INT(body->verdict->reason, LINDUNG__V1__REASON__VENUE_FULL);
    lindung__v1__response_body__free_unpacked(body, NULL);
  }
}

static void test_linked_response_opens(void) {
  fixture fx;
  fixture_init(&fx, true);
  const char *token = "lt1_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
  uint8_t out[4096];
  size_t len = resolver_linked_response(&fx.request, token, NOW_MS - 7, out, sizeof out);
  CHECK(len > 0);
  uint64_t created;
  Lindung__V1__ResponseBody *body = open_response(&fx, out, len, &created);
  CHECK_EQ_INT(created, NOW_MS - 7);
  if (body) {
    CHECK_EQ_INT(body->kind_case, LINDUNG__V1__RESPONSE_BODY__KIND_LINKED);
    CHECK_EQ_STR(body->linked->token, token);
    lindung__v1__response_body__free_unpacked(body, NULL);
  }
  /* Neither the token nor the NIK travels in clear. */
  CHECK(memmem(out, len, token, strlen(token)) == NULL);
  CHECK(memmem(out, len, fx.nik, 16) == NULL);
}

static void test_response_refused_without_pad(void) {
  fixture fx;
  fixture_init(&fx, false);
  fx.request.response_pad.len = 10;
  resolver_verdict v = {GREEN, ALLOW, LINDUNG__V1__REASON__STATUS_ALLOWED, NOW_MS};
  uint8_t out[4096];
  CHECK_EQ_INT(resolver_verdict_response(&fx.request, &v, "x", out, sizeof out), 0);
  fixture_init(&fx, false);
  CHECK_EQ_INT(resolver_verdict_response(&fx.request, &v, "x", out, 20), 0);
}

/* --- audit ---------------------------------------------------------------- */

static size_t pack_audit(Lindung__V1__AuditEvent *ev, uint8_t *out) {
  size_t n = lindung__v1__audit_event__get_packed_size(ev);
  CHECK(n < 4096);
  return lindung__v1__audit_event__pack(ev, out);
}

static void test_audit_scan_verdict(void) {
  fixture fx;
  fixture_init(&fx, false);
  uint8_t pseudonym[16];
  memset(pseudonym, 0x77, sizeof pseudonym);
  resolver_audit_facts facts = {.error = LINDUNG__V1__ERROR_CODE__NONE,
                                .decision = DENY,
                                .venue_known = true,
                                .pseudonym = pseudonym};
  Lindung__V1__AuditEvent ev;
  resolver_audit_fill(&fx.request, &facts, NOW_MS, &ev);
  CHECK_EQ_INT(ev.stage, LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_RESOLVE);
  CHECK_EQ_INT(ev.outcome, LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_ANSWERED);
  CHECK_EQ_INT(ev.kind, LINDUNG__V1__REQUEST_KIND__REQUEST_KIND_SCAN);
  CHECK_EQ_INT(ev.action, CHECK_IN);
  CHECK_EQ_INT(ev.decision, DENY);
  CHECK_EQ_STR(ev.venue_id, "mall-grand-indonesia");
  CHECK_EQ_STR(ev.partner_id, "gojek");
  CHECK_EQ_STR(ev.service, "status-resolver");
  CHECK_EQ_INT(ev.subject_pseudonym.len, 16);
  CHECK_MEM(ev.subject_pseudonym.data, pseudonym, 16);
  CHECK_EQ_INT(ev.request_id.len, 16);
  CHECK_EQ_INT(ev.sent_at_ms, NOW_MS - 200);
  CHECK_EQ_INT(ev.received_at_ms, NOW_MS - 100);
  CHECK_EQ_INT(ev.handled_at_ms, NOW_MS);
  uint8_t packed[4096];
  size_t n = pack_audit(&ev, packed);
  /* The token hash is not the token, but it does not belong in the audit
   * trail either. */
  CHECK(memmem(packed, n, fx.token_hash, sizeof fx.token_hash) == NULL);
  CHECK(memmem(packed, n, fx.pad, 32) == NULL);
}

static void test_audit_scan_error(void) {
  fixture fx;
  fixture_init(&fx, false);
  resolver_audit_facts facts = {.error = LINDUNG__V1__ERROR_CODE__UNKNOWN_VENUE,
                                .decision = ALLOW, /* ignored for errors */
                                .venue_known = false,
                                .pseudonym = NULL};
  Lindung__V1__AuditEvent ev;
  resolver_audit_fill(&fx.request, &facts, NOW_MS, &ev);
  CHECK_EQ_INT(ev.outcome, LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_REJECTED);
  CHECK_EQ_INT(ev.error, LINDUNG__V1__ERROR_CODE__UNKNOWN_VENUE);
  CHECK_EQ_INT(ev.decision, LINDUNG__V1__DECISION__DECISION_UNSPECIFIED);
  CHECK_EQ_STR(ev.venue_id, "");
  CHECK_EQ_INT(ev.subject_pseudonym.len, 0);
}

static void test_audit_link(void) {
  fixture fx;
  fixture_init(&fx, true);
  uint8_t pseudonym[16];
  memset(pseudonym, 0x33, sizeof pseudonym);
  resolver_audit_facts facts = {.error = LINDUNG__V1__ERROR_CODE__NONE, .pseudonym = pseudonym};
  Lindung__V1__AuditEvent ev;
  resolver_audit_fill(&fx.request, &facts, NOW_MS, &ev);
  CHECK_EQ_INT(ev.kind, LINDUNG__V1__REQUEST_KIND__REQUEST_KIND_LINK);
  CHECK_EQ_INT(ev.outcome, LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_ANSWERED);
  CHECK_EQ_INT(ev.subject_pseudonym.len, 16);
  uint8_t packed[4096];
  size_t n = pack_audit(&ev, packed);
  CHECK(memmem(packed, n, fx.nik, 16) == NULL);

  /* UNKNOWN_NIK never names anyone, even if a caller passed a pseudonym. */
  facts.error = LINDUNG__V1__ERROR_CODE__UNKNOWN_NIK;
  resolver_audit_fill(&fx.request, &facts, NOW_MS, &ev);
  CHECK_EQ_INT(ev.outcome, LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_REJECTED);
  CHECK_EQ_INT(ev.error, LINDUNG__V1__ERROR_CODE__UNKNOWN_NIK);
  CHECK_EQ_INT(ev.subject_pseudonym.len, 0);
  n = pack_audit(&ev, packed);
  CHECK(memmem(packed, n, fx.nik, 16) == NULL);
}

/* A HealthFact as a lab sends it. */
static Lindung__V1__HealthFact fact_ok(uint8_t id[16], uint8_t hash[32]) {
  Lindung__V1__HealthFact m = LINDUNG__V1__HEALTH_FACT__INIT;
  memset(id, 7, 16);
  memset(hash, 9, 32);
  m.version = 1;
  m.fact_id = (ProtobufCBinaryData){16, id};
  m.nik_hash = (ProtobufCBinaryData){32, hash};
  m.kind = LINDUNG__V1__HEALTH_FACT_KIND__HEALTH_FACT_POSITIVE;
  m.at_ms = NOW_MS - 1000;
  m.detail = "PCR";
  m.source = "lab-rscm";
  return m;
}

static void test_fact_check_accepts(void) {
  uint8_t id[16], hash[32];
  Lindung__V1__HealthFact m = fact_ok(id, hash);
  resolver_fact f;
  const char *reason = NULL;
  CHECK_EQ_INT(resolver_fact_check(&m, NOW_MS, &f, &reason), 0);
  CHECK_EQ_INT(f.fact.kind, HEALTH_FACT_POSITIVE);
  m.detail = "Sinovac, lot 7 \xc3\xa9 \xf0\x9f\x92\x89"; /* UTF-8 is text like any other */
  CHECK_EQ_INT(resolver_fact_check(&m, NOW_MS, &f, &reason), 0);
  m.detail = "PCR";
  CHECK_EQ_INT(f.fact.at_ms, (int64_t)(NOW_MS - 1000));
  CHECK_EQ_INT(f.fact.until_ms, HEALTH_NONE);
  CHECK(f.fact_id == id && f.nik_hash == hash);
  m.until_ms = NOW_MS + 86400000;
  CHECK_EQ_INT(resolver_fact_check(&m, NOW_MS, &f, &reason), 0);
  CHECK_EQ_INT(f.fact.until_ms, (int64_t)(NOW_MS + 86400000));
  /* A little ahead of our clock is fine (clocks differ). */
  m.at_ms = NOW_MS + RESOLVER_FACT_MAX_AHEAD_MS;
  m.until_ms = 0;
  CHECK_EQ_INT(resolver_fact_check(&m, NOW_MS, &f, &reason), 0);
}

static void test_fact_check_refuses(void) {
  uint8_t id[16], hash[32];
  resolver_fact f;
  const char *reason;
  Lindung__V1__HealthFact m;
#define REFUSED(change, why)                                       \
  m = fact_ok(id, hash);                                           \
  change;                                                          \
  reason = NULL;                                                   \
  CHECK_EQ_INT(resolver_fact_check(&m, NOW_MS, &f, &reason), -1);  \
  CHECK_EQ_STR(reason, why)
  REFUSED(m.version = 2, "bad_version");
  REFUSED(m.fact_id.len = 15, "bad_fact_id");
  REFUSED(m.nik_hash.len = 16, "bad_nik_hash");
  REFUSED(m.kind = 0, "bad_kind");
  REFUSED(m.kind = 9, "bad_kind");
  REFUSED(m.at_ms = 0, "bad_at");
  REFUSED(m.at_ms = NOW_MS + RESOLVER_FACT_MAX_AHEAD_MS + 1, "bad_at");
  REFUSED(m.until_ms = m.at_ms, "bad_until");
  REFUSED(m.detail = "line\nbreak", "bad_detail");
  /* Found by tests/fuzz/health_fact: text PostgreSQL refuses would stall
   * the batch (and the partition) on every retry. */
  REFUSED(m.detail = "Sinovac \xff", "bad_detail");
  REFUSED(m.detail = "lot \xc3", "bad_detail");
  REFUSED(m.detail = "\xed\xa0\x80", "bad_detail"); /* a surrogate */
  REFUSED(m.detail = "\xc0\xaf", "bad_detail");     /* overlong */
  REFUSED(m.source = "Lab", "bad_source");
  REFUSED(m.source = "", "bad_source");
#undef REFUSED
}

static void test_fact_audit_names_no_person(void) {
  uint8_t id[16], hash[32];
  Lindung__V1__HealthFact m = fact_ok(id, hash);
  resolver_fact f;
  const char *reason;
  CHECK_EQ_INT(resolver_fact_check(&m, NOW_MS, &f, &reason), 0);
  char detail[96];
  Lindung__V1__AuditEvent e;
  resolver_fact_audit_fill(&f, true, 3, NOW_MS, detail, sizeof detail, &e);
  CHECK_EQ_STR(e.detail, "health_fact positive new contacts=3");
  CHECK_EQ_STR(e.actor, "lab-rscm");
  CHECK_EQ_INT(e.request_id.len, 16);
  CHECK_MEM(e.request_id.data, id, 16);
  CHECK_EQ_INT(e.subject_pseudonym.len, 0);
  CHECK_EQ_INT(e.stage, LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_ADMIN);
  resolver_fact_audit_fill(&f, false, 0, NOW_MS, detail, sizeof detail, &e);
  CHECK_EQ_STR(e.detail, "health_fact positive repeated contacts=0");
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_green_admitted_and_not);
  RUN(test_yellow_admitted_and_not);
  RUN(test_red_denied_everywhere);
  RUN(test_black_wins);
  RUN(test_no_health_record);
  RUN(test_check_out_always_allowed);
  RUN(test_unknown_token);
  RUN(test_token_of_another_partner);
  RUN(test_revoked_token);
  RUN(test_unknown_venue);
  RUN(test_effective_capacity);
  RUN(test_venue_with_room_takes_a_seat);
  RUN(test_venue_full);
  RUN(test_venue_closed_at_level);
  RUN(test_unlimited_venue_takes_no_seat);
  RUN(test_redelivery_repeats_recorded_verdict);
  RUN(test_names_round_trip);
  RUN(test_utf8_cut);
  RUN(test_open_request);
  RUN(test_open_request_refuses);
  RUN(test_route_valid);
  RUN(test_route_dead_letter);
  RUN(test_route_errors);
  RUN(test_verdict_response_opens);
  RUN(test_verdict_response_long_name);
  RUN(test_linked_response_opens);
  RUN(test_response_refused_without_pad);
  RUN(test_audit_scan_verdict);
  RUN(test_audit_scan_error);
  RUN(test_audit_link);
  RUN(test_fact_check_accepts);
  RUN(test_fact_check_refuses);
  RUN(test_fact_audit_names_no_person);
  return testing_summary();
}
