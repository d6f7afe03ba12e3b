/* Unit tests of the answer log's pure rules (services/status-resolver/
 * resolver_answers.c, linked from lindung_resolver): the request digest
 * tells a redelivery from a reuse of the id, and an answer on record is
 * repeated. */
#include <sodium.h>
#include <string.h>

#include "resolver_answers.h"
#include "testing.h"

static uint8_t request_id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static uint8_t token_hash[32] = {7};

static void scan_request(Lindung__V1__DecryptedRequest *req, Lindung__V1__DecryptedScan *scan) {
  lindung__v1__decrypted_request__init(req);
  lindung__v1__decrypted_scan__init(scan);
  req->partner_id = "gojek";
  req->partner_key_id = 1;
  req->request_id.data = request_id;
  req->request_id.len = sizeof request_id;
  req->sent_at_ms = 1700000000000ull;
  req->received_at_ms = 1700000000100ull;
  req->kind_case = LINDUNG__V1__DECRYPTED_REQUEST__KIND_SCAN;
  req->scan = scan;
  scan->token_hash.data = token_hash;
  scan->token_hash.len = sizeof token_hash;
  scan->venue_id = "QR-MALL-0001";
  scan->scanned_at_ms = 1699999999000ull;
  scan->action = LINDUNG__V1__ACTION__CHECK_IN;
}

static void digest_of(const Lindung__V1__DecryptedRequest *req, uint8_t out[16]) {
  CHECK_EQ_INT(resolver_request_digest(req, NULL, 0, out), 0);
}

static void test_redelivery_same_digest(void) {
  Lindung__V1__DecryptedRequest a, b;
  Lindung__V1__DecryptedScan sa, sb;
  scan_request(&a, &sa);
  scan_request(&b, &sb);
  /* What decrypt adds per pass (receive time, response pad) is not asked. */
  b.received_at_ms += 5000;
  uint8_t pad[32] = {9};
  b.response_pad.data = pad;
  b.response_pad.len = sizeof pad;
  uint8_t da[16], db[16];
  digest_of(&a, da);
  digest_of(&b, db);
  CHECK(memcmp(da, db, 16) == 0);
}

static void test_reuse_different_digest(void) {
  Lindung__V1__DecryptedRequest a, b;
  Lindung__V1__DecryptedScan sa, sb;
  uint8_t da[16], db[16];
  scan_request(&a, &sa);
  digest_of(&a, da);
  scan_request(&b, &sb);
  b.sent_at_ms += 1;
  digest_of(&b, db);
  CHECK(memcmp(da, db, 16) != 0);
  scan_request(&b, &sb);
  sb.venue_id = "QR-MALL-0002";
  digest_of(&b, db);
  CHECK(memcmp(da, db, 16) != 0);
  scan_request(&b, &sb);
  sb.action = LINDUNG__V1__ACTION__CHECK_OUT;
  digest_of(&b, db);
  CHECK(memcmp(da, db, 16) != 0);
  scan_request(&b, &sb);
  b.partner_id = "grab";
  digest_of(&b, db);
  CHECK(memcmp(da, db, 16) != 0);
}

static void test_link_digest(void) {
  Lindung__V1__DecryptedRequest req;
  Lindung__V1__DecryptedLink link;
  lindung__v1__decrypted_request__init(&req);
  lindung__v1__decrypted_link__init(&link);
  req.partner_id = "gojek";
  req.request_id.data = request_id;
  req.request_id.len = sizeof request_id;
  req.kind_case = LINDUNG__V1__DECRYPTED_REQUEST__KIND_LINK;
  req.link = &link;
  uint8_t nik_a[32] = {1}, nik_b[32] = {2}, da[16], db[16];
  CHECK_EQ_INT(resolver_request_digest(&req, NULL, 0, da), -1); /* a Link needs its NIK hash */
  CHECK_EQ_INT(resolver_request_digest(&req, nik_a, sizeof nik_a, da), 0);
  CHECK_EQ_INT(resolver_request_digest(&req, nik_b, sizeof nik_b, db), 0);
  CHECK(memcmp(da, db, 16) != 0);
}

static void test_check(void) {
  uint8_t ours[16] = {1}, other[16] = {2};
  Lindung__V1__ErrorCode error = LINDUNG__V1__ERROR_CODE__NONE;
  CHECK_EQ_INT(resolver_answer_check(false, NULL, 0, 0, ours, &error), RESOLVER_ANSWER_NEW);
  CHECK_EQ_INT(error, LINDUNG__V1__ERROR_CODE__NONE);
  /* a verdict on record: repeated (check_ins holds it), no error */
  CHECK_EQ_INT(resolver_answer_check(true, ours, 16, 0, ours, &error), RESOLVER_ANSWER_REPEAT);
  CHECK_EQ_INT(error, LINDUNG__V1__ERROR_CODE__NONE);
  /* an error on record is answered again, whatever the facts say now */
  CHECK_EQ_INT(resolver_answer_check(true, ours, 16, LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN, ours,
                                     &error),
               RESOLVER_ANSWER_REPEAT);
  CHECK_EQ_INT(error, LINDUNG__V1__ERROR_CODE__UNKNOWN_TOKEN);
  /* another request under the same id, or a digest of the wrong size */
  error = LINDUNG__V1__ERROR_CODE__NONE;
  CHECK_EQ_INT(resolver_answer_check(true, other, 16, 0, ours, &error), RESOLVER_ANSWER_REPLAYED);
  CHECK_EQ_INT(error, LINDUNG__V1__ERROR_CODE__REPLAYED);
  error = LINDUNG__V1__ERROR_CODE__NONE;
  CHECK_EQ_INT(resolver_answer_check(true, ours, 8, 0, ours, &error), RESOLVER_ANSWER_REPLAYED);
}

static void test_replay_audit_id(void) {
  uint8_t d1[16] = {1}, d2[16] = {2}, a[16], b[16], c[16];
  resolver_answer_replay_audit_id(request_id, 16, d1, a);
  resolver_answer_replay_audit_id(request_id, 16, d1, b);
  resolver_answer_replay_audit_id(request_id, 16, d2, c);
  CHECK(memcmp(a, b, 16) == 0);       /* the same replay redelivered: one record */
  CHECK(memcmp(a, c, 16) != 0);       /* another replay: its own */
  CHECK(memcmp(a, request_id, 16) != 0); /* never the original's identity */
}

static void test_recordable(void) {
  CHECK(resolver_answer_recordable(LINDUNG__V1__ERROR_CODE__NONE));
  CHECK(resolver_answer_recordable(LINDUNG__V1__ERROR_CODE__UNKNOWN_VENUE));
  CHECK(!resolver_answer_recordable(LINDUNG__V1__ERROR_CODE__UNAVAILABLE));
  CHECK(!resolver_answer_recordable(LINDUNG__V1__ERROR_CODE__REPLAYED));
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_redelivery_same_digest);
  RUN(test_reuse_different_digest);
  RUN(test_link_digest);
  RUN(test_check);
  RUN(test_replay_audit_id);
  RUN(test_recordable);
  return testing_summary();
}
