/* Fuzzes the admin API's HTTP request parser (admin_http_reader, what each
 * admin connection feeds with its reads), then the request decoding the
 * service runs on a complete request (admin_operators_match, admin_parse). Checks
 * the limits admin_http.h promises, and that a request read in pieces (as
 * TCP may deliver it) is read exactly as the same bytes read at once.
 *
 * Input: one byte choosing the read size (1..256), then the bytes a client
 * sends. */
#include <string.h>

#include "../../services/revocation/admin_api.h"
#include "../../services/revocation/admin_http.h"
#include "../../services/revocation/admin_operators.h"
#include "fuzz.h"

#define MAX_BODY 4096

typedef struct outcome {
  admin_http_request *req;
  int refused;
  bool complete;
} outcome;

static outcome read_request(const char *data, size_t len, size_t piece) {
  outcome o = {calloc(1, sizeof(admin_http_request)), 0, false};
  FUZZ_ASSERT(o.req);
  admin_http_reader reader;
  admin_http_reader_init(&reader, o.req, MAX_BODY);
  for (size_t at = 0; at < len && !o.refused && !reader.complete; at += piece) {
    size_t n = len - at < piece ? len - at : piece;
    o.refused = admin_http_reader_feed(&reader, data + at, n);
  }
  o.complete = reader.complete;
  FUZZ_ASSERT(o.refused == 0 || o.refused == 400 || o.refused == 413 || o.refused == 431);
  FUZZ_ASSERT(!(o.complete && o.refused));
  return o;
}

static void outcome_free(outcome *o) {
  free(o->req->body);
  free(o->req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader in = {data, size};
  size_t piece = (size_t)fuzz_byte(&in) + 1;
  const char *text = (const char *)in.data;
  outcome whole = read_request(text, in.len, in.len ? in.len : 1);
  outcome pieces = read_request(text, in.len, piece);

  FUZZ_ASSERT(whole.complete == pieces.complete);
  if (whole.complete) {
    const admin_http_request *a = whole.req, *b = pieces.req;
    FUZZ_ASSERT(strcmp(a->method, b->method) == 0 && strcmp(a->path, b->path) == 0);
    FUZZ_ASSERT(strcmp(a->authorization, b->authorization) == 0);
    FUZZ_ASSERT(a->body_len == b->body_len && memcmp(a->body, b->body, a->body_len) == 0);
    FUZZ_ASSERT(a->body && a->body[a->body_len] == '\0' && a->body_len <= MAX_BODY);
    FUZZ_ASSERT(a->method[0] != '\0' && strchr(a->path, '?') == NULL);

    /* What the service does next with it. */
    static admin_operators ops;
    if (ops.count == 0) {
      char err[120];
      /* One operator, as `lindungctl operator add` writes it (any hash). */
      FUZZ_ASSERT(admin_operators_parse(
                      "ops:c0a4e8e3c5b6f3f9d7e2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0\n",
                      &ops, err, sizeof err) == 0);
    }
    (void)admin_operators_match(&ops, a->authorization);
    admin_op op;
    admin_error error;
    if (admin_parse(a->method, a->path, a->body, a->body_len, &op, &error) != 0)
      FUZZ_ASSERT(error.code && error.status >= 400 && error.status < 500);
  } else {
    /* The same verdict on the same bytes, however they arrive (431 may
     * come a read later: the head is counted per read). */
    FUZZ_ASSERT((whole.refused == 0) == (pieces.refused == 0) || whole.refused == 431 ||
                pieces.refused == 431);
  }
  outcome_free(&whole);
  outcome_free(&pieces);
  return 0;
}
