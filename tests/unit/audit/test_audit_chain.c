/* Unit tests of the audit chain: canonical encoding, hashes, events to rows
 * and back, checkpoints, and the verify walker finding the first bad seq. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chain.h"
#include "audit_store.h"
#include "audit_verify.h"
#include "audit_watch.h"
#include "testing.h"

#define CHAIN_LEN 8

static audit_row chain[CHAIN_LEN];
static uint8_t chain_ids[CHAIN_LEN][16];
static const uint8_t seed[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static audit_bytes text_col(const char *s) {
  audit_bytes b = {(const uint8_t *)s, s ? strlen(s) : 0, s != NULL};
  return b;
}

/* A chain of CHAIN_LEN rows (seq 1..), hashed as audit_append would. */
static void build_chain(void) {
  uint8_t prev[32] = {0};
  for (int i = 0; i < CHAIN_LEN; i++) {
    audit_row *r = &chain[i];
    memset(r, 0, sizeof *r);
    memset(chain_ids[i], 0xA0 + i, 16);
    r->seq = i + 1;
    r->request_id = (audit_bytes){chain_ids[i], 16, true};
    r->stage = 1 + i % 3;
    r->partner_id = text_col("gojek");
    r->outcome = 1;
    r->kind = 1;
    r->action = 1;
    r->venue_id = text_col(i % 2 ? "mall-01" : NULL);
    r->sent_at_ms = (audit_opt_int){1700000000000 + i, true};
    r->handled_at_ms = (audit_opt_int){1700000000100 + i, true};
    r->service = text_col("ingest");
    r->appended_at_us = 1700000000123456 + i;
    memcpy(r->prev_hash, prev, 32);
    CHECK_EQ_INT(audit_row_hash(r, r->hash), 0);
    memcpy(prev, r->hash, 32);
  }
}

static void make_checkpoint(audit_checkpoint *c, int64_t seq) {
  memset(c, 0, sizeof *c);
  c->seq = seq;
  memcpy(c->head_hash, chain[seq - 1].hash, 32);
  c->signed_at_us = 1700000001000000;
  CHECK_EQ_INT(audit_checkpoint_sign(c, seed), 0);
}

/* Walks rows[0..n) from the database's point of view (start at seq 1). */
static audit_walk walk(const audit_row *rows, size_t n, audit_checkpoint *cps, size_t ncp,
                       const uint8_t *key) {
  audit_walk w;
  audit_walk_sort_checkpoints(cps, ncp);
  audit_walk_begin(&w, cps, ncp, key, 1);
  for (size_t i = 0; i < n; i++)
    if (audit_walk_row(&w, &rows[i])) break;
  audit_walk_end(&w);
  return w;
}

static void test_canonical_encoding_layout(void) {
  audit_row r;
  memset(&r, 0, sizeof r);
  uint8_t id[2] = {0xAB, 0xCD};
  r.seq = 258;
  r.request_id = (audit_bytes){id, 2, true};
  r.stage = 3;
  r.service = text_col("");
  r.appended_at_us = 1;
  uint8_t out[256];
  size_t len = audit_canonical(&r, out, sizeof out);
  CHECK_EQ_INT(audit_canonical(&r, NULL, 0), len);
  /* magic, seq, request_id, stage */
  static const uint8_t head[] = {
      'L', 'A', 'R', '1',  1,    0, 0, 0, 0, 0, 0, 1, 2, 1, 0,
      0,   0,   2,   0xAB, 0xCD, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0 /* partner_id NULL */};
  CHECK_MEM(out, head, sizeof head);
  /* 4 + int(9) + bytes(1+4+2) + int + NULL + 4 ints + NULL + int + NULL + 3 NULL times
   * + service(1+4+0) + 2 NULLs + int */
  CHECK_EQ_INT(len, 4 + 9 + 7 + 9 + 1 + 4 * 9 + 1 + 9 + 1 + 3 + 5 + 2 + 9);
  /* The last field is appended_at_us = 1. */
  static const uint8_t tail[] = {1, 0, 0, 0, 0, 0, 0, 0, 1};
  CHECK_MEM(out + len - 9, tail, 9);
}

static void test_null_differs_from_empty(void) {
  build_chain();
  audit_row a = chain[0], b = chain[0];
  a.detail = text_col(NULL);
  b.detail = text_col("");
  uint8_t ha[32], hb[32];
  audit_row_hash(&a, ha);
  audit_row_hash(&b, hb);
  CHECK(memcmp(ha, hb, 32) != 0);
  /* Field boundaries are unambiguous: moving a byte between fields changes the hash. */
  a = chain[0];
  b = chain[0];
  a.partner_id = text_col("ab");
  a.venue_id = text_col("c");
  b.partner_id = text_col("a");
  b.venue_id = text_col("bc");
  audit_row_hash(&a, ha);
  audit_row_hash(&b, hb);
  CHECK(memcmp(ha, hb, 32) != 0);
}

static void test_intact_chain_verifies(void) {
  build_chain();
  audit_checkpoint cps[2];
  make_checkpoint(&cps[0], 6);
  make_checkpoint(&cps[1], 3);
  uint8_t pk[32];
  memcpy(pk, cps[0].public_key, 32);
  audit_walk w = walk(chain, CHAIN_LEN, cps, 2, pk);
  CHECK(!w.broken);
  CHECK_EQ_INT(w.rows, CHAIN_LEN);
  CHECK_EQ_INT(w.checkpoints_matched, 2);
  CHECK_EQ_INT(w.last_checkpoint_seq, 6);
}

static void test_edited_row_found(void) {
  build_chain();
  audit_row rows[CHAIN_LEN];
  memcpy(rows, chain, sizeof rows);
  rows[4].outcome = 3; /* seq 5 */
  audit_walk w = walk(rows, CHAIN_LEN, NULL, 0, NULL);
  CHECK(w.broken);
  CHECK_EQ_INT(w.bad_seq, 5);
  CHECK_EQ_STR(w.reason, "hash mismatch");
  /* Every column counts, appended_at too. */
  memcpy(rows, chain, sizeof rows);
  rows[1].appended_at_us += 1;
  w = walk(rows, CHAIN_LEN, NULL, 0, NULL);
  CHECK_EQ_INT(w.bad_seq, 2);
  memcpy(rows, chain, sizeof rows);
  rows[6].sent_at_ms.present = false;
  w = walk(rows, CHAIN_LEN, NULL, 0, NULL);
  CHECK_EQ_INT(w.bad_seq, 7);
}

static void test_deleted_row_found(void) {
  build_chain();
  audit_row rows[CHAIN_LEN];
  size_t n = 0;
  for (int i = 0; i < CHAIN_LEN; i++)
    if (i != 3) rows[n++] = chain[i]; /* seq 4 gone */
  audit_walk w = walk(rows, n, NULL, 0, NULL);
  CHECK(w.broken);
  CHECK_EQ_INT(w.bad_seq, 4);
  CHECK_EQ_STR(w.reason, "record missing");
  /* The first row gone. */
  w = walk(chain + 1, CHAIN_LEN - 1, NULL, 0, NULL);
  CHECK_EQ_INT(w.bad_seq, 1);
}

static void test_reordered_rows_found(void) {
  build_chain();
  audit_row rows[CHAIN_LEN];
  memcpy(rows, chain, sizeof rows);
  /* Rows 3 and 4 swap places: each keeps its content, seq renumbered. */
  rows[2] = chain[3];
  rows[2].seq = 3;
  rows[3] = chain[2];
  rows[3].seq = 4;
  audit_walk w = walk(rows, CHAIN_LEN, NULL, 0, NULL);
  CHECK(w.broken);
  CHECK_EQ_INT(w.bad_seq, 3);
  /* Swapped without renumbering, as fed in the wrong order. */
  memcpy(rows, chain, sizeof rows);
  rows[2] = chain[3];
  rows[3] = chain[2];
  w = walk(rows, CHAIN_LEN, NULL, 0, NULL);
  CHECK_EQ_INT(w.bad_seq, 3);
}

static void test_rehashed_chain_caught_by_checkpoint(void) {
  build_chain();
  audit_checkpoint cps[1];
  make_checkpoint(&cps[0], 7);
  audit_row rows[CHAIN_LEN];
  memcpy(rows, chain, sizeof rows);
  /* Edit seq 3 and recompute every hash after it: the chain is consistent
   * again, but no longer matches what was signed. */
  rows[2].decision = 2;
  for (int i = 2; i < CHAIN_LEN; i++) {
    memcpy(rows[i].prev_hash, rows[i - 1].hash, 32);
    audit_row_hash(&rows[i], rows[i].hash);
  }
  audit_walk w = walk(rows, CHAIN_LEN, cps, 1, NULL);
  CHECK(w.broken);
  CHECK_EQ_INT(w.bad_seq, 7);
  CHECK(strstr(w.reason, "checkpoint") != NULL);
}

static void test_truncated_tail_caught_by_checkpoint(void) {
  build_chain();
  audit_checkpoint cps[1];
  make_checkpoint(&cps[0], 6);
  audit_walk w = walk(chain, 4, cps, 1, NULL);
  CHECK(w.broken);
  CHECK_EQ_INT(w.bad_seq, 5);
  CHECK(strstr(w.reason, "missing") != NULL);
  /* Without a checkpoint past the end, a shorter chain is still a chain. */
  w = walk(chain, 4, NULL, 0, NULL);
  CHECK(!w.broken);
}

static void test_bad_checkpoints_found(void) {
  build_chain();
  audit_checkpoint cps[2];
  make_checkpoint(&cps[0], 2);
  make_checkpoint(&cps[1], 5);
  cps[1].signature[10] ^= 1;
  audit_walk w = walk(chain, CHAIN_LEN, cps, 2, NULL);
  CHECK(w.broken);
  CHECK_EQ_INT(w.bad_seq, 5);
  CHECK_EQ_STR(w.reason, "checkpoint signature invalid");
  /* A valid signature by a key that is not the trusted one. */
  make_checkpoint(&cps[0], 2);
  make_checkpoint(&cps[1], 5);
  uint8_t other[32];
  memset(other, 7, 32);
  w = walk(chain, CHAIN_LEN, cps, 2, other);
  CHECK_EQ_INT(w.bad_seq, 2);
  CHECK_EQ_STR(w.reason, "checkpoint signed by an untrusted key");
  /* An earlier broken row wins over a later bad checkpoint. */
  audit_row rows[CHAIN_LEN];
  memcpy(rows, chain, sizeof rows);
  rows[0].stage = 4;
  cps[1].signature[0] ^= 1;
  w = walk(rows, CHAIN_LEN, cps, 2, NULL);
  CHECK_EQ_INT(w.bad_seq, 1);
}

static void test_checkpoint_signature(void) {
  build_chain();
  audit_checkpoint c;
  make_checkpoint(&c, 4);
  CHECK_EQ_INT(audit_checkpoint_verify(&c), 0);
  uint8_t pk[32], sk[64];
  crypto_sign_seed_keypair(pk, sk, seed);
  CHECK_MEM(c.public_key, pk, 32);
  c.signed_at_us++;
  CHECK(audit_checkpoint_verify(&c) != 0);
  c.signed_at_us--;
  c.head_hash[0] ^= 1;
  CHECK(audit_checkpoint_verify(&c) != 0);
  /* Through the protobuf and back. */
  make_checkpoint(&c, 4);
  Lindung__V1__AuditCheckpoint proto;
  audit_checkpoint_fill(&c, &proto);
  audit_checkpoint back;
  CHECK_EQ_INT(audit_checkpoint_from_proto(&proto, &back), 0);
  CHECK_MEM(&back, &c, sizeof c);
}

static Lindung__V1__AuditEvent good_event(void) {
  Lindung__V1__AuditEvent e = LINDUNG__V1__AUDIT_EVENT__INIT;
  static uint8_t rid[16] = {9, 9, 9};
  static uint8_t pseudonym[32] = {5};
  e.version = 1;
  e.stage = LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_RESOLVE;
  e.request_id = (ProtobufCBinaryData){16, rid};
  e.partner_id = "grab";
  e.outcome = LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_ANSWERED;
  e.venue_id = "mall-\"01\"\n";
  e.subject_pseudonym = (ProtobufCBinaryData){32, pseudonym};
  e.sent_at_ms = 1700000000000;
  e.handled_at_ms = 1700000000050;
  e.service = "status-resolver";
  return e;
}

static void test_event_problems(void) {
  Lindung__V1__AuditEvent e = good_event();
  CHECK(audit_event_problem(&e) == NULL);
  e.stage = 0;
  CHECK_EQ_STR(audit_event_problem(&e), "unknown_stage");
  e.stage = 5;
  CHECK_EQ_STR(audit_event_problem(&e), "unknown_stage");
  e = good_event();
  e.version = 2;
  CHECK_EQ_STR(audit_event_problem(&e), "unsupported_version");
  e = good_event();
  e.partner_id = "bad\xff";
  CHECK_EQ_STR(audit_event_problem(&e), "bad_text");
  e.partner_id = "\xed\xa0\x80"; /* a surrogate */
  CHECK_EQ_STR(audit_event_problem(&e), "bad_text");
  e.partner_id = "\xc3";
  CHECK_EQ_STR(audit_event_problem(&e), "bad_text");
  e.partner_id = "caf\xc3\xa9";
  CHECK(audit_event_problem(&e) == NULL);
  e = good_event();
  e.outcome = 70000;
  CHECK_EQ_STR(audit_event_problem(&e), "bad_enum");
  e = good_event();
  e.sent_at_ms = UINT64_MAX;
  CHECK_EQ_STR(audit_event_problem(&e), "bad_time");
}

static void test_event_to_record_round_trip(void) {
  Lindung__V1__AuditEvent e = good_event();
  uint8_t source[16] = {1};
  audit_row row;
  audit_row_from_event(&e, source, &row);
  CHECK(!row.partner_id.present == false);
  CHECK(!row.detail.present);
  CHECK(!row.received_at_ms.present);
  CHECK_MEM(row.request_id.data, e.request_id.data, 16);
  row.seq = 42;
  row.appended_at_us = 1700000000999999;
  memset(row.prev_hash, 0x11, 32);
  audit_row_hash(&row, row.hash);

  Lindung__V1__AuditRecord record;
  Lindung__V1__AuditEvent ev;
  audit_record_fill(&row, &record, &ev);
  Lindung__V1__AuditLogEntry entry = LINDUNG__V1__AUDIT_LOG_ENTRY__INIT;
  entry.entry_case = LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_RECORD;
  entry.record = &record;
  uint8_t buf[2048];
  size_t len = lindung__v1__audit_log_entry__pack(&entry, buf);
  Lindung__V1__AuditLogEntry *back = lindung__v1__audit_log_entry__unpack(NULL, len, buf);
  CHECK(back != NULL);
  audit_row again;
  CHECK_EQ_INT(audit_row_from_record(back->record, &again), 0);
  uint8_t hash[32];
  audit_row_hash(&again, hash);
  CHECK_MEM(hash, row.hash, 32);
  CHECK_MEM(again.hash, row.hash, 32);
  lindung__v1__audit_log_entry__free_unpacked(back, NULL);

  /* No request id: the source id stands in. */
  e.request_id.len = 0;
  audit_row_from_event(&e, source, &row);
  CHECK(row.request_id.present);
  CHECK_EQ_INT(row.request_id.len, 16);
  CHECK_MEM(row.request_id.data, source, 16);
}

static void test_capture_may_start_mid_chain(void) {
  build_chain();
  audit_checkpoint cps[2];
  make_checkpoint(&cps[0], 2); /* before the capture: not checkable */
  make_checkpoint(&cps[1], 6);
  audit_walk w;
  audit_walk_begin(&w, cps, 2, NULL, 0);
  for (int i = 3; i < CHAIN_LEN; i++) audit_walk_row(&w, &chain[i]);
  audit_walk_end(&w);
  CHECK(!w.broken);
  CHECK_EQ_INT(w.first_seq, 4);
  CHECK_EQ_INT(w.checkpoints_matched, 1);
  /* A gap inside the capture is still a break. */
  audit_walk_begin(&w, cps, 2, NULL, 0);
  audit_walk_row(&w, &chain[3]);
  audit_walk_row(&w, &chain[5]);
  CHECK(w.broken);
  CHECK_EQ_INT(w.bad_seq, 5);
}

static void test_batch_json(void) {
  Lindung__V1__AuditEvent e = good_event();
  uint8_t source[16] = {0};
  audit_row row;
  audit_row_from_event(&e, source, &row);
  audit_text t = {0};
  audit_store_json_begin(&t);
  audit_store_json_add(&t, &row);
  audit_store_json_add(&t, &row);
  audit_store_json_end(&t);
  CHECK_EQ_INT(t.failed, 0);
  CHECK(t.data[0] == '[' && t.data[t.len - 1] == ']');
  CHECK(strstr(t.data, "\"r\":\"09090900000000000000000000000000\"") != NULL);
  CHECK(strstr(t.data, "\"v\":\"mall-\\u002201\\u0022\\u000a\"") != NULL);
  CHECK(strstr(t.data, "\"ts\":1700000000000") != NULL);
  CHECK(strstr(t.data, "\"tr\"") == NULL); /* zero time: NULL, key left out */
  CHECK(strstr(t.data, "},{") != NULL);
  audit_text_free(&t);
  char ts[40];
  audit_store_timestamp(1700000000123456, ts);
  CHECK_EQ_STR(ts, "2023-11-14 22:13:20.123456+00");
}

/* Feeds the watcher one page: rows[0..n) as the database returns them;
 * full says the page came back with AUDIT_WATCH_PAGE rows (more follow). */
static audit_watch_cursor *watch_page(audit_watch *w, double now, const audit_row *rows, size_t n,
                                      const audit_checkpoint *cps, size_t ncp, bool full) {
  int64_t after = -1;
  audit_watch_cursor *c = audit_watch_next(w, now, &after);
  if (!c) return NULL;
  CHECK_EQ_INT(audit_watch_page_begin(w, c, cps, ncp), 0);
  for (size_t i = 0; i < n; i++)
    if (rows[i].seq > after) audit_watch_page_row(w, &rows[i]);
  audit_watch_page_end(w, full ? AUDIT_WATCH_PAGE : n, now, 1000 + now);
  return c;
}

static void test_watch_follows_in_pages(void) {
  build_chain();
  audit_watch w;
  audit_watch_init(&w, NULL, 30);
  audit_checkpoint cp;
  make_checkpoint(&cp, 3);
  /* Two pages: seq 1..4 (a full page), then 5..8 from where it stopped. */
  CHECK(watch_page(&w, 0, chain, 4, &cp, 1, true) == &w.follow);
  CHECK_EQ_INT(w.follow.next_seq, 5);
  CHECK(!w.reached_head);
  CHECK(watch_page(&w, 0, chain + 4, 4, NULL, 0, false) == &w.follow);
  CHECK_EQ_INT(w.follow.next_seq, CHAIN_LEN + 1);
  CHECK(w.reached_head && w.verified_at == 1000);
  CHECK(audit_watch_intact(&w));
  /* At the head: the next poll waits a second; the sweep waits its turn. */
  int64_t after;
  CHECK(audit_watch_next(&w, 0.5, &after) == NULL);
  CHECK(audit_watch_next(&w, 1.0, &after) == &w.follow);
  CHECK_EQ_INT(after, CHAIN_LEN);
  audit_watch_free(&w);
}

static void test_watch_sweep_finds_an_old_edit(void) {
  build_chain();
  audit_watch w;
  audit_watch_init(&w, NULL, 30);
  watch_page(&w, 0, chain, CHAIN_LEN, NULL, 0, false);
  CHECK(audit_watch_intact(&w));
  /* seq 3 is edited after follow checked it: follow alone never looks
   * back, the sweep (due 30 s after start) does. */
  audit_row rows[CHAIN_LEN];
  memcpy(rows, chain, sizeof rows);
  rows[2].decision = 2;
  CHECK(watch_page(&w, 29, rows, 0, NULL, 0, false) == &w.follow);
  CHECK(audit_watch_intact(&w));
  CHECK(watch_page(&w, 30, rows, CHAIN_LEN, NULL, 0, false) == &w.sweep);
  CHECK(!audit_watch_intact(&w));
  CHECK_EQ_INT(audit_watch_bad_seq(&w), 3);
  CHECK_EQ_STR(w.reason, "hash mismatch");
  /* It stays broken until a whole sweep passes again (the row restored). */
  CHECK(watch_page(&w, 31, rows, 0, NULL, 0, false) == &w.follow);
  CHECK(!audit_watch_intact(&w));
  CHECK(watch_page(&w, 60, chain, CHAIN_LEN, NULL, 0, false) == &w.sweep);
  CHECK(audit_watch_intact(&w));
  CHECK(w.swept_at == 1060);
  audit_watch_free(&w);
}

static void test_watch_follow_finds_a_new_break(void) {
  build_chain();
  audit_watch w;
  audit_watch_init(&w, NULL, 30);
  watch_page(&w, 0, chain, 5, NULL, 0, false);
  CHECK_EQ_INT(w.follow.next_seq, 6);
  /* seq 7 arrives edited: follow stops before it and says so. */
  audit_row rows[CHAIN_LEN];
  memcpy(rows, chain, sizeof rows);
  rows[6].outcome = 9;
  watch_page(&w, 1, rows, CHAIN_LEN, NULL, 0, false);
  CHECK(!audit_watch_intact(&w));
  CHECK_EQ_INT(audit_watch_bad_seq(&w), 7);
  CHECK_EQ_INT(w.follow.next_seq, 6);
  CHECK(w.verified_at == 1000); /* not refreshed while broken */
  /* A checkpoint that signs another head is a break too. */
  audit_checkpoint cp;
  make_checkpoint(&cp, 7);
  cp.head_hash[0] ^= 1;
  CHECK_EQ_INT(audit_checkpoint_sign(&cp, seed), 0);
  watch_page(&w, 2, chain, CHAIN_LEN, &cp, 1, false);
  CHECK(!audit_watch_intact(&w));
  /* Restored (and the checkpoint too): follow passes and clears it. */
  make_checkpoint(&cp, 7);
  watch_page(&w, 3, chain, CHAIN_LEN, &cp, 1, false);
  CHECK(audit_watch_intact(&w));
  CHECK_EQ_INT(w.follow.next_seq, CHAIN_LEN + 1);
  CHECK(w.verified_at == 1003);
  /* A record that cannot be decoded is a break at its seq. */
  int64_t after;
  CHECK(audit_watch_next(&w, 4, &after) == &w.follow);
  audit_watch_page_begin(&w, &w.follow, NULL, 0);
  audit_watch_page_malformed(&w, CHAIN_LEN + 1);
  audit_watch_page_end(&w, 1, 4, 1004);
  CHECK_EQ_INT(audit_watch_bad_seq(&w), CHAIN_LEN + 1);
  audit_watch_free(&w);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_canonical_encoding_layout);
  RUN(test_null_differs_from_empty);
  RUN(test_intact_chain_verifies);
  RUN(test_edited_row_found);
  RUN(test_deleted_row_found);
  RUN(test_reordered_rows_found);
  RUN(test_rehashed_chain_caught_by_checkpoint);
  RUN(test_truncated_tail_caught_by_checkpoint);
  RUN(test_bad_checkpoints_found);
  RUN(test_checkpoint_signature);
  RUN(test_event_problems);
  RUN(test_event_to_record_round_trip);
  RUN(test_capture_may_start_mid_chain);
  RUN(test_batch_json);
  RUN(test_watch_follows_in_pages);
  RUN(test_watch_sweep_finds_an_old_edit);
  RUN(test_watch_follow_finds_a_new_break);
  return testing_summary();
}
