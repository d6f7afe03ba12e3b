/* partner_sdk: the partner side of docs/partner-protocol.md v1, small enough for a
 * partner app to embed with any Kafka client.
 *
 * It seals ScanRequests (a Scan or a Link) into a caller buffer and opens the
 * ScanResponses that come back; moving the bytes over Kafka is the caller's
 * business (key = the 16-byte request id, topic scan.requests.<partner_id>; answers on
 * scan.results.<partner_id>). It depends only on libsodium, the protobuf-c
 * code generated from proto/lindung/v1/partner.proto, envelope.h and hex.h.
 *
 * The SDK does not judge what it seals: Lindung answers a 15-digit NIK or a
 * Scan without an action with MALFORMED, and tests rely on being able to
 * send such requests. Front ends (like lindung-partner) validate input.
 *
 * Prefix partner_sdk_. Functions return 0 or a negative PARTNER_SDK_E* code
 * and write a one-line reason into err (never a NIK, token or key). */
#ifndef LINDUNG_PARTNER_SDK_H
#define LINDUNG_PARTNER_SDK_H

#include <stddef.h>
#include <stdint.h>

#define PARTNER_SDK_REQUEST_ID_BYTES 16
#define PARTNER_SDK_KEY_BYTES 32
#define PARTNER_SDK_NONCE_BYTES 24
#define PARTNER_SDK_MAX_PARTNER_ID 32
#define PARTNER_SDK_MAX_TOKEN 64
#define PARTNER_SDK_MAX_VENUE_NAME 448
/* Largest ScanResponse value the SDK unpacks; Lindung's are far smaller. */
#define PARTNER_SDK_MAX_RESPONSE_BYTES 65536
/* A buffer this large holds any request whose ciphertext stays within the
 * protocol's 1024 bytes. */
#define PARTNER_SDK_REQUEST_BUFFER 1200

enum {
  PARTNER_SDK_EINVAL = -1,   /* bad argument or credentials */
  PARTNER_SDK_ECRYPTO = -2,  /* libsodium failed (init, session, seal) */
  PARTNER_SDK_ENOSPC = -3,   /* the caller's buffer is too small */
  PARTNER_SDK_EDECODE = -4,  /* not a valid ScanResponse v1 */
  PARTNER_SDK_ENOTOURS = -5, /* sent to another partner id or key pair */
  PARTNER_SDK_EAUTH = -6,    /* the ciphertext does not open */
  PARTNER_SDK_EBODY = -7,    /* the opened body is not a valid ResponseBody */
  PARTNER_SDK_EIO = -8,      /* the secret key file cannot be read */
};

/* Values of the protocol enums (lindung.v1), so callers need no generated
 * header. */
typedef enum partner_sdk_action {
  PARTNER_SDK_ACTION_UNSPECIFIED = 0,
  PARTNER_SDK_CHECK_IN = 1,
  PARTNER_SDK_CHECK_OUT = 2,
} partner_sdk_action;

typedef enum partner_sdk_kind {
  PARTNER_SDK_KIND_NONE = 0, /* an error response carries no body */
  PARTNER_SDK_KIND_SCAN = 1, /* request: Scan; response: Verdict */
  PARTNER_SDK_KIND_LINK = 2, /* request: Link; response: Linked */
} partner_sdk_kind;

typedef struct partner_sdk partner_sdk;

typedef struct partner_sdk_credentials {
  const char *partner_id;        /* 1..32 bytes */
  uint32_t partner_key_id;       /* not 0 */
  uint32_t system_key_id;        /* not 0 */
  const char *system_public_key; /* 64 hex characters */
  /* Exactly one of these: a file holding 64 hex characters (and a newline),
   * refused when group or others may read it; or the 32 key bytes. */
  const char *secret_key_file;
  const uint8_t *secret_key;
} partner_sdk_credentials;

/* Checks the credentials and derives the session keys once; the secret key
 * is wiped as soon as the session exists. */
int partner_sdk_open(const partner_sdk_credentials *credentials, partner_sdk **out, char *err,
                     size_t err_len);
/* Wipes the session keys and frees. NULL is fine. */
void partner_sdk_close(partner_sdk *sdk);

const char *partner_sdk_partner_id(const partner_sdk *sdk);
uint32_t partner_sdk_partner_key_id(const partner_sdk *sdk);
uint32_t partner_sdk_system_key_id(const partner_sdk *sdk);
/* The partner public key derived from the secret key, 64 hex + NUL. */
void partner_sdk_public_key_hex(const partner_sdk *sdk, char out[2 * PARTNER_SDK_KEY_BYTES + 1]);

/* What a request carries: kind SCAN uses token, venue_id, scanned_at_ms and
 * action; kind LINK uses nik. Strings must not be NULL for their kind. */
typedef struct partner_sdk_request {
  partner_sdk_kind kind;
  const char *token;
  const char *venue_id;
  uint64_t scanned_at_ms;
  partner_sdk_action action;
  const char *nik;
} partner_sdk_request;

/* Builds a sealed ScanRequest (version 1, a fresh random request id, sent_at
 * = now, a fresh random nonce) into out; *out_len gets its size and
 * request_id_out the request id (also the Kafka key). */
int partner_sdk_build_request(const partner_sdk *sdk, const partner_sdk_request *request,
                              uint8_t request_id_out[PARTNER_SDK_REQUEST_ID_BYTES], uint8_t *out,
                              size_t out_cap, size_t *out_len, char *err, size_t err_len);

/* The same with a caller-chosen request id, sent_at_ms and nonce (nonce NULL:
 * random). For tests and test vectors only: a nonce must never repeat under
 * one key, and Lindung refuses a request id seen before. */
int partner_sdk_build_request_fixed(const partner_sdk *sdk, const partner_sdk_request *request,
                                    const uint8_t request_id[PARTNER_SDK_REQUEST_ID_BYTES],
                                    uint64_t sent_at_ms,
                                    const uint8_t nonce[PARTNER_SDK_NONCE_BYTES], uint8_t *out,
                                    size_t out_cap, size_t *out_len, char *err, size_t err_len);

typedef struct partner_sdk_verdict {
  int status;   /* GREEN = 1, YELLOW = 2, RED = 3, BLACK = 4 */
  int decision; /* ALLOW = 1, DENY = 2 */
  int reason;   /* STATUS_ALLOWED = 1, ... */
  char venue_name[PARTNER_SDK_MAX_VENUE_NAME + 1];
  uint64_t checked_at_ms;
} partner_sdk_verdict;

typedef struct partner_sdk_response {
  uint8_t request_id[PARTNER_SDK_REQUEST_ID_BYTES];
  uint64_t created_at_ms;
  int error;             /* the protocol ErrorCode; 0 (NONE) when a body was opened */
  partner_sdk_kind kind; /* SCAN: verdict is set; LINK: token is set */
  partner_sdk_verdict verdict;
  char token[PARTNER_SDK_MAX_TOKEN + 1];
} partner_sdk_response;

/* Opens a ScanResponse value. Checks version 1, this partner's id and key
 * ids, and a 16-byte request id. Returns 0 with the body in out when error
 * is NONE; the protocol error code (> 0) when Lindung answered an error (out
 * holds the header and error); a negative PARTNER_SDK_E* code when the value
 * is not a readable answer for this partner (out->request_id is then set if
 * the header got that far, else zero). */
int partner_sdk_open_response(const partner_sdk *sdk, const uint8_t *value, size_t value_len,
                              partner_sdk_response *out, char *err, size_t err_len);

/* Protocol names for JSON output ("GREEN", "ALLOW", "STATUS_ALLOWED",
 * "STALE_REQUEST", "CHECK_IN"); "UNKNOWN" for a value the contract lacks. */
const char *partner_sdk_status_name(int status);
const char *partner_sdk_decision_name(int decision);
const char *partner_sdk_reason_name(int reason);
const char *partner_sdk_error_name(int error);
const char *partner_sdk_action_name(int action);
/* Name of a negative PARTNER_SDK_E* code, e.g. "EAUTH". */
const char *partner_sdk_strerror(int code);

/* A new crypto_kx key pair for registration. */
int partner_sdk_keygen(uint8_t public_key[PARTNER_SDK_KEY_BYTES],
                       uint8_t secret_key[PARTNER_SDK_KEY_BYTES]);

#endif
