/* Unit tests of partner_sdk against docs/vectors/envelope-v1.json and against
 * Lindung's side of the envelope (envelope_system_session). */
#include "partner_sdk.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "hex.h"
#include "lindung/v1/partner.pb-c.h"
#include "support.h"
#include "testing.h"

/* The vectors file ($LINDUNG_VECTORS, else the repository copy). */
static char *vectors_text;

/* The vectors file is ours and flat: find the case by its name, then the
 * first "key": value after it. Returns a pointer just after the colon. */
static const char *find_key(const char *case_name, const char *key) {
  const char *p = vectors_text;
  if (case_name) {
    char anchor[128];
    snprintf(anchor, sizeof(anchor), "\"name\": \"%s\"", case_name);
    p = strstr(p, anchor);
    if (!p) return NULL;
  }
  char quoted[96];
  snprintf(quoted, sizeof(quoted), "\"%s", key);
  while ((p = strstr(p, quoted)) != NULL) {
    const char *after = p + strlen(quoted);
    if (*after == '"') {
      after++;
      while (*after == ' ') after++;
      if (*after == ':') return after + 1;
    }
    p = after;
  }
  return NULL;
}

/* A string value copied into buf. */
static const char *vec_string(const char *case_name, const char *key, char *buf, size_t cap) {
  const char *p = find_key(case_name, key);
  if (!p) return NULL;
  p = strchr(p, '"');
  if (!p) return NULL;
  p++;
  const char *end = strchr(p, '"');
  if (!end || (size_t)(end - p) >= cap) return NULL;
  memcpy(buf, p, (size_t)(end - p));
  buf[end - p] = '\0';
  return buf;
}

/* A hex value decoded into buf; returns its length or 0. */
static size_t vec_hex(const char *case_name, const char *key, uint8_t *buf, size_t cap) {
  char text[1024];
  if (!vec_string(case_name, key, text, sizeof(text))) return 0;
  size_t len = strlen(text) / 2;
  if (len > cap || hex_decode(text, buf, len) != 0) return 0;
  return len;
}

static uint64_t vec_u64(const char *case_name, const char *key) {
  const char *p = find_key(case_name, key);
  return p ? strtoull(p, NULL, 10) : 0;
}

#define CASE_SCAN "scan request (partner -> Lindung)"
#define CASE_LINK "link request (partner -> Lindung)"
#define CASE_VERDICT "verdict response (Lindung -> partner)"
#define CASE_ERROR "error response STALE_REQUEST"

static uint8_t partner_sk[32], partner_pk[32], system_sk[32], system_pk[32];
static char system_pk_hex[65];

/* A 32-byte hex value of an object at the top of the file ("partner_key"). */
static void vec_key(const char *object, const char *key, uint8_t out[32]) {
  const char *p = find_key(NULL, object);
  const char *k = p ? strstr(p, key) : NULL;
  const char *q = k ? strchr(k + strlen(key) + 1, '"') : NULL;
  char text[65] = "";
  if (q && strlen(q + 1) > 64) memcpy(text, q + 1, 64);
  CHECK_EQ_INT(hex_decode(text, out, 32), 0);
}

static void load_keys(void) {
  vec_key("partner_key", "\"public_hex\"", partner_pk);
  vec_key("partner_key", "\"secret_hex\"", partner_sk);
  vec_key("system_key", "\"public_hex\"", system_pk);
  vec_key("system_key", "\"secret_hex\"", system_sk);
  hex_encode(system_pk, 32, system_pk_hex);
  uint8_t derived[32];
  CHECK_EQ_INT(crypto_scalarmult_base(derived, partner_sk), 0);
  CHECK_MEM(derived, partner_pk, 32);
}

static partner_sdk *open_sdk(const char *partner_id, uint32_t key_id, uint32_t system_key_id) {
  partner_sdk_credentials c = {
      .partner_id = partner_id,
      .partner_key_id = key_id,
      .system_key_id = system_key_id,
      .system_public_key = system_pk_hex,
      .secret_key = partner_sk,
  };
  partner_sdk *sdk = NULL;
  char err[256] = "";
  int rc = partner_sdk_open(&c, &sdk, err, sizeof err);
  if (rc != 0) fprintf(stderr, "partner_sdk_open: %s\n", err);
  CHECK_EQ_INT(rc, 0);
  return sdk;
}

static void test_open_derives_public_key(void) {
  partner_sdk *sdk = open_sdk("gojek", 7, 1);
  if (!sdk) return;
  char hex[65], expected[65];
  partner_sdk_public_key_hex(sdk, hex);
  hex_encode(partner_pk, 32, expected);
  CHECK_EQ_STR(hex, expected);
  CHECK_EQ_STR(partner_sdk_partner_id(sdk), "gojek");
  CHECK_EQ_INT(partner_sdk_partner_key_id(sdk), 7);
  CHECK_EQ_INT(partner_sdk_system_key_id(sdk), 1);
  partner_sdk_close(sdk);
}

static void test_open_rejects_bad_credentials(void) {
  partner_sdk *sdk = NULL;
  partner_sdk_credentials c = {"gojek", 7, 1, system_pk_hex, NULL, partner_sk};
  char err[256];
  c.partner_key_id = 0;
  CHECK_EQ_INT(partner_sdk_open(&c, &sdk, err, sizeof err), PARTNER_SDK_EINVAL);
  c.partner_key_id = 7;
  c.system_key_id = 0;
  CHECK_EQ_INT(partner_sdk_open(&c, &sdk, err, sizeof err), PARTNER_SDK_EINVAL);
  c.system_key_id = 1;
  c.partner_id = "";
  CHECK_EQ_INT(partner_sdk_open(&c, &sdk, err, sizeof err), PARTNER_SDK_EINVAL);
  c.partner_id = "a-partner-id-that-is-far-too-long-x";
  CHECK_EQ_INT(partner_sdk_open(&c, &sdk, err, sizeof err), PARTNER_SDK_EINVAL);
  c.partner_id = "gojek";
  c.system_public_key = "c75dca63";
  CHECK_EQ_INT(partner_sdk_open(&c, &sdk, err, sizeof err), PARTNER_SDK_EINVAL);
  c.system_public_key = system_pk_hex;
  c.secret_key_file = "/nonexistent";
  CHECK_EQ_INT(partner_sdk_open(&c, &sdk, err, sizeof err), PARTNER_SDK_EINVAL);
  c.secret_key = NULL;
  CHECK_EQ_INT(partner_sdk_open(&c, &sdk, err, sizeof err), PARTNER_SDK_EIO);
  CHECK(sdk == NULL);
}

/* A failed write fails the test. */
#define write_file(path, text, mode) CHECK_EQ_INT(support_write_file(path, text, mode), 0)

static void test_secret_key_file(void) {
  char dir[] = "/tmp/partner_sdk_test.XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[128], text[80], err[256] = "";
  snprintf(path, sizeof path, "%s/secret.key", dir);
  hex_encode(partner_sk, 32, text);
  strcat(text, "\n");
  partner_sdk_credentials c = {"gojek", 7, 1, system_pk_hex, path, NULL};
  partner_sdk *sdk = NULL;

  write_file(path, text, 0400);
  CHECK_EQ_INT(partner_sdk_open(&c, &sdk, err, sizeof err), 0);
  if (sdk) {
    char hex[65], expected[65];
    partner_sdk_public_key_hex(sdk, hex);
    hex_encode(partner_pk, 32, expected);
    CHECK_EQ_STR(hex, expected);
    partner_sdk_close(sdk);
    sdk = NULL;
  }
  /* Readable by others: refused, and the reason names the path only. */
  write_file(path, text, 0644);
  CHECK_EQ_INT(partner_sdk_open(&c, &sdk, err, sizeof err), PARTNER_SDK_EIO);
  CHECK(strstr(err, path) != NULL);
  CHECK(strstr(err, text) == NULL);
  /* Not 64 hex characters. */
  write_file(path, "abcd\n", 0600);
  CHECK_EQ_INT(partner_sdk_open(&c, &sdk, err, sizeof err), PARTNER_SDK_EINVAL);
  text[10] = 'x';
  write_file(path, text, 0600);
  CHECK_EQ_INT(partner_sdk_open(&c, &sdk, err, sizeof err), PARTNER_SDK_EINVAL);
  CHECK(sdk == NULL);
  unlink(path);
  rmdir(dir);
}

/* The SDK reproduces a vector's ScanRequest byte for byte. */
static void check_request_vector(const char *case_name, const partner_sdk_request *request) {
  partner_sdk *sdk = open_sdk("gojek", 7, 1);
  if (!sdk) return;
  uint8_t request_id[16], nonce[24], expected[1024], out[PARTNER_SDK_REQUEST_BUFFER];
  CHECK_EQ_INT(vec_hex(case_name, "request_id_hex", request_id, sizeof request_id), 16);
  CHECK_EQ_INT(vec_hex(case_name, "nonce_hex", nonce, sizeof nonce), 24);
  size_t expected_len = vec_hex(case_name, "scan_request_hex", expected, sizeof expected);
  CHECK(expected_len > 0);
  uint64_t sent_at = vec_u64(case_name, "sent_at_ms");
  CHECK(sent_at > 0);
  size_t len = 0;
  char err[256] = "";
  int rc = partner_sdk_build_request_fixed(sdk, request, request_id, sent_at, nonce, out,
                                           sizeof out, &len, err, sizeof err);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(len, expected_len);
  if (len == expected_len) CHECK_MEM(out, expected, len);
  partner_sdk_close(sdk);
}

static void test_scan_request_vector(void) {
  char token[80], venue[80];
  CHECK(vec_string(CASE_SCAN, "token", token, sizeof token) != NULL);
  CHECK(vec_string(CASE_SCAN, "venue_id", venue, sizeof venue) != NULL);
  partner_sdk_request request = {
      .kind = PARTNER_SDK_KIND_SCAN,
      .token = token,
      .venue_id = venue,
      .scanned_at_ms = vec_u64(CASE_SCAN, "scanned_at_ms"),
      .action = (partner_sdk_action)vec_u64(CASE_SCAN, "action"),
  };
  CHECK_EQ_INT(request.action, PARTNER_SDK_CHECK_IN);
  check_request_vector(CASE_SCAN, &request);
}

static void test_link_request_vector(void) {
  char nik[32];
  CHECK(vec_string(CASE_LINK, "nik", nik, sizeof nik) != NULL);
  partner_sdk_request request = {.kind = PARTNER_SDK_KIND_LINK, .nik = nik};
  check_request_vector(CASE_LINK, &request);
}

static void test_verdict_response_vector(void) {
  partner_sdk *sdk = open_sdk("gojek", 7, 1);
  if (!sdk) return;
  uint8_t value[512], request_id[16];
  size_t len = vec_hex(CASE_VERDICT, "scan_response_hex", value, sizeof value);
  CHECK(len > 0);
  CHECK_EQ_INT(vec_hex(CASE_VERDICT, "request_id_hex", request_id, 16), 16);
  partner_sdk_response r;
  char err[256] = "";
  CHECK_EQ_INT(partner_sdk_open_response(sdk, value, len, &r, err, sizeof err), 0);
  CHECK_EQ_INT(r.error, 0);
  CHECK_EQ_INT(r.kind, PARTNER_SDK_KIND_SCAN);
  CHECK_MEM(r.request_id, request_id, 16);
  CHECK_EQ_INT(r.created_at_ms, vec_u64(CASE_VERDICT, "created_at_ms"));
  CHECK_EQ_INT(r.verdict.status, vec_u64(CASE_VERDICT, "status"));
  CHECK_EQ_INT(r.verdict.decision, vec_u64(CASE_VERDICT, "decision"));
  CHECK_EQ_INT(r.verdict.reason, vec_u64(CASE_VERDICT, "reason"));
  char venue_name[64];
  CHECK(vec_string(CASE_VERDICT, "venue_name", venue_name, sizeof venue_name) != NULL);
  CHECK_EQ_STR(r.verdict.venue_name, venue_name);
  CHECK_EQ_INT(r.verdict.checked_at_ms, vec_u64(CASE_VERDICT, "checked_at_ms"));
  CHECK_EQ_STR(partner_sdk_status_name(r.verdict.status), "YELLOW");
  CHECK_EQ_STR(partner_sdk_decision_name(r.verdict.decision), "DENY");
  CHECK_EQ_STR(partner_sdk_reason_name(r.verdict.reason), "STATUS_NOT_ALLOWED_HERE");
  partner_sdk_close(sdk);
}

static void test_error_response_vector(void) {
  partner_sdk *sdk = open_sdk("gojek", 7, 1);
  if (!sdk) return;
  uint8_t value[256], request_id[16];
  size_t len = vec_hex(CASE_ERROR, "scan_response_hex", value, sizeof value);
  CHECK(len > 0);
  CHECK_EQ_INT(vec_hex(CASE_ERROR, "request_id_hex", request_id, 16), 16);
  partner_sdk_response r;
  char err[256];
  int rc = partner_sdk_open_response(sdk, value, len, &r, err, sizeof err);
  CHECK_EQ_INT(rc, (long long)vec_u64(CASE_ERROR, "error"));
  CHECK_EQ_INT(r.error, 7);
  CHECK_EQ_STR(partner_sdk_error_name(rc), "STALE_REQUEST");
  CHECK_EQ_INT(r.kind, PARTNER_SDK_KIND_NONE);
  CHECK_MEM(r.request_id, request_id, 16);
  CHECK_EQ_INT(r.created_at_ms, vec_u64(CASE_ERROR, "created_at_ms"));
  partner_sdk_close(sdk);
}

/* Re-packs the verdict vector after letting edit change it. */
static size_t edited_verdict(void (*edit)(Lindung__V1__ScanResponse *), uint8_t *out, size_t cap) {
  uint8_t value[512];
  size_t len = vec_hex(CASE_VERDICT, "scan_response_hex", value, sizeof value);
  Lindung__V1__ScanResponse *msg = lindung__v1__scan_response__unpack(NULL, len, value);
  CHECK(msg != NULL);
  if (!msg) return 0;
  edit(msg);
  size_t packed = lindung__v1__scan_response__get_packed_size(msg);
  CHECK(packed <= cap);
  lindung__v1__scan_response__pack(msg, out);
  lindung__v1__scan_response__free_unpacked(msg, NULL);
  return packed;
}

static void flip_ciphertext(Lindung__V1__ScanResponse *m) {
  m->ciphertext.data[3] ^= 0x01;
}
static void flip_tag(Lindung__V1__ScanResponse *m) {
  m->ciphertext.data[m->ciphertext.len - 1] ^= 0x80;
}
static void change_created_at(Lindung__V1__ScanResponse *m) {
  m->created_at_ms += 1;
}
static void change_request_id(Lindung__V1__ScanResponse *m) {
  m->request_id.data[0] ^= 0xff;
}
static void change_nonce(Lindung__V1__ScanResponse *m) {
  m->nonce.data[0] ^= 0x01;
}
static void change_partner(Lindung__V1__ScanResponse *m) {
  m->partner_id[0] = 'h';
}
static void change_key_id(Lindung__V1__ScanResponse *m) {
  m->partner_key_id = 8;
}
static void change_system_key_id(Lindung__V1__ScanResponse *m) {
  m->system_key_id = 2;
}
static void change_version(Lindung__V1__ScanResponse *m) {
  m->version = 2;
}
static void short_request_id(Lindung__V1__ScanResponse *m) {
  m->request_id.len = 15;
}
static void short_nonce(Lindung__V1__ScanResponse *m) {
  m->nonce.len = 23;
}
static void short_ciphertext(Lindung__V1__ScanResponse *m) {
  m->ciphertext.len = 15;
}

static void check_edit(void (*edit)(Lindung__V1__ScanResponse *), int expected) {
  partner_sdk *sdk = open_sdk("gojek", 7, 1);
  if (!sdk) return;
  uint8_t value[512];
  size_t len = edited_verdict(edit, value, sizeof value);
  partner_sdk_response r;
  char err[256] = "";
  CHECK_EQ_INT(partner_sdk_open_response(sdk, value, len, &r, err, sizeof err), expected);
  CHECK(err[0] != '\0');
  CHECK_EQ_INT(r.kind, PARTNER_SDK_KIND_NONE);
  CHECK_EQ_STR(r.verdict.venue_name, "");
  partner_sdk_close(sdk);
}

static void test_tampered_response_fails(void) {
  check_edit(flip_ciphertext, PARTNER_SDK_EAUTH);
  check_edit(flip_tag, PARTNER_SDK_EAUTH);
  check_edit(change_created_at, PARTNER_SDK_EAUTH);
  check_edit(change_request_id, PARTNER_SDK_EAUTH);
  check_edit(change_nonce, PARTNER_SDK_EAUTH);
}

static void test_response_for_others_rejected(void) {
  check_edit(change_partner, PARTNER_SDK_ENOTOURS);
  check_edit(change_key_id, PARTNER_SDK_ENOTOURS);
  check_edit(change_system_key_id, PARTNER_SDK_ENOTOURS);

  /* The untouched vector, seen by a different partner or key. */
  uint8_t value[512];
  size_t len = vec_hex(CASE_VERDICT, "scan_response_hex", value, sizeof value);
  partner_sdk_response r;
  char err[256];
  partner_sdk *grab = open_sdk("grab", 7, 1);
  if (grab)
    CHECK_EQ_INT(partner_sdk_open_response(grab, value, len, &r, err, sizeof err),
                 PARTNER_SDK_ENOTOURS);
  partner_sdk_close(grab);
  partner_sdk *other_key = open_sdk("gojek", 9, 1);
  if (other_key)
    CHECK_EQ_INT(partner_sdk_open_response(other_key, value, len, &r, err, sizeof err),
                 PARTNER_SDK_ENOTOURS);
  partner_sdk_close(other_key);
  /* Even an error response for another partner is not ours. */
  len = vec_hex(CASE_ERROR, "scan_response_hex", value, sizeof value);
  grab = open_sdk("grab", 7, 1);
  if (grab)
    CHECK_EQ_INT(partner_sdk_open_response(grab, value, len, &r, err, sizeof err),
                 PARTNER_SDK_ENOTOURS);
  partner_sdk_close(grab);
}

static void test_malformed_response_rejected(void) {
  check_edit(change_version, PARTNER_SDK_EDECODE);
  check_edit(short_request_id, PARTNER_SDK_EDECODE);
  check_edit(short_nonce, PARTNER_SDK_EDECODE);
  check_edit(short_ciphertext, PARTNER_SDK_EDECODE);
  partner_sdk *sdk = open_sdk("gojek", 7, 1);
  if (!sdk) return;
  partner_sdk_response r;
  char err[256];
  const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff};
  CHECK_EQ_INT(partner_sdk_open_response(sdk, garbage, sizeof garbage, &r, err, sizeof err),
               PARTNER_SDK_EDECODE);
  CHECK_EQ_INT(partner_sdk_open_response(sdk, garbage, 0, &r, err, sizeof err),
               PARTNER_SDK_EDECODE);
  partner_sdk_close(sdk);
}

/* Lindung's side: seal a ResponseBody for sdk's request as the resolver would. */
static size_t seal_response(const Lindung__V1__ResponseBody *body, const char *partner_id,
                            const uint8_t request_id[16], uint8_t *out, size_t cap) {
  envelope_session system;
  CHECK_EQ_INT(envelope_system_session(&system, system_pk, system_sk, partner_pk), 0);
  uint8_t plain[512], sealed[512 + 16], nonce[24], ad[ENVELOPE_MAX_AD_BYTES];
  size_t plain_len = lindung__v1__response_body__get_packed_size(body);
  CHECK(plain_len <= sizeof plain);
  lindung__v1__response_body__pack(body, plain);
  envelope_header h = {partner_id, 7, 1, request_id, 1700000000123u};
  size_t ad_len = envelope_associated_data(ENVELOPE_RESPONSE, &h, ad);
  CHECK_EQ_INT(envelope_seal(system.tx, ad, ad_len, plain, plain_len, nonce, sealed), 0);
  Lindung__V1__ScanResponse msg = LINDUNG__V1__SCAN_RESPONSE__INIT;
  msg.version = 1;
  msg.partner_id = (char *)partner_id;
  msg.partner_key_id = 7;
  msg.system_key_id = 1;
  msg.request_id.data = (uint8_t *)request_id;
  msg.request_id.len = 16;
  msg.created_at_ms = h.at_ms;
  msg.nonce.data = nonce;
  msg.nonce.len = 24;
  msg.ciphertext.data = sealed;
  msg.ciphertext.len = plain_len + 16;
  size_t len = lindung__v1__scan_response__get_packed_size(&msg);
  CHECK(len <= cap);
  lindung__v1__scan_response__pack(&msg, out);
  return len;
}

/* A request built by the SDK opens on Lindung's side; its Linked answer opens
 * on the partner side. */
static void test_link_round_trip(void) {
  partner_sdk *sdk = open_sdk("gojek", 7, 1);
  if (!sdk) return;
  partner_sdk_request request = {.kind = PARTNER_SDK_KIND_LINK, .nik = "3171012509890001"};
  uint8_t id1[16], id2[16], out[PARTNER_SDK_REQUEST_BUFFER];
  size_t len = 0;
  char err[256];
  CHECK_EQ_INT(
      partner_sdk_build_request(sdk, &request, id2, out, sizeof out, &len, err, sizeof err), 0);
  CHECK_EQ_INT(
      partner_sdk_build_request(sdk, &request, id1, out, sizeof out, &len, err, sizeof err), 0);
  CHECK(memcmp(id1, id2, 16) != 0);

  Lindung__V1__ScanRequest *msg = lindung__v1__scan_request__unpack(NULL, len, out);
  CHECK(msg != NULL);
  if (!msg) return;
  CHECK_EQ_INT(msg->version, 1);
  CHECK_EQ_STR(msg->partner_id, "gojek");
  CHECK_EQ_INT(msg->partner_key_id, 7);
  CHECK_EQ_INT(msg->system_key_id, 1);
  CHECK_EQ_INT(msg->request_id.len, 16);
  CHECK_MEM(msg->request_id.data, id1, 16);
  CHECK_EQ_INT(msg->nonce.len, 24);
  /* sent_at is the wall clock: later than the vectors' 2021 date. */
  CHECK(msg->sent_at_ms > 1632700800000u);
  envelope_session system;
  CHECK_EQ_INT(envelope_system_session(&system, system_pk, system_sk, partner_pk), 0);
  envelope_header h = {"gojek", 7, 1, id1, msg->sent_at_ms};
  uint8_t ad[ENVELOPE_MAX_AD_BYTES], plain[1024];
  size_t ad_len = envelope_associated_data(ENVELOPE_REQUEST, &h, ad);
  CHECK_EQ_INT(envelope_open(system.rx, ad, ad_len, msg->nonce.data, msg->ciphertext.data,
                             msg->ciphertext.len, plain),
               0);
  Lindung__V1__RequestBody *body =
      lindung__v1__request_body__unpack(NULL, msg->ciphertext.len - 16, plain);
  CHECK(body && body->kind_case == LINDUNG__V1__REQUEST_BODY__KIND_LINK);
  if (body && body->kind_case == LINDUNG__V1__REQUEST_BODY__KIND_LINK)
    CHECK_EQ_STR(body->link->nik, "3171012509890001");
  lindung__v1__request_body__free_unpacked(body, NULL);
  lindung__v1__scan_request__free_unpacked(msg, NULL);

  Lindung__V1__Linked linked = LINDUNG__V1__LINKED__INIT;
  linked.token = "lt1_round-trip-token";
  Lindung__V1__ResponseBody answer = LINDUNG__V1__RESPONSE_BODY__INIT;
  answer.kind_case = LINDUNG__V1__RESPONSE_BODY__KIND_LINKED;
  answer.linked = &linked;
  uint8_t value[1024];
  size_t value_len = seal_response(&answer, "gojek", id1, value, sizeof value);
  partner_sdk_response r;
  CHECK_EQ_INT(partner_sdk_open_response(sdk, value, value_len, &r, err, sizeof err), 0);
  CHECK_EQ_INT(r.kind, PARTNER_SDK_KIND_LINK);
  CHECK_EQ_STR(r.token, "lt1_round-trip-token");
  CHECK_MEM(r.request_id, id1, 16);
  CHECK_EQ_INT(r.created_at_ms, 1700000000123u);

  /* A token over 64 characters breaks the contract. */
  char long_token[66];
  memset(long_token, 'a', 65);
  long_token[65] = '\0';
  linked.token = long_token;
  value_len = seal_response(&answer, "gojek", id1, value, sizeof value);
  CHECK_EQ_INT(partner_sdk_open_response(sdk, value, value_len, &r, err, sizeof err),
               PARTNER_SDK_EBODY);
  CHECK_EQ_STR(r.token, "");
  /* A body with no answer in it. */
  Lindung__V1__ResponseBody empty = LINDUNG__V1__RESPONSE_BODY__INIT;
  value_len = seal_response(&empty, "gojek", id1, value, sizeof value);
  CHECK_EQ_INT(partner_sdk_open_response(sdk, value, value_len, &r, err, sizeof err),
               PARTNER_SDK_EBODY);
  partner_sdk_close(sdk);
}

/* The SDK seals what it is given, valid or not, and reports a small buffer. */
static void test_build_request_edges(void) {
  partner_sdk *sdk = open_sdk("gojek", 7, 1);
  if (!sdk) return;
  uint8_t id[16], out[PARTNER_SDK_REQUEST_BUFFER];
  size_t len = 0;
  char err[256];
  partner_sdk_request bad_nik = {.kind = PARTNER_SDK_KIND_LINK, .nik = "317101250989000"};
  CHECK_EQ_INT(partner_sdk_build_request(sdk, &bad_nik, id, out, sizeof out, &len, err, sizeof err),
               0);
  partner_sdk_request no_action = {.kind = PARTNER_SDK_KIND_SCAN, .token = "t", .venue_id = "v"};
  CHECK_EQ_INT(
      partner_sdk_build_request(sdk, &no_action, id, out, sizeof out, &len, err, sizeof err), 0);
  CHECK_EQ_INT(partner_sdk_build_request(sdk, &no_action, id, out, 40, &len, err, sizeof err),
               PARTNER_SDK_ENOSPC);
  partner_sdk_request no_token = {.kind = PARTNER_SDK_KIND_SCAN, .venue_id = "v"};
  CHECK_EQ_INT(
      partner_sdk_build_request(sdk, &no_token, id, out, sizeof out, &len, err, sizeof err),
      PARTNER_SDK_EINVAL);
  partner_sdk_request no_kind = {.kind = PARTNER_SDK_KIND_NONE};
  CHECK_EQ_INT(partner_sdk_build_request(sdk, &no_kind, id, out, sizeof out, &len, err, sizeof err),
               PARTNER_SDK_EINVAL);
  partner_sdk_close(sdk);
}

static void test_names(void) {
  CHECK_EQ_STR(partner_sdk_status_name(1), "GREEN");
  CHECK_EQ_STR(partner_sdk_status_name(4), "BLACK");
  CHECK_EQ_STR(partner_sdk_status_name(0), "STATUS_UNSPECIFIED");
  CHECK_EQ_STR(partner_sdk_decision_name(1), "ALLOW");
  CHECK_EQ_STR(partner_sdk_reason_name(1), "STATUS_ALLOWED");
  CHECK_EQ_STR(partner_sdk_reason_name(7), "CHECKED_OUT");
  CHECK_EQ_STR(partner_sdk_error_name(0), "NONE");
  CHECK_EQ_STR(partner_sdk_error_name(7), "STALE_REQUEST");
  CHECK_EQ_STR(partner_sdk_error_name(13), "UNAVAILABLE");
  CHECK_EQ_STR(partner_sdk_error_name(99), "UNKNOWN");
  CHECK_EQ_STR(partner_sdk_action_name(2), "CHECK_OUT");
  CHECK_EQ_STR(partner_sdk_strerror(PARTNER_SDK_EAUTH), "EAUTH");
}

static void test_keygen(void) {
  uint8_t pk[32], sk[32], derived[32];
  CHECK_EQ_INT(partner_sdk_keygen(pk, sk), 0);
  CHECK_EQ_INT(crypto_scalarmult_base(derived, sk), 0);
  CHECK_MEM(pk, derived, 32);
}

int main(void) {
  const char *path = getenv("LINDUNG_VECTORS");
  vectors_text = support_read_file(path ? path : "../../../docs/vectors/envelope-v1.json", NULL);
  if (!vectors_text) {
    fprintf(stderr, "cannot read the test vectors (set LINDUNG_VECTORS)\n");
    return 1;
  }
  RUN(load_keys);
  RUN(test_open_derives_public_key);
  RUN(test_open_rejects_bad_credentials);
  RUN(test_secret_key_file);
  RUN(test_scan_request_vector);
  RUN(test_link_request_vector);
  RUN(test_verdict_response_vector);
  RUN(test_error_response_vector);
  RUN(test_tampered_response_fails);
  RUN(test_response_for_others_rejected);
  RUN(test_malformed_response_rejected);
  RUN(test_link_round_trip);
  RUN(test_build_request_edges);
  RUN(test_names);
  RUN(test_keygen);
  free(vectors_text);
  return testing_summary();
}
