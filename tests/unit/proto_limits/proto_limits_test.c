/* Unit tests of proto_limits: empty and oversized values are refused before
 * parsing, a message of exactly the limit parses, malformed bytes are INVALID. */
#include "proto_limits.h"

#include <stdlib.h>
#include <string.h>

#include "lindung/v1/partner.pb-c.h"
#include "testing.h"

/* A ScanRequest whose packed size is exactly `size`, padded out through the
 * ciphertext field; some sizes (65, 66, 194) cannot be hit because the field
 * and its length prefix grow in steps. Returns a malloc'ed buffer or NULL. */
static uint8_t *scan_request_of_size(size_t size) {
  static uint8_t request_id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  static uint8_t nonce[24];
  Lindung__V1__ScanRequest m = LINDUNG__V1__SCAN_REQUEST__INIT;
  m.version = 1;
  m.partner_id = "gojek";
  m.partner_key_id = 7;
  m.system_key_id = 1;
  m.request_id.data = request_id;
  m.request_id.len = sizeof(request_id);
  m.sent_at_ms = 1632700800000ull;
  m.nonce.data = nonce;
  m.nonce.len = sizeof(nonce);
  uint8_t *ciphertext = calloc(1, size);
  if (!ciphertext) return NULL;
  m.ciphertext.data = ciphertext;
  /* The length prefix grows with the field, so search for the fit. */
  for (size_t n = 0; n < size; n++) {
    m.ciphertext.len = n;
    if (lindung__v1__scan_request__get_packed_size(&m) == size) {
      uint8_t *out = malloc(size);
      if (out) lindung__v1__scan_request__pack(&m, out);
      free(ciphertext);
      return out;
    }
  }
  free(ciphertext);
  return NULL;
}

static void test_empty_refused(void) {
  ProtobufCMessage *out = (ProtobufCMessage *)&out; /* must be reset to NULL */
  uint8_t byte = 0;
  CHECK_EQ_INT(proto_decode(&lindung__v1__scan_request__descriptor, &byte, 0, 4096, &out),
               PROTO_DECODE_EMPTY);
  CHECK(out == NULL);
  CHECK_EQ_INT(proto_decode(&lindung__v1__scan_request__descriptor, NULL, 0, 4096, &out),
               PROTO_DECODE_EMPTY);
  CHECK_EQ_STR(proto_decode_reason(PROTO_DECODE_EMPTY), "empty");
}

static void test_limit_boundary(void) {
  const size_t limits[] = {100, 200, 1300, PROTO_MAX_MESSAGE_BYTES};
  for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
    size_t limit = limits[i];
    uint8_t *exact = scan_request_of_size(limit);
    uint8_t *over = scan_request_of_size(limit + 1);
    CHECK(exact != NULL && over != NULL);
    if (!exact || !over) {
      free(exact);
      free(over);
      continue;
    }
    ProtobufCMessage *out = NULL;
    CHECK_EQ_INT(proto_decode(&lindung__v1__scan_request__descriptor, exact, limit, limit, &out),
                 PROTO_DECODE_OK);
    CHECK(out != NULL);
    if (out) {
      Lindung__V1__ScanRequest *m = (Lindung__V1__ScanRequest *)out;
      CHECK_EQ_STR(m->partner_id, "gojek");
      CHECK_EQ_INT(lindung__v1__scan_request__get_packed_size(m), limit);
      protobuf_c_message_free_unpacked(out, NULL);
    }
    /* A valid message one byte over the limit is refused, not parsed. */
    out = (ProtobufCMessage *)&out;
    CHECK_EQ_INT(proto_decode(&lindung__v1__scan_request__descriptor, over, limit + 1, limit, &out),
                 PROTO_DECODE_TOO_LARGE);
    CHECK(out == NULL);
    /* The same bytes under a limit that admits them parse. */
    CHECK_EQ_INT(
        proto_decode(&lindung__v1__scan_request__descriptor, over, limit + 1, limit + 1, &out),
        PROTO_DECODE_OK);
    if (out) protobuf_c_message_free_unpacked(out, NULL);
    free(exact);
    free(over);
  }
  CHECK_EQ_STR(proto_decode_reason(PROTO_DECODE_TOO_LARGE), "too_large");
}

/* Inputs that no protobuf parser accepts. */
static void test_malformed_invalid(void) {
  static const struct {
    const char *what;
    uint8_t bytes[8];
    size_t len;
  } cases[] = {
      {"truncated varint", {0x08, 0x80}, 2},
      {"truncated tag varint", {0x80}, 1},
      {"length past the end", {0x12, 0x05, 'g', 'o'}, 4},
      {"truncated length varint", {0x42, 0xff}, 2},
      {"wire type 7", {0x0f, 0x00}, 2},
      {"wire type 6", {0x0e, 0x00}, 2},
      {"truncated fixed64", {0x09, 0x01, 0x02}, 3},
      {"truncated fixed32", {0x0d, 0x01}, 2},
      {"field number 0", {0x00, 0x01}, 2},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ProtobufCMessage *out = (ProtobufCMessage *)&out;
    proto_decode_status status = proto_decode(&lindung__v1__scan_request__descriptor,
                                              cases[i].bytes, cases[i].len, 4096, &out);
    if (status != PROTO_DECODE_INVALID) fprintf(stderr, "  case: %s\n", cases[i].what);
    CHECK_EQ_INT(status, PROTO_DECODE_INVALID);
    CHECK(out == NULL);
  }
  CHECK_EQ_STR(proto_decode_reason(PROTO_DECODE_INVALID), "not_protobuf");
}

static void test_bad_arguments(void) {
  uint8_t bytes[] = {0x08, 0x01};
  ProtobufCMessage *out = NULL;
  CHECK_EQ_INT(proto_decode(NULL, bytes, sizeof(bytes), 4096, &out), PROTO_DECODE_INVALID);
  CHECK_EQ_INT(proto_decode(&lindung__v1__scan_request__descriptor, NULL, 2, 4096, &out),
               PROTO_DECODE_INVALID);
  CHECK_EQ_INT(
      proto_decode(&lindung__v1__scan_request__descriptor, bytes, sizeof(bytes), 4096, NULL),
      PROTO_DECODE_INVALID);
  CHECK_EQ_STR(proto_decode_reason(PROTO_DECODE_OK), "ok");
  CHECK_EQ_STR(proto_decode_reason((proto_decode_status)99), "not_protobuf");
}

/* The ScanRequest of the published scan vector. */
static void test_scan_request_parses(void) {
  static const char hex[] =
      "08011205676f6a656b180720012a10000102030405060708090a0b0c0d0e0f3080b8b4a4c22f3a18646566"
      "6768696a6b6c6d6e6f707172737475767778797a7b423cd2699af4ad0b9b78da67f56892d9c7b7eefb5c35"
      "8c27f4fda490f9f099e0e220b292e7a319a7b1884b208937a2dc603c5e947e1663aa89c4b3f920b3";
  uint8_t bytes[sizeof(hex) / 2];
  size_t len = (sizeof(hex) - 1) / 2;
  for (size_t i = 0; i < len; i++) {
    unsigned value = 0;
    sscanf(hex + 2 * i, "%2x", &value);
    bytes[i] = (uint8_t)value;
  }
  ProtobufCMessage *out = NULL;
  CHECK_EQ_INT(proto_decode(&lindung__v1__scan_request__descriptor, bytes, len,
                            PROTO_MAX_MESSAGE_BYTES, &out),
               PROTO_DECODE_OK);
  CHECK(out != NULL);
  if (!out) return;
  CHECK(out->descriptor == &lindung__v1__scan_request__descriptor);
  Lindung__V1__ScanRequest *m = (Lindung__V1__ScanRequest *)out;
  CHECK_EQ_INT(m->version, 1);
  CHECK_EQ_STR(m->partner_id, "gojek");
  CHECK_EQ_INT(m->partner_key_id, 7);
  CHECK_EQ_INT(m->system_key_id, 1);
  CHECK_EQ_INT(m->request_id.len, 16);
  CHECK_EQ_INT(m->sent_at_ms, 1632700800000ull);
  CHECK_EQ_INT(m->nonce.len, 24);
  CHECK_EQ_INT(m->ciphertext.len, 60);
  uint8_t repacked[sizeof(bytes)];
  CHECK_EQ_INT(lindung__v1__scan_request__pack(m, repacked), len);
  CHECK_MEM(repacked, bytes, len);
  protobuf_c_message_free_unpacked(out, NULL);
}

int main(void) {
  RUN(test_empty_refused);
  RUN(test_limit_boundary);
  RUN(test_malformed_invalid);
  RUN(test_bad_arguments);
  RUN(test_scan_request_parses);
  return testing_summary();
}
