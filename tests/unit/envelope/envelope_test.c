/* Unit tests of envelope: every byte of docs/vectors/envelope-v1.json, seal
 * and open, tampering, response pads against the AEAD, and the session cache.
 *
 * `unit_envelope crosscheck` instead serves the Python cross-check
 * (crosscheck.py) over stdin/stdout; see crosscheck.c. */
#include "envelope.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "lindung/v1/partner.pb-c.h"
#include "testing.h"
#include "vectors.h"

int crosscheck_serve(void);

static vectors_file vectors;

typedef struct key_pair {
  uint8_t pk[32];
  uint8_t sk[32];
} key_pair;

static int load_pair(const char *section, key_pair *out) {
  const char *begin = vectors_find(&vectors, NULL, NULL, section);
  size_t pk_len = 0, sk_len = 0;
  uint8_t *pk = vectors_hex(&vectors, begin, NULL, "public_hex", &pk_len);
  uint8_t *sk = vectors_hex(&vectors, begin, NULL, "secret_hex", &sk_len);
  int ok = begin && pk && sk && pk_len == 32 && sk_len == 32;
  if (ok) {
    memcpy(out->pk, pk, 32);
    memcpy(out->sk, sk, 32);
  }
  free(pk);
  free(sk);
  return ok ? 0 : -1;
}

static int load_key(const char *key, uint8_t out[32]) {
  size_t len = 0;
  uint8_t *bytes = vectors_hex(&vectors, NULL, NULL, key, &len);
  int ok = bytes && len == 32;
  if (ok) memcpy(out, bytes, 32);
  free(bytes);
  return ok ? 0 : -1;
}

static int is_request_case(size_t i) {
  char *direction =
      vectors_string(&vectors, vectors.case_begin[i], vectors.case_end[i], "direction");
  int request = direction && strcmp(direction, "request") == 0;
  free(direction);
  return request;
}

/* One case's sealing material (absent in the error-response case). */
typedef struct vector_case {
  uint8_t *body, *ad, *nonce, *ciphertext;
  size_t body_len, ad_len, nonce_len, ciphertext_len;
} vector_case;

static int load_case(size_t i, vector_case *c) {
  const char *b = vectors.case_begin[i], *e = vectors.case_end[i];
  memset(c, 0, sizeof(*c));
  c->body = vectors_hex(
      &vectors, b, e, is_request_case(i) ? "request_body_hex" : "response_body_hex", &c->body_len);
  c->ad = vectors_hex(&vectors, b, e, "associated_data_hex", &c->ad_len);
  c->nonce = vectors_hex(&vectors, b, e, "nonce_hex", &c->nonce_len);
  c->ciphertext = vectors_hex(&vectors, b, e, "ciphertext_hex", &c->ciphertext_len);
  return c->body && c->ad && c->nonce && c->ciphertext ? 0 : -1;
}

static void free_case(vector_case *c) {
  free(c->body);
  free(c->ad);
  free(c->nonce);
  free(c->ciphertext);
}

static void test_vectors_loaded(void) {
  CHECK_EQ_INT(vectors.case_count, 4);
}

static void test_vector_session_keys(void) {
  key_pair partner, system;
  uint8_t partner_tx[32], partner_rx[32];
  CHECK_EQ_INT(load_pair("partner_key", &partner), 0);
  CHECK_EQ_INT(load_pair("system_key", &system), 0);
  CHECK_EQ_INT(load_key("partner_tx_hex", partner_tx), 0);
  CHECK_EQ_INT(load_key("partner_rx_hex", partner_rx), 0);

  envelope_session p, s;
  CHECK_EQ_INT(envelope_partner_session(&p, partner.pk, partner.sk, system.pk), 0);
  CHECK_EQ_INT(envelope_system_session(&s, system.pk, system.sk, partner.pk), 0);
  CHECK_MEM(p.tx, partner_tx, 32);
  CHECK_MEM(p.rx, partner_rx, 32);
  CHECK_MEM(s.rx, partner_tx, 32);
  CHECK_MEM(s.tx, partner_rx, 32);
}

/* The header of case i, from its "fields" (requests) or, for responses whose
 * fields omit the partner, from the first case. */
static void case_header(size_t i, envelope_header *h, char *partner_id, uint8_t request_id[16]) {
  const char *b = vectors.case_begin[i], *e = vectors.case_end[i];
  char *id = vectors_string(&vectors, b, e, "partner_id");
  if (!id) id = vectors_string(&vectors, vectors.case_begin[0], vectors.case_end[0], "partner_id");
  snprintf(partner_id, 64, "%s", id ? id : "");
  free(id);
  uint64_t pkid = 0, skid = 0, at = 0;
  if (vectors_u64(&vectors, b, e, "partner_key_id", &pkid) != 0)
    CHECK_EQ_INT(
        vectors_u64(&vectors, vectors.case_begin[0], vectors.case_end[0], "partner_key_id", &pkid),
        0);
  if (vectors_u64(&vectors, b, e, "system_key_id", &skid) != 0)
    CHECK_EQ_INT(
        vectors_u64(&vectors, vectors.case_begin[0], vectors.case_end[0], "system_key_id", &skid),
        0);
  CHECK_EQ_INT(
      vectors_u64(&vectors, b, e, is_request_case(i) ? "sent_at_ms" : "created_at_ms", &at), 0);
  size_t rid_len = 0;
  uint8_t *rid = vectors_hex(&vectors, b, e, "request_id_hex", &rid_len);
  CHECK(rid && rid_len == 16);
  if (rid && rid_len == 16) memcpy(request_id, rid, 16);
  free(rid);
  h->partner_id = partner_id;
  h->partner_key_id = (uint32_t)pkid;
  h->system_key_id = (uint32_t)skid;
  h->request_id = request_id;
  h->at_ms = at;
}

static void test_vector_associated_data(void) {
  int checked = 0;
  for (size_t i = 0; i < vectors.case_count; i++) {
    vector_case c;
    if (load_case(i, &c) != 0) {
      free_case(&c);
      continue;
    }
    envelope_header h;
    char partner_id[64];
    uint8_t request_id[16] = {0};
    case_header(i, &h, partner_id, request_id);
    uint8_t ad[ENVELOPE_MAX_AD_BYTES];
    size_t n =
        envelope_associated_data(is_request_case(i) ? ENVELOPE_REQUEST : ENVELOPE_RESPONSE, &h, ad);
    CHECK_EQ_INT(n, c.ad_len);
    if (n == c.ad_len) CHECK_MEM(ad, c.ad, n);
    checked++;
    free_case(&c);
  }
  CHECK_EQ_INT(checked, 3); /* two requests and one sealed response */
}

static void test_vector_open_and_reseal(void) {
  key_pair partner, system;
  CHECK_EQ_INT(load_pair("partner_key", &partner), 0);
  CHECK_EQ_INT(load_pair("system_key", &system), 0);
  envelope_session p, s;
  CHECK_EQ_INT(envelope_partner_session(&p, partner.pk, partner.sk, system.pk), 0);
  CHECK_EQ_INT(envelope_system_session(&s, system.pk, system.sk, partner.pk), 0);

  int checked = 0;
  for (size_t i = 0; i < vectors.case_count; i++) {
    vector_case c;
    if (load_case(i, &c) != 0) {
      free_case(&c);
      continue;
    }
    int request = is_request_case(i);
    /* Lindung opens requests with its rx; the partner opens responses with its rx. */
    const uint8_t *open_key = request ? s.rx : p.rx;
    const uint8_t *seal_key = request ? p.tx : s.tx;
    CHECK_EQ_INT(c.nonce_len, ENVELOPE_NONCE_BYTES);
    CHECK_EQ_INT(c.ciphertext_len, c.body_len + ENVELOPE_TAG_BYTES);

    uint8_t plain[ENVELOPE_MAX_CIPHERTEXT];
    CHECK_EQ_INT(
        envelope_open(open_key, c.ad, c.ad_len, c.nonce, c.ciphertext, c.ciphertext_len, plain), 0);
    CHECK_MEM(plain, c.body, c.body_len);
    /* The other direction's key must not open it. */
    CHECK_EQ_INT(envelope_open(request ? p.rx : s.rx, c.ad, c.ad_len, c.nonce, c.ciphertext,
                               c.ciphertext_len, plain),
                 -1);

    uint8_t sealed[ENVELOPE_MAX_CIPHERTEXT + ENVELOPE_TAG_BYTES];
    CHECK_EQ_INT(
        envelope_seal_with_nonce(seal_key, c.ad, c.ad_len, c.body, c.body_len, c.nonce, sealed), 0);
    CHECK_MEM(sealed, c.ciphertext, c.ciphertext_len);
    checked++;
    free_case(&c);
  }
  CHECK_EQ_INT(checked, 3);
}

/* The serialized messages decode with the generated code, carry the
 * vector's header, nonce and ciphertext, and re-encode to the same bytes. */
static void test_vector_messages(void) {
  int requests = 0, responses = 0;
  for (size_t i = 0; i < vectors.case_count; i++) {
    const char *b = vectors.case_begin[i], *e = vectors.case_end[i];
    vector_case c;
    int sealed = load_case(i, &c) == 0;
    envelope_header h;
    char partner_id[64];
    uint8_t request_id[16] = {0};
    case_header(i, &h, partner_id, request_id);
    uint8_t ad[ENVELOPE_MAX_AD_BYTES];
    size_t ad_len = 0;

    size_t len = 0;
    uint8_t *bytes = vectors_hex(&vectors, b, e, "scan_request_hex", &len);
    if (bytes) {
      Lindung__V1__ScanRequest *m = lindung__v1__scan_request__unpack(NULL, len, bytes);
      CHECK(m != NULL);
      if (m) {
        CHECK_EQ_INT(m->version, 1);
        CHECK_EQ_STR(m->partner_id, h.partner_id);
        CHECK_EQ_INT(m->partner_key_id, h.partner_key_id);
        CHECK_EQ_INT(m->system_key_id, h.system_key_id);
        CHECK_EQ_INT(m->sent_at_ms, h.at_ms);
        CHECK(m->request_id.len == 16 && memcmp(m->request_id.data, request_id, 16) == 0);
        CHECK(sealed && m->nonce.len == c.nonce_len &&
              memcmp(m->nonce.data, c.nonce, c.nonce_len) == 0);
        CHECK(sealed && m->ciphertext.len == c.ciphertext_len &&
              memcmp(m->ciphertext.data, c.ciphertext, c.ciphertext_len) == 0);
        /* AD rebuilt from the decoded message, as the decrypt service will. */
        envelope_header from_msg = {m->partner_id, m->partner_key_id, m->system_key_id,
                                    m->request_id.data, m->sent_at_ms};
        ad_len = envelope_associated_data(ENVELOPE_REQUEST, &from_msg, ad);
        CHECK(sealed && ad_len == c.ad_len && memcmp(ad, c.ad, ad_len) == 0);
        size_t packed_len = lindung__v1__scan_request__get_packed_size(m);
        CHECK_EQ_INT(packed_len, len);
        uint8_t *packed = malloc(packed_len);
        CHECK_EQ_INT(lindung__v1__scan_request__pack(m, packed), len);
        CHECK_MEM(packed, bytes, len);
        free(packed);
        lindung__v1__scan_request__free_unpacked(m, NULL);
      }
      requests++;
      free(bytes);
    }

    bytes = vectors_hex(&vectors, b, e, "scan_response_hex", &len);
    if (bytes) {
      Lindung__V1__ScanResponse *m = lindung__v1__scan_response__unpack(NULL, len, bytes);
      CHECK(m != NULL);
      if (m) {
        CHECK_EQ_INT(m->version, 1);
        CHECK_EQ_STR(m->partner_id, h.partner_id);
        CHECK_EQ_INT(m->created_at_ms, h.at_ms);
        CHECK(m->request_id.len == 16 && memcmp(m->request_id.data, request_id, 16) == 0);
        uint64_t error = 0;
        if (vectors_u64(&vectors, b, e, "error", &error) != 0) error = 0;
        CHECK_EQ_INT(m->error, error);
        if (sealed) {
          CHECK(m->nonce.len == c.nonce_len && memcmp(m->nonce.data, c.nonce, c.nonce_len) == 0);
          CHECK(m->ciphertext.len == c.ciphertext_len &&
                memcmp(m->ciphertext.data, c.ciphertext, c.ciphertext_len) == 0);
          envelope_header from_msg = {m->partner_id, m->partner_key_id, m->system_key_id,
                                      m->request_id.data, m->created_at_ms};
          ad_len = envelope_associated_data(ENVELOPE_RESPONSE, &from_msg, ad);
          CHECK(ad_len == c.ad_len && memcmp(ad, c.ad, ad_len) == 0);
        } else {
          CHECK_EQ_INT(m->nonce.len, 0);
          CHECK_EQ_INT(m->ciphertext.len, 0);
        }
        size_t packed_len = lindung__v1__scan_response__get_packed_size(m);
        CHECK_EQ_INT(packed_len, len);
        uint8_t *packed = malloc(packed_len);
        CHECK_EQ_INT(lindung__v1__scan_response__pack(m, packed), len);
        CHECK_MEM(packed, bytes, len);
        free(packed);
        lindung__v1__scan_response__free_unpacked(m, NULL);
      }
      responses++;
      free(bytes);
    }
    free_case(&c);
  }
  CHECK_EQ_INT(requests, 2);
  CHECK_EQ_INT(responses, 2);
}

/* The sealed bodies are the messages the fields describe. */
static void test_vector_bodies(void) {
  for (size_t i = 0; i < vectors.case_count; i++) {
    const char *b = vectors.case_begin[i], *e = vectors.case_end[i];
    vector_case c;
    if (load_case(i, &c) != 0) {
      free_case(&c);
      continue;
    }
    uint64_t number = 0;
    if (is_request_case(i)) {
      Lindung__V1__RequestBody *m = lindung__v1__request_body__unpack(NULL, c.body_len, c.body);
      CHECK(m != NULL);
      char *nik = vectors_string(&vectors, b, e, "nik");
      if (m && nik) {
        CHECK_EQ_INT(m->kind_case, LINDUNG__V1__REQUEST_BODY__KIND_LINK);
        if (m->kind_case == LINDUNG__V1__REQUEST_BODY__KIND_LINK) CHECK_EQ_STR(m->link->nik, nik);
      } else if (m) {
        CHECK_EQ_INT(m->kind_case, LINDUNG__V1__REQUEST_BODY__KIND_SCAN);
        if (m->kind_case == LINDUNG__V1__REQUEST_BODY__KIND_SCAN) {
          char *token = vectors_string(&vectors, b, e, "token");
          char *venue = vectors_string(&vectors, b, e, "venue_id");
          CHECK_EQ_STR(m->scan->token, token);
          CHECK_EQ_STR(m->scan->venue_id, venue);
          CHECK_EQ_INT(vectors_u64(&vectors, b, e, "scanned_at_ms", &number), 0);
          CHECK_EQ_INT(m->scan->scanned_at_ms, number);
          CHECK_EQ_INT(vectors_u64(&vectors, b, e, "action", &number), 0);
          CHECK_EQ_INT(m->scan->action, number);
          free(token);
          free(venue);
        }
      }
      free(nik);
      if (m) lindung__v1__request_body__free_unpacked(m, NULL);
    } else {
      Lindung__V1__ResponseBody *m = lindung__v1__response_body__unpack(NULL, c.body_len, c.body);
      CHECK(m != NULL);
      if (m) {
        CHECK_EQ_INT(m->kind_case, LINDUNG__V1__RESPONSE_BODY__KIND_VERDICT);
        if (m->kind_case == LINDUNG__V1__RESPONSE_BODY__KIND_VERDICT) {
          char *venue = vectors_string(&vectors, b, e, "venue_name");
          CHECK_EQ_STR(m->verdict->venue_name, venue);
          free(venue);
          CHECK_EQ_INT(vectors_u64(&vectors, b, e, "status", &number), 0);
          CHECK_EQ_INT(m->verdict->status, number);
          CHECK_EQ_INT(vectors_u64(&vectors, b, e, "decision", &number), 0);
          CHECK_EQ_INT(m->verdict->decision, number);
          CHECK_EQ_INT(vectors_u64(&vectors, b, e, "reason", &number), 0);
          CHECK_EQ_INT(m->verdict->reason, number);
          CHECK_EQ_INT(vectors_u64(&vectors, b, e, "checked_at_ms", &number), 0);
          CHECK_EQ_INT(m->verdict->checked_at_ms, number);
        }
        lindung__v1__response_body__free_unpacked(m, NULL);
      }
    }
    free_case(&c);
  }
}

static void test_ad_layout_and_limits(void) {
  uint8_t rid[16], ad[ENVELOPE_MAX_AD_BYTES];
  for (int i = 0; i < 16; i++) rid[i] = (uint8_t)(0xa0 + i);
  char id[40];
  envelope_header h = {id, 0x01020304u, 0xfffffffeu, rid, 0x1122334455667788ull};

  memset(id, 'a', 32);
  id[32] = '\0';
  CHECK_EQ_INT(envelope_associated_data(ENVELOPE_REQUEST, &h, ad), ENVELOPE_MAX_AD_BYTES);
  static const uint8_t tail[] = {0x01, 0x02, 0x03, 0x04, 0xff, 0xff, 0xff, 0xfe};
  CHECK_MEM(ad, "LDG1\x01\x00\x20", 7);
  CHECK_MEM(ad + 39, tail, 8);
  CHECK_MEM(ad + 47, rid, 16);
  CHECK_MEM(ad + 63, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);

  CHECK_EQ_INT(envelope_associated_data(ENVELOPE_RESPONSE, &h, ad), ENVELOPE_MAX_AD_BYTES);
  CHECK_EQ_INT(ad[4], 0x02);

  id[32] = 'a';
  id[33] = '\0';
  CHECK_EQ_INT(envelope_associated_data(ENVELOPE_REQUEST, &h, ad), 0);
  id[0] = '\0';
  CHECK_EQ_INT(envelope_associated_data(ENVELOPE_REQUEST, &h, ad), 0);
  snprintf(id, sizeof(id), "x");
  CHECK_EQ_INT(envelope_associated_data(ENVELOPE_REQUEST, &h, ad), 40);
  h.request_id = NULL;
  CHECK_EQ_INT(envelope_associated_data(ENVELOPE_REQUEST, &h, ad), 0);
  h.request_id = rid;
  h.partner_id = NULL;
  CHECK_EQ_INT(envelope_associated_data(ENVELOPE_REQUEST, &h, ad), 0);
  h.partner_id = id;
  CHECK_EQ_INT(envelope_associated_data((envelope_direction)3, &h, ad), 0);
  CHECK_EQ_INT(envelope_associated_data(ENVELOPE_REQUEST, NULL, ad), 0);
}

static void test_seal_open_round_trip(void) {
  uint8_t key[32], ad[ENVELOPE_MAX_AD_BYTES], plain[ENVELOPE_MAX_CIPHERTEXT];
  uint8_t sealed[ENVELOPE_MAX_CIPHERTEXT + 16], opened[ENVELOPE_MAX_CIPHERTEXT];
  uint8_t nonce[24], nonce2[24], sealed2[ENVELOPE_MAX_CIPHERTEXT + 16];
  randombytes_buf(key, sizeof(key));
  randombytes_buf(ad, sizeof(ad));
  static const size_t lengths[] = {0, 1, 15, 16, 17, 100, 1007, ENVELOPE_MAX_CIPHERTEXT - 16};
  for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
    size_t n = lengths[i];
    randombytes_buf(plain, n);
    CHECK_EQ_INT(envelope_seal(key, ad, sizeof(ad), plain, n, nonce, sealed), 0);
    memset(opened, 0xee, sizeof(opened));
    CHECK_EQ_INT(envelope_open(key, ad, sizeof(ad), nonce, sealed, n + 16, opened), 0);
    CHECK_MEM(opened, plain, n);
    /* Fresh nonces: the same message twice gives two different envelopes. */
    CHECK_EQ_INT(envelope_seal(key, ad, sizeof(ad), plain, n, nonce2, sealed2), 0);
    CHECK(memcmp(nonce, nonce2, 24) != 0);
    CHECK(memcmp(sealed, sealed2, n + 16) != 0);
  }
  /* Too short to hold a tag. */
  CHECK_EQ_INT(envelope_open(key, ad, sizeof(ad), nonce, sealed, 15, opened), -1);
  CHECK_EQ_INT(envelope_open(key, ad, sizeof(ad), nonce, sealed, 0, opened), -1);
}

static void test_tampering_fails(void) {
  uint8_t key[32], other[32], ad[40], plain[64], sealed[80], opened[64], nonce[24];
  randombytes_buf(key, sizeof(key));
  randombytes_buf(other, sizeof(other));
  randombytes_buf(ad, sizeof(ad));
  randombytes_buf(plain, sizeof(plain));
  CHECK_EQ_INT(envelope_seal(key, ad, sizeof(ad), plain, sizeof(plain), nonce, sealed), 0);
  CHECK_EQ_INT(envelope_open(key, ad, sizeof(ad), nonce, sealed, sizeof(sealed), opened), 0);
  int failures = 0;
  for (size_t bit = 0; bit < sizeof(sealed) * 8; bit += 7) {
    sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    failures += envelope_open(key, ad, sizeof(ad), nonce, sealed, sizeof(sealed), opened) != 0;
    sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  CHECK_EQ_INT(failures, (sizeof(sealed) * 8 + 6) / 7);
  failures = 0;
  for (size_t bit = 0; bit < sizeof(ad) * 8; bit += 5) {
    ad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    failures += envelope_open(key, ad, sizeof(ad), nonce, sealed, sizeof(sealed), opened) != 0;
    ad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  CHECK_EQ_INT(failures, sizeof(ad) * 8 / 5);
  failures = 0;
  for (size_t bit = 0; bit < sizeof(nonce) * 8; bit += 3) {
    nonce[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    failures += envelope_open(key, ad, sizeof(ad), nonce, sealed, sizeof(sealed), opened) != 0;
    nonce[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
  CHECK_EQ_INT(failures, sizeof(nonce) * 8 / 3);
  CHECK_EQ_INT(envelope_open(other, ad, sizeof(ad), nonce, sealed, sizeof(sealed), opened), -1);
  CHECK_EQ_INT(envelope_open(key, ad, sizeof(ad) - 1, nonce, sealed, sizeof(sealed), opened), -1);
  CHECK_EQ_INT(envelope_open(key, ad, sizeof(ad), nonce, sealed, sizeof(sealed) - 1, opened), -1);
  /* Still intact after all that. */
  CHECK_EQ_INT(envelope_open(key, ad, sizeof(ad), nonce, sealed, sizeof(sealed), opened), 0);
  CHECK_MEM(opened, plain, sizeof(plain));
}

/* pad_make + pad_seal is the AEAD, byte for byte, for every body length. */
static void test_pad_matches_aead(void) {
  uint8_t tx[32], ad[ENVELOPE_MAX_AD_BYTES], plain[ENVELOPE_PAD_MAX_BODY];
  uint8_t pad[ENVELOPE_PAD_BYTES], nonce[24];
  uint8_t by_pad[ENVELOPE_PAD_MAX_BODY + 16], by_aead[ENVELOPE_PAD_MAX_BODY + 16];
  uint8_t opened[ENVELOPE_PAD_MAX_BODY];
  randombytes_buf(tx, sizeof(tx));
  int mismatches = 0, open_failures = 0;
  for (size_t n = 0; n <= ENVELOPE_PAD_MAX_BODY; n++) {
    size_t ad_len = n % (ENVELOPE_MAX_AD_BYTES + 1); /* every AD length, 0 included */
    randombytes_buf(plain, n);
    randombytes_buf(ad, ad_len);
    if (envelope_pad_make(tx, nonce, pad) != 0 ||
        envelope_pad_seal(pad, ad, ad_len, plain, n, by_pad) != 0) {
      mismatches++;
      continue;
    }
    unsigned long long len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(by_aead, &len, plain, n, ad, ad_len, NULL, nonce,
                                               tx);
    if (len != n + 16 || memcmp(by_pad, by_aead, n + 16) != 0) mismatches++;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(opened, &len, NULL, by_pad, n + 16, ad, ad_len,
                                                   nonce, tx) != 0 ||
        len != n || memcmp(opened, plain, n) != 0)
      open_failures++;
    /* And through envelope_open, as a partner would. */
    if (envelope_open(tx, ad, ad_len, nonce, by_pad, n + 16, opened) != 0) open_failures++;
  }
  CHECK_EQ_INT(mismatches, 0);
  CHECK_EQ_INT(open_failures, 0);
}

static void test_pad_limits_and_in_place(void) {
  uint8_t tx[32], pad[ENVELOPE_PAD_BYTES], pad2[ENVELOPE_PAD_BYTES], nonce[24], nonce2[24];
  uint8_t buf[ENVELOPE_PAD_MAX_BODY + 1 + 16], plain[ENVELOPE_PAD_MAX_BODY + 1], ad[8] = "adadadad";
  randombytes_buf(tx, sizeof(tx));
  randombytes_buf(plain, sizeof(plain));
  CHECK_EQ_INT(envelope_pad_make(tx, nonce, pad), 0);
  CHECK_EQ_INT(envelope_pad_make(tx, nonce2, pad2), 0);
  CHECK(memcmp(nonce, nonce2, 24) != 0);
  CHECK(memcmp(pad, pad2, sizeof(pad)) != 0);
  CHECK_EQ_INT(envelope_pad_seal(pad, ad, sizeof(ad), plain, ENVELOPE_PAD_MAX_BODY + 1, buf), -1);

  /* In place: out == plain. */
  memcpy(buf, plain, 100);
  CHECK_EQ_INT(envelope_pad_seal(pad, ad, sizeof(ad), buf, 100, buf), 0);
  uint8_t opened[100];
  CHECK_EQ_INT(envelope_open(tx, ad, sizeof(ad), nonce, buf, 116, opened), 0);
  CHECK_MEM(opened, plain, 100);
  /* A pad belongs to its nonce: the other nonce does not open it. */
  CHECK_EQ_INT(envelope_open(tx, ad, sizeof(ad), nonce2, buf, 116, opened), -1);
  buf[3] ^= 0x10;
  CHECK_EQ_INT(envelope_open(tx, ad, sizeof(ad), nonce, buf, 116, opened), -1);
  buf[3] ^= 0x10;
  buf[110] ^= 0x01;
  CHECK_EQ_INT(envelope_open(tx, ad, sizeof(ad), nonce, buf, 116, opened), -1);
  buf[110] ^= 0x01;
  ad[0] ^= 0x80;
  CHECK_EQ_INT(envelope_open(tx, ad, sizeof(ad), nonce, buf, 116, opened), -1);
  ad[0] ^= 0x80;
  nonce[23] ^= 0x01;
  CHECK_EQ_INT(envelope_open(tx, ad, sizeof(ad), nonce, buf, 116, opened), -1);
  nonce[23] ^= 0x01;
  CHECK_EQ_INT(envelope_open(tx, ad, sizeof(ad), nonce, buf, 116, opened), 0);
}

static void make_pair(key_pair *k) {
  crypto_kx_keypair(k->pk, k->sk);
}

static int all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i]) return 0;
  return 1;
}

static void test_cache_hits_and_eviction(void) {
  CHECK(envelope_cache_new(0) == NULL);
  key_pair system1, system2, a, b, c;
  make_pair(&system1);
  make_pair(&system2);
  make_pair(&a);
  make_pair(&b);
  make_pair(&c);
  envelope_session want_a, want_b, want_c, want_a2;
  CHECK_EQ_INT(envelope_system_session(&want_a, system1.pk, system1.sk, a.pk), 0);
  CHECK_EQ_INT(envelope_system_session(&want_b, system1.pk, system1.sk, b.pk), 0);
  CHECK_EQ_INT(envelope_system_session(&want_c, system1.pk, system1.sk, c.pk), 0);
  CHECK_EQ_INT(envelope_system_session(&want_a2, system2.pk, system2.sk, a.pk), 0);

  envelope_cache *cache = envelope_cache_new(2);
  CHECK(cache != NULL);
  if (!cache) return;
  const envelope_session *sa =
      envelope_cache_system_session(cache, 1, system1.pk, system1.sk, a.pk);
  CHECK(sa && memcmp(sa, &want_a, sizeof(want_a)) == 0);
  CHECK(envelope_cache_system_session(cache, 1, system1.pk, system1.sk, a.pk) == sa);
  const envelope_session *sb =
      envelope_cache_system_session(cache, 1, system1.pk, system1.sk, b.pk);
  CHECK(sb && sb != sa && memcmp(sb, &want_b, sizeof(want_b)) == 0);
  /* Touch a, so b is the least recently used; c evicts b, not a. */
  CHECK(envelope_cache_system_session(cache, 1, system1.pk, system1.sk, a.pk) == sa);
  const envelope_session *sc =
      envelope_cache_system_session(cache, 1, system1.pk, system1.sk, c.pk);
  CHECK(sc == sb);
  CHECK(sc && memcmp(sc, &want_c, sizeof(want_c)) == 0);
  CHECK(envelope_cache_system_session(cache, 1, system1.pk, system1.sk, a.pk) == sa);
  CHECK(memcmp(sa, &want_a, sizeof(want_a)) == 0);
  /* b comes back after its eviction, derived again (evicting c). */
  sb = envelope_cache_system_session(cache, 1, system1.pk, system1.sk, b.pk);
  CHECK(sb && memcmp(sb, &want_b, sizeof(want_b)) == 0);

  /* The same partner key under another system key is another entry. */
  const envelope_session *sa2 =
      envelope_cache_system_session(cache, 2, system2.pk, system2.sk, a.pk);
  CHECK(sa2 && memcmp(sa2, &want_a2, sizeof(want_a2)) == 0);
  CHECK(memcmp(&want_a, &want_a2, sizeof(want_a)) != 0);

  /* Forgetting system key 2 wipes its entry and frees its slot: the next
   * miss takes that slot instead of evicting system key 1's entry. */
  const envelope_session *kept =
      envelope_cache_system_session(cache, 1, system1.pk, system1.sk, a.pk);
  CHECK(kept && memcmp(kept, &want_a, sizeof(want_a)) == 0);
  envelope_cache_forget_system_key(cache, 2);
  CHECK(all_zero(sa2, sizeof(*sa2)));
  CHECK(envelope_cache_system_session(cache, 1, system1.pk, system1.sk, c.pk) == sa2);
  CHECK(envelope_cache_system_session(cache, 1, system1.pk, system1.sk, a.pk) == kept);
  CHECK(memcmp(kept, &want_a, sizeof(want_a)) == 0);

  /* A low-order partner key is refused and not cached. */
  uint8_t zero_pk[32] = {0};
  CHECK(envelope_cache_system_session(cache, 1, system1.pk, system1.sk, zero_pk) == NULL);
  CHECK(envelope_cache_system_session(cache, 1, system1.pk, system1.sk, c.pk) == sa2);
  CHECK(envelope_cache_system_session(cache, 1, system1.pk, system1.sk, a.pk) == kept);
  envelope_cache_free(cache);
  envelope_cache_free(NULL);
}

/* Many keys through a small cache: every answer is right, hit or miss. */
static void test_cache_churn(void) {
  enum { KEYS = 24, CAPACITY = 5 };
  key_pair system, partners[KEYS];
  envelope_session want[KEYS];
  make_pair(&system);
  for (int i = 0; i < KEYS; i++) {
    make_pair(&partners[i]);
    CHECK_EQ_INT(envelope_system_session(&want[i], system.pk, system.sk, partners[i].pk), 0);
  }
  envelope_cache *cache = envelope_cache_new(CAPACITY);
  CHECK(cache != NULL);
  if (!cache) return;
  int wrong = 0;
  for (int round = 0; round < 400; round++) {
    int i = (int)randombytes_uniform(KEYS);
    if (round % 3) i %= CAPACITY; /* a hot set, so hits happen too */
    const envelope_session *s =
        envelope_cache_system_session(cache, 9, system.pk, system.sk, partners[i].pk);
    if (!s || memcmp(s, &want[i], sizeof(want[i])) != 0) wrong++;
  }
  CHECK_EQ_INT(wrong, 0);
  envelope_cache_free(cache);
}

static void test_partner_and_system_agree(void) {
  for (int i = 0; i < 20; i++) {
    key_pair partner, system;
    make_pair(&partner);
    make_pair(&system);
    envelope_session p, s;
    CHECK_EQ_INT(envelope_partner_session(&p, partner.pk, partner.sk, system.pk), 0);
    CHECK_EQ_INT(envelope_system_session(&s, system.pk, system.sk, partner.pk), 0);
    CHECK_MEM(p.tx, s.rx, 32);
    CHECK_MEM(p.rx, s.tx, 32);
    CHECK(memcmp(p.rx, p.tx, 32) != 0);
  }
  key_pair system;
  make_pair(&system);
  uint8_t zero_pk[32] = {0};
  envelope_session s;
  CHECK_EQ_INT(envelope_system_session(&s, system.pk, system.sk, zero_pk), -1);
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "crosscheck") == 0) return crosscheck_serve();
  if (argc >= 2) {
    fprintf(stderr, "usage: unit_envelope [crosscheck]\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  if (vectors_load(&vectors) != 0) {
    fprintf(stderr, "cannot read the test vectors\n");
    return 1;
  }
  RUN(test_vectors_loaded);
  RUN(test_vector_session_keys);
  RUN(test_vector_associated_data);
  RUN(test_vector_open_and_reseal);
  RUN(test_vector_messages);
  RUN(test_vector_bodies);
  RUN(test_ad_layout_and_limits);
  RUN(test_seal_open_round_trip);
  RUN(test_tampering_fails);
  RUN(test_pad_matches_aead);
  RUN(test_pad_limits_and_in_place);
  RUN(test_partner_and_system_agree);
  RUN(test_cache_hits_and_eviction);
  RUN(test_cache_churn);
  vectors_free(&vectors);
  return testing_summary();
}
