/* fuzz_seeds: writes the seed corpora of the harnesses (corpus/<harness>/)
 * from the published test vectors (docs/vectors/envelope-v1.json) and from
 * the inputs the unit tests use: one well-formed input of every kind each
 * decoder tells apart, in the framing its harness reads. The system
 * libraries (protobuf-c, jansson, http-parser) carry no coverage
 * instrumentation, so the fuzzer starts from these rather than from
 * nothing.
 *
 *   fuzz_seeds <docs/vectors/envelope-v1.json> <tests/fuzz/corpus>
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "../../services/audit/audit_chain.h"
#include "fuzz.h"
#include "lindung/v1/internal.pb-c.h"
#include "lindung/v1/partner.pb-c.h"

static const char *corpus_dir;

/* A seed being assembled: fields appended in the harness's framing. */
typedef struct seed {
  uint8_t data[16384];
  size_t len;
} seed;

static void put(seed *s, const void *bytes, size_t len) {
  if (s->len + len > sizeof s->data) abort();
  memcpy(s->data + s->len, bytes, len);
  s->len += len;
}
static void put_byte(seed *s, uint8_t b) {
  put(s, &b, 1);
}
static void put_be16(seed *s, size_t v) {
  put_byte(s, (uint8_t)(v >> 8));
  put_byte(s, (uint8_t)v);
}
static void put_str8(seed *s, const char *text) { /* fuzz_string's framing */
  put_byte(s, (uint8_t)strlen(text));
  put(s, text, strlen(text));
}
static void put_text(seed *s, const char *text) {
  put(s, text, strlen(text));
}

static void save(const char *harness, const char *name, const seed *s) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", corpus_dir, harness);
  if (mkdir(path, 0755) != 0 && errno != EEXIST) abort();
  snprintf(path, sizeof path, "%s/%s/%s", corpus_dir, harness, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(s->data, 1, s->len, f) != s->len || fclose(f) != 0) abort();
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap) {
  size_t n = strlen(hex) / 2;
  if (n > cap || hex_decode(hex, out, n) != 0) abort();
  return n;
}

/* ---- the envelope and the body ---------------------------------------- */

static void envelope_seeds(const char *vectors) {
  json_error_t error;
  json_t *root = json_load_file(vectors, 0, &error);
  if (!root) abort();
  json_t *cases = json_object_get(root, "cases");
  for (size_t i = 0; i < json_array_size(cases); i++) {
    json_t *c = json_array_get(cases, i);
    const char *request_hex = json_string_value(json_object_get(c, "scan_request_hex"));
    const char *body_hex = json_string_value(json_object_get(c, "request_body_hex"));
    if (!request_hex || !body_hex) continue;
    uint8_t request[2048], body[2048];
    size_t request_len = unhex(request_hex, request, sizeof request);
    size_t body_len = unhex(body_hex, body, sizeof body);
    Lindung__V1__ScanRequest *m = lindung__v1__scan_request__unpack(NULL, request_len, request);
    if (!m) abort();
    char name[64];
    /* scan_request: the partner's own topic, the request id as the key;
     * then the other topics the harness offers. */
    for (uint8_t topic = 0; topic < 3; topic++) {
      seed s = {0};
      put_byte(&s, topic);
      put_byte(&s, (uint8_t)m->request_id.len);
      put(&s, m->request_id.data, m->request_id.len);
      put(&s, request, request_len);
      snprintf(name, sizeof name, "vector-%zu-topic-%u", i, topic);
      save("scan_request", name, &s);
    }
    /* request_body: the body sealed by the harness, and the whole
     * AcceptedRequest as ingest forwards it. */
    seed s = {0};
    put_byte(&s, 1);
    put(&s, body, body_len);
    snprintf(name, sizeof name, "vector-%zu-body", i);
    save("request_body", name, &s);
    Lindung__V1__AcceptedRequest accepted = LINDUNG__V1__ACCEPTED_REQUEST__INIT;
    accepted.request = m;
    accepted.received_at_ms = FUZZ_NOW_MS;
    accepted.source_partition = 2;
    accepted.source_offset = 40;
    s.len = 0;
    put_byte(&s, 0);
    uint8_t packed[4096];
    put(&s, packed, lindung__v1__accepted_request__pack(&accepted, packed));
    snprintf(name, sizeof name, "vector-%zu-accepted", i);
    save("request_body", name, &s);
    lindung__v1__scan_request__free_unpacked(m, NULL);
  }
  json_decref(root);
}

/* ---- partner.events ----------------------------------------------------- */

static void partner_event_seeds(void) {
  uint8_t pk[32];
  memset(pk, 0x33, sizeof pk);
  seed all = {0};
  for (int kind = 1; kind <= 7; kind++) {
    Lindung__V1__PartnerEvent e = LINDUNG__V1__PARTNER_EVENT__INIT;
    e.version = 1;
    e.kind = (Lindung__V1__PartnerEventKind)kind;
    e.partner_id = (char *)(kind == 1 ? "new-partner" : "gojek");
    e.key_id = kind == 3 ? 7 : 9;
    if (kind == 1 || kind == 2 || kind == 7) {
      e.public_key.data = pk;
      e.public_key.len = sizeof pk;
    }
    e.rate_per_s = 50;
    e.burst = 100;
    e.system_key_id = kind == 7 ? 5 : 0;
    e.grace_until_ms = FUZZ_NOW_MS + 86400000;
    e.at_ms = FUZZ_NOW_MS;
    e.registry_version = (uint64_t)kind;
    uint8_t packed[512];
    size_t len = lindung__v1__partner_event__pack(&e, packed);
    seed s = {0};
    put_byte(&s, (uint8_t)len);
    put(&s, packed, len);
    put(&all, s.data, s.len);
    char name[32];
    snprintf(name, sizeof name, "kind-%d", kind);
    save("partner_event", name, &s);
  }
  save("partner_event", "every-kind", &all);
}

/* ---- dead letters ------------------------------------------------------- */

static void dead_letter_seeds(void) {
  static const uint8_t key[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  seed s = {0};
  put_str8(&s, "scan.requests.gojek");
  put_str8(&s, "not_protobuf");
  put(&s, "\0\0\0\3", 4);
  put_byte(&s, sizeof key);
  put(&s, key, sizeof key);
  put_text(&s, "this is not a ScanRequest");
  save("dead_letter", "not-protobuf", &s);
  s.len = 0;
  put_str8(&s, "partner.events");
  put_str8(&s, "bad_version");
  put(&s, "\0\0\0\0", 4);
  put_byte(&s, 0);
  for (int i = 0; i < 1500; i++) put_byte(&s, (uint8_t)i); /* longer than what is kept */
  save("dead_letter", "long-value", &s);
}

/* ---- the admin API ------------------------------------------------------ */

static const char *const admin_bodies[][2] = {
    {"partner-add",
     "{\"partner_id\":\"tokopedia\",\"name\":\"Tokopedia \\u00e9\",\"key_id\":1,"
     "\"public_key\":\"88ec0fc10a8149791fe704cc1579d7c00e7c25aa3baa17dfe51944036c79666f\"}"},
    {"key-add",
     "{\"key_id\":9,\"public_key\":"
     "\"88ec0fc10a8149791fe704cc1579d7c00e7c25aa3baa17dfe51944036c79666f\"}"},
    {"reason", "{\"reason\":\"key leaked in a support ticket\"}"},
    {"quota", "{\"rate\":200,\"burst\":400}"},
    {"rotate", "{\"grace_s\":86400}"},
    {"empty", "{}"},
    {"error-answer", "{\"error\":\"unknown_partner\",\"message\":\"no such partner\"}"},
};

static void admin_seeds(void) {
  static const struct {
    const char *name;
    uint8_t method; /* 0 POST, 1 PUT */
    const char *path;
    int body;
  } routes[] = {
      {"partner-add", 0, "/v1/partners", 0},
      {"key-add", 0, "/v1/partners/gojek/keys", 1},
      {"key-revoke", 0, "/v1/partners/gojek/keys/7/revoke", 2},
      {"partner-revoke", 0, "/v1/partners/gojek/revoke", 2},
      {"partner-reinstate", 0, "/v1/partners/gojek/reinstate", 5},
      {"quota", 1, "/v1/partners/gojek/quota", 3},
      {"rotate", 0, "/v1/system-keys/rotate", 4},
  };
  for (size_t i = 0; i < sizeof admin_bodies / sizeof admin_bodies[0]; i++) {
    seed s = {0};
    put_text(&s, admin_bodies[i][1]);
    save("admin_json", admin_bodies[i][0], &s);
  }
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    seed s = {0};
    put_byte(&s, routes[i].method);
    put_str8(&s, routes[i].path);
    put_str8(&s, "Bearer s3cret-admin-token");
    put_str8(&s, "ops@lindung.example");
    put_text(&s, admin_bodies[routes[i].body][1]);
    save("admin_request", routes[i].name, &s);
  }
}

/* ---- health.facts ------------------------------------------------------- */

static void health_fact_seeds(void) {
  seed batch = {0};
  for (int kind = 1; kind <= 8; kind++) {
    uint8_t fact_id[16], nik_hash[32];
    memset(fact_id, kind, sizeof fact_id);
    memset(nik_hash, 0x70 + kind, sizeof nik_hash);
    Lindung__V1__HealthFact f = LINDUNG__V1__HEALTH_FACT__INIT;
    f.version = 1;
    f.fact_id.data = fact_id;
    f.fact_id.len = sizeof fact_id;
    f.nik_hash.data = nik_hash;
    f.nik_hash.len = sizeof nik_hash;
    f.kind = (Lindung__V1__HealthFactKind)kind;
    f.at_ms = kind == 1 ? 631152000000ull : FUZZ_NOW_MS - 86400000ull * kind;
    f.until_ms = kind == 7 ? FUZZ_NOW_MS + 86400000ull * 14 : 0;
    f.detail = (char *)(kind == 2 ? "Sinovac, lot 7" : "");
    f.source = (char *)"lab-jakarta.01";
    f.sent_at_ms = FUZZ_NOW_MS;
    uint8_t packed[512];
    size_t len = lindung__v1__health_fact__pack(&f, packed);
    seed s = {0};
    put_be16(&s, len);
    put(&s, packed, len);
    put(&batch, s.data, s.len);
    char name[32];
    snprintf(name, sizeof name, "kind-%d", kind);
    save("health_fact", name, &s);
  }
  save("health_fact", "batch", &batch);
}

/* ---- the audit trail ---------------------------------------------------- */

static size_t audit_event_pack(int stage, uint8_t *out) {
  static const uint8_t request_id[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                         0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};
  static const uint8_t pseudonym[32] = {0x51};
  Lindung__V1__AuditEvent e = LINDUNG__V1__AUDIT_EVENT__INIT;
  e.version = 1;
  e.stage = (Lindung__V1__AuditStage)stage;
  e.request_id.data = (uint8_t *)request_id;
  e.request_id.len = stage == 4 ? 0 : sizeof request_id;
  e.partner_id = (char *)"gojek";
  e.outcome = (Lindung__V1__AuditOutcome)(stage == 4 ? 5 : stage);
  e.kind = LINDUNG__V1__REQUEST_KIND__REQUEST_KIND_SCAN;
  e.action = (Lindung__V1__Action)1;
  e.venue_id = (char *)(stage == 3 ? "QR-MALL-0001" : "");
  e.decision = (Lindung__V1__Decision)(stage == 3 ? 1 : 0);
  if (stage == 3) {
    e.subject_pseudonym.data = (uint8_t *)pseudonym;
    e.subject_pseudonym.len = sizeof pseudonym;
  }
  e.sent_at_ms = FUZZ_NOW_MS;
  e.received_at_ms = FUZZ_NOW_MS + 3;
  e.handled_at_ms = FUZZ_NOW_MS + 9;
  e.service = (char *)(stage == 1 ? "ingest" : stage == 2 ? "decrypt" : "status-resolver");
  e.detail = (char *)(stage == 4 ? "partner_revoke reason=leaked \xc3\xa9" : "");
  e.actor = (char *)(stage == 4 ? "ops@lindung.example" : "");
  return lindung__v1__audit_event__pack(&e, out);
}

static void audit_seeds(void) {
  uint8_t seed_key[AUDIT_SEED_BYTES];
  memset(seed_key, 0x21, sizeof seed_key);
  seed messages = {0};
  put_byte(&messages, 1);
  uint8_t prev[AUDIT_HASH_BYTES] = {0};
  uint8_t events[4][1024];
  for (int stage = 1; stage <= 4; stage++) {
    size_t len = audit_event_pack(stage, events[stage - 1]);
    seed s = {0};
    put(&s, events[stage - 1], len);
    char name[32];
    snprintf(name, sizeof name, "stage-%d", stage);
    save("audit_event", name, &s);

    /* The chain the audit service would publish for these events. */
    Lindung__V1__AuditEvent *event = lindung__v1__audit_event__unpack(NULL, len, events[stage - 1]);
    static const uint8_t source_id[16] = {9};
    audit_row row;
    audit_row_from_event(event, source_id, &row);
    row.seq = stage;
    row.appended_at_us = (int64_t)FUZZ_NOW_MS * 1000 + stage;
    memcpy(row.prev_hash, prev, sizeof prev);
    if (audit_row_hash(&row, row.hash) != 0) abort();
    memcpy(prev, row.hash, sizeof prev);
    Lindung__V1__AuditRecord record;
    Lindung__V1__AuditEvent record_event;
    Lindung__V1__AuditLogEntry entry = LINDUNG__V1__AUDIT_LOG_ENTRY__INIT;
    audit_record_fill(&row, &record, &record_event);
    entry.entry_case = LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_RECORD;
    entry.record = &record;
    uint8_t packed[4096];
    size_t packed_len = lindung__v1__audit_log_entry__pack(&entry, packed);
    put_be16(&messages, packed_len);
    put(&messages, packed, packed_len);
    lindung__v1__audit_event__free_unpacked(event, NULL);
  }
  audit_checkpoint checkpoint = {.seq = 4, .signed_at_us = (int64_t)FUZZ_NOW_MS * 1000 + 10};
  memcpy(checkpoint.head_hash, prev, sizeof prev);
  if (audit_checkpoint_sign(&checkpoint, seed_key) != 0) abort();
  Lindung__V1__AuditCheckpoint proto;
  audit_checkpoint_fill(&checkpoint, &proto);
  Lindung__V1__AuditLogEntry entry = LINDUNG__V1__AUDIT_LOG_ENTRY__INIT;
  entry.entry_case = LINDUNG__V1__AUDIT_LOG_ENTRY__ENTRY_CHECKPOINT;
  entry.checkpoint = &proto;
  uint8_t packed[1024];
  size_t packed_len = lindung__v1__audit_log_entry__pack(&entry, packed);
  put_be16(&messages, packed_len);
  put(&messages, packed, packed_len);
  save("audit_capture", "chain-with-checkpoint", &messages);

  /* The same capture as the text file verify reads. */
  seed text = {0};
  put_byte(&text, 0);
  put_text(&text, "# captured with lindung-audit-tail --raw\n");
  for (size_t at = 1; at + 2 <= messages.len;) {
    size_t len = ((size_t)messages.data[at] << 8) | messages.data[at + 1];
    char hex[8192];
    hex_encode(messages.data + at + 2, len, hex);
    put_text(&text, hex);
    put_text(&text, "\n");
    at += 2 + len;
  }
  save("audit_capture", "chain-as-text", &text);
}

/* ---- HTTP requests ------------------------------------------------------ */

static void http_seeds(void) {
  static const char *const requests[][2] = {
      {"healthz", "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"},
      {"metrics-keepalive",
       "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"admin-post",
       "POST /v1/partners/gojek/revoke HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer "
       "s3cret-admin-token\r\nX-Lindung-Actor: ops@lindung.example\r\nContent-Type: "
       "application/json\r\nContent-Length: 20\r\n\r\n{\"reason\":\"leaked\"}\n"},
      {"chunked",
       "PUT /v1/partners/gojek/quota HTTP/1.1\r\nHost: admin\r\nTransfer-Encoding: "
       "chunked\r\nAuthorization: Bearer t\r\n\r\n"
       "8\r\n{\"rate\":\r\n6\r\n2,\"b\":\r\n3\r\n1}\n\r\n0\r\n\r\n"},
      {"http10", "GET /healthz HTTP/1.0\r\n\r\n"},
      {"upgrade", "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
  };
  for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
    seed s = {0};
    /* The harnesses feed the request in pieces: one byte says where to cut. */
    put_byte(&s, (uint8_t)(7 * i + 3));
    put_text(&s, requests[i][1]);
    save("http_request", requests[i][0], &s);
    save("admin_http", requests[i][0], &s);
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: fuzz_seeds <envelope-v1.json> <corpus dir>\n");
    return 2;
  }
  corpus_dir = argv[2];
  if (mkdir(corpus_dir, 0755) != 0 && errno != EEXIST) return 1;
  envelope_seeds(argv[1]);
  partner_event_seeds();
  dead_letter_seeds();
  admin_seeds();
  health_fact_seeds();
  audit_seeds();
  http_seeds();
  return 0;
}
