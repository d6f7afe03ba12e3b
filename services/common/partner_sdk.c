/* partner_sdk: sealing ScanRequests and opening ScanResponses for a partner
 * (docs/partner-protocol.md v1). See partner_sdk.h for the contract. */
#include "partner_sdk.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "hex.h"
#include "lindung/v1/partner.pb-c.h"

#define PARTNER_SDK_VERSION 1
/* 64 hex characters, optionally "\n" or "\r\n"; anything longer is refused. */
#define PARTNER_SDK_SECRET_FILE_MAX 66

struct partner_sdk {
  char partner_id[PARTNER_SDK_MAX_PARTNER_ID + 1];
  uint32_t partner_key_id;
  uint32_t system_key_id;
  uint8_t partner_pk[PARTNER_SDK_KEY_BYTES];
  envelope_session session;
};

static int partner_sdk_fail(int code, char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int partner_sdk_fail(int code, char *err, size_t err_len, const char *fmt, ...) {
  if (err && err_len) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
  }
  return code;
}

static uint64_t partner_sdk_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads the partner secret key file: 64 hex characters and a newline, as
 * keygen and lindungctl write it. The reason names the path only. */
static int partner_sdk_read_secret_file(const char *path, uint8_t sk[PARTNER_SDK_KEY_BYTES],
                                        char *err, size_t err_len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return partner_sdk_fail(PARTNER_SDK_EIO, err, err_len, "cannot open %s: %s", path,
                            strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return partner_sdk_fail(PARTNER_SDK_EIO, err, err_len, "%s is not a regular file", path);
  }
  /* A secret readable by others is a leaked secret; refuse it like ssh. */
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    close(fd);
    return partner_sdk_fail(PARTNER_SDK_EIO, err, err_len,
                            "%s is accessible by group or others (chmod 0400 it)", path);
  }
  char text[PARTNER_SDK_SECRET_FILE_MAX + 2];
  size_t len = 0;
  /* One byte stays free for the terminator. */
  while (len < sizeof(text) - 1) {
    ssize_t n = read(fd, text + len, sizeof(text) - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      close(fd);
      sodium_memzero(text, sizeof(text));
      return partner_sdk_fail(PARTNER_SDK_EIO, err, err_len, "cannot read %s: %s", path,
                              strerror(saved));
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  if (len > 0 && text[len - 1] == '\n') len--;
  if (len > 0 && text[len - 1] == '\r') len--;
  text[len] = '\0';
  int rc = 0;
  if (len != 2 * PARTNER_SDK_KEY_BYTES || hex_decode(text, sk, PARTNER_SDK_KEY_BYTES) != 0)
    rc = partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len, "%s does not hold 64 hex characters",
                          path);
  sodium_memzero(text, sizeof(text));
  return rc;
}

int partner_sdk_open(const partner_sdk_credentials *credentials, partner_sdk **out, char *err,
                     size_t err_len) {
  if (!credentials || !out)
    return partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len, "missing argument");
  *out = NULL;
  const partner_sdk_credentials *c = credentials;
  size_t id_len = c->partner_id ? strlen(c->partner_id) : 0;
  if (id_len == 0 || id_len > PARTNER_SDK_MAX_PARTNER_ID)
    return partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len,
                            "partner id must be 1 to 32 characters");
  if (c->partner_key_id == 0 || c->system_key_id == 0)
    return partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len, "key ids must not be 0");
  if ((c->secret_key_file == NULL) == (c->secret_key == NULL))
    return partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len,
                            "give exactly one of a secret key file and secret key bytes");
  if (sodium_init() < 0)
    return partner_sdk_fail(PARTNER_SDK_ECRYPTO, err, err_len, "libsodium failed to start");

  uint8_t system_pk[PARTNER_SDK_KEY_BYTES];
  if (!c->system_public_key || strlen(c->system_public_key) != 2 * PARTNER_SDK_KEY_BYTES ||
      hex_decode(c->system_public_key, system_pk, sizeof(system_pk)) != 0)
    return partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len,
                            "system public key must be 64 hex characters");

  /* sodium_malloc: guard pages, and sodium_free wipes the session keys. */
  partner_sdk *sdk = sodium_malloc(sizeof(*sdk));
  if (!sdk) return partner_sdk_fail(PARTNER_SDK_ECRYPTO, err, err_len, "out of memory");
  memset(sdk, 0, sizeof(*sdk));
  memcpy(sdk->partner_id, c->partner_id, id_len);
  sdk->partner_key_id = c->partner_key_id;
  sdk->system_key_id = c->system_key_id;

  uint8_t sk[PARTNER_SDK_KEY_BYTES];
  int rc = 0;
  if (c->secret_key_file)
    rc = partner_sdk_read_secret_file(c->secret_key_file, sk, err, err_len);
  else
    memcpy(sk, c->secret_key, sizeof(sk));
  if (rc == 0 && crypto_scalarmult_base(sdk->partner_pk, sk) != 0)
    rc = partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len, "secret key is not usable");
  if (rc == 0 && envelope_partner_session(&sdk->session, sdk->partner_pk, sk, system_pk) != 0)
    rc = partner_sdk_fail(PARTNER_SDK_ECRYPTO, err, err_len,
                          "cannot derive session keys with this system public key");
  sodium_memzero(sk, sizeof(sk));
  if (rc != 0) {
    sodium_free(sdk);
    return rc;
  }
  *out = sdk;
  return 0;
}

void partner_sdk_close(partner_sdk *sdk) {
  if (sdk) sodium_free(sdk);
}

const char *partner_sdk_partner_id(const partner_sdk *sdk) {
  return sdk->partner_id;
}

uint32_t partner_sdk_partner_key_id(const partner_sdk *sdk) {
  return sdk->partner_key_id;
}

uint32_t partner_sdk_system_key_id(const partner_sdk *sdk) {
  return sdk->system_key_id;
}

void partner_sdk_public_key_hex(const partner_sdk *sdk, char out[2 * PARTNER_SDK_KEY_BYTES + 1]) {
  hex_encode(sdk->partner_pk, PARTNER_SDK_KEY_BYTES, out);
}

/* Packs the RequestBody into a fresh heap buffer the caller wipes and frees. */
static int partner_sdk_pack_body(const partner_sdk_request *request, uint8_t **body_out,
                                 size_t *body_len, char *err, size_t err_len) {
  Lindung__V1__RequestBody body = LINDUNG__V1__REQUEST_BODY__INIT;
  Lindung__V1__Scan scan = LINDUNG__V1__SCAN__INIT;
  Lindung__V1__Link link = LINDUNG__V1__LINK__INIT;
  if (request->kind == PARTNER_SDK_KIND_SCAN) {
    if (!request->token || !request->venue_id)
      return partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len, "a scan needs a token and a venue");
    /* protobuf-c only reads these strings while packing. */
    scan.token = (char *)request->token;
    scan.venue_id = (char *)request->venue_id;
    scan.scanned_at_ms = request->scanned_at_ms;
    scan.action = (Lindung__V1__Action)request->action;
    body.kind_case = LINDUNG__V1__REQUEST_BODY__KIND_SCAN;
    body.scan = &scan;
  } else if (request->kind == PARTNER_SDK_KIND_LINK) {
    if (!request->nik)
      return partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len, "a link needs a NIK");
    link.nik = (char *)request->nik;
    body.kind_case = LINDUNG__V1__REQUEST_BODY__KIND_LINK;
    body.link = &link;
  } else {
    return partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len, "unknown request kind");
  }
  size_t len = lindung__v1__request_body__get_packed_size(&body);
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) return partner_sdk_fail(PARTNER_SDK_ECRYPTO, err, err_len, "out of memory");
  lindung__v1__request_body__pack(&body, buf);
  *body_out = buf;
  *body_len = len;
  return 0;
}

int partner_sdk_build_request_fixed(const partner_sdk *sdk, const partner_sdk_request *request,
                                    const uint8_t request_id[PARTNER_SDK_REQUEST_ID_BYTES],
                                    uint64_t sent_at_ms,
                                    const uint8_t nonce[PARTNER_SDK_NONCE_BYTES], uint8_t *out,
                                    size_t out_cap, size_t *out_len, char *err, size_t err_len) {
  if (!sdk || !request || !request_id || !out || !out_len)
    return partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len, "missing argument");
  envelope_header header = {
      .partner_id = sdk->partner_id,
      .partner_key_id = sdk->partner_key_id,
      .system_key_id = sdk->system_key_id,
      .request_id = request_id,
      .at_ms = sent_at_ms,
  };
  uint8_t ad[ENVELOPE_MAX_AD_BYTES];
  size_t ad_len = envelope_associated_data(ENVELOPE_REQUEST, &header, ad);
  if (ad_len == 0)
    return partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len, "invalid request header");

  uint8_t *body = NULL;
  size_t body_len = 0;
  int rc = partner_sdk_pack_body(request, &body, &body_len, err, err_len);
  if (rc != 0) return rc;
  uint8_t *sealed = malloc(body_len + ENVELOPE_TAG_BYTES);
  uint8_t nonce_used[PARTNER_SDK_NONCE_BYTES];
  if (!sealed) {
    rc = partner_sdk_fail(PARTNER_SDK_ECRYPTO, err, err_len, "out of memory");
  } else if (nonce) {
    memcpy(nonce_used, nonce, sizeof(nonce_used));
    if (envelope_seal_with_nonce(sdk->session.tx, ad, ad_len, body, body_len, nonce_used, sealed) !=
        0)
      rc = partner_sdk_fail(PARTNER_SDK_ECRYPTO, err, err_len, "sealing failed");
  } else if (envelope_seal(sdk->session.tx, ad, ad_len, body, body_len, nonce_used, sealed) != 0) {
    rc = partner_sdk_fail(PARTNER_SDK_ECRYPTO, err, err_len, "sealing failed");
  }
  /* The clear body may hold a NIK. */
  sodium_memzero(body, body_len);
  free(body);

  if (rc == 0) {
    Lindung__V1__ScanRequest msg = LINDUNG__V1__SCAN_REQUEST__INIT;
    msg.version = PARTNER_SDK_VERSION;
    msg.partner_id = (char *)sdk->partner_id;
    msg.partner_key_id = sdk->partner_key_id;
    msg.system_key_id = sdk->system_key_id;
    msg.request_id.data = (uint8_t *)request_id;
    msg.request_id.len = PARTNER_SDK_REQUEST_ID_BYTES;
    msg.sent_at_ms = sent_at_ms;
    msg.nonce.data = nonce_used;
    msg.nonce.len = sizeof(nonce_used);
    msg.ciphertext.data = sealed;
    msg.ciphertext.len = body_len + ENVELOPE_TAG_BYTES;
    size_t len = lindung__v1__scan_request__get_packed_size(&msg);
    if (len > out_cap) {
      rc = partner_sdk_fail(PARTNER_SDK_ENOSPC, err, err_len,
                            "request needs %zu bytes, buffer holds %zu", len, out_cap);
    } else {
      lindung__v1__scan_request__pack(&msg, out);
      *out_len = len;
    }
  }
  free(sealed);
  return rc;
}

int partner_sdk_build_request(const partner_sdk *sdk, const partner_sdk_request *request,
                              uint8_t request_id_out[PARTNER_SDK_REQUEST_ID_BYTES], uint8_t *out,
                              size_t out_cap, size_t *out_len, char *err, size_t err_len) {
  if (!request_id_out)
    return partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len, "missing argument");
  if (sodium_init() < 0)
    return partner_sdk_fail(PARTNER_SDK_ECRYPTO, err, err_len, "libsodium failed to start");
  randombytes_buf(request_id_out, PARTNER_SDK_REQUEST_ID_BYTES);
  return partner_sdk_build_request_fixed(sdk, request, request_id_out, partner_sdk_now_ms(), NULL,
                                         out, out_cap, out_len, err, err_len);
}

/* Copies the opened ResponseBody into out; EBODY when it breaks the contract. */
static int partner_sdk_take_body(const Lindung__V1__ResponseBody *body, partner_sdk_response *out,
                                 char *err, size_t err_len) {
  if (body->kind_case == LINDUNG__V1__RESPONSE_BODY__KIND_VERDICT && body->verdict) {
    const Lindung__V1__Verdict *v = body->verdict;
    size_t name_len = v->venue_name ? strlen(v->venue_name) : 0;
    if (name_len > PARTNER_SDK_MAX_VENUE_NAME)
      return partner_sdk_fail(PARTNER_SDK_EBODY, err, err_len, "venue name too long");
    out->kind = PARTNER_SDK_KIND_SCAN;
    out->verdict.status = (int)v->status;
    out->verdict.decision = (int)v->decision;
    out->verdict.reason = (int)v->reason;
    if (name_len) memcpy(out->verdict.venue_name, v->venue_name, name_len);
    out->verdict.venue_name[name_len] = '\0';
    out->verdict.checked_at_ms = v->checked_at_ms;
    return 0;
  }
  if (body->kind_case == LINDUNG__V1__RESPONSE_BODY__KIND_LINKED && body->linked) {
    size_t token_len = body->linked->token ? strlen(body->linked->token) : 0;
    if (token_len == 0 || token_len > PARTNER_SDK_MAX_TOKEN)
      return partner_sdk_fail(PARTNER_SDK_EBODY, err, err_len,
                              "linked token must be 1 to 64 characters");
    out->kind = PARTNER_SDK_KIND_LINK;
    memcpy(out->token, body->linked->token, token_len);
    out->token[token_len] = '\0';
    return 0;
  }
  return partner_sdk_fail(PARTNER_SDK_EBODY, err, err_len, "response body holds no answer");
}

/* Opens the ciphertext of a NONE response. */
static int partner_sdk_open_body(const partner_sdk *sdk, const Lindung__V1__ScanResponse *msg,
                                 partner_sdk_response *out, char *err, size_t err_len) {
  if (msg->nonce.len != PARTNER_SDK_NONCE_BYTES)
    return partner_sdk_fail(PARTNER_SDK_EDECODE, err, err_len, "nonce is not 24 bytes");
  if (msg->ciphertext.len < ENVELOPE_TAG_BYTES)
    return partner_sdk_fail(PARTNER_SDK_EDECODE, err, err_len, "ciphertext too short");
  envelope_header header = {
      .partner_id = sdk->partner_id,
      .partner_key_id = sdk->partner_key_id,
      .system_key_id = sdk->system_key_id,
      .request_id = msg->request_id.data,
      .at_ms = msg->created_at_ms,
  };
  uint8_t ad[ENVELOPE_MAX_AD_BYTES];
  size_t ad_len = envelope_associated_data(ENVELOPE_RESPONSE, &header, ad);
  if (ad_len == 0)
    return partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len, "invalid response header");
  size_t plain_len = msg->ciphertext.len - ENVELOPE_TAG_BYTES;
  uint8_t *plain = malloc(plain_len ? plain_len : 1);
  if (!plain) return partner_sdk_fail(PARTNER_SDK_ECRYPTO, err, err_len, "out of memory");
  int rc = 0;
  if (envelope_open(sdk->session.rx, ad, ad_len, msg->nonce.data, msg->ciphertext.data,
                    msg->ciphertext.len, plain) != 0) {
    rc = partner_sdk_fail(PARTNER_SDK_EAUTH, err, err_len,
                          "response does not open with this partner's keys");
  } else {
    Lindung__V1__ResponseBody *body = lindung__v1__response_body__unpack(NULL, plain_len, plain);
    if (!body) {
      rc = partner_sdk_fail(PARTNER_SDK_EBODY, err, err_len, "response body is not protobuf");
    } else {
      rc = partner_sdk_take_body(body, out, err, err_len);
      lindung__v1__response_body__free_unpacked(body, NULL);
    }
  }
  sodium_memzero(plain, plain_len);
  free(plain);
  return rc;
}

int partner_sdk_open_response(const partner_sdk *sdk, const uint8_t *value, size_t value_len,
                              partner_sdk_response *out, char *err, size_t err_len) {
  if (!sdk || !out || (!value && value_len))
    return partner_sdk_fail(PARTNER_SDK_EINVAL, err, err_len, "missing argument");
  memset(out, 0, sizeof(*out));
  if (value_len == 0) return partner_sdk_fail(PARTNER_SDK_EDECODE, err, err_len, "empty response");
  if (value_len > PARTNER_SDK_MAX_RESPONSE_BYTES)
    return partner_sdk_fail(PARTNER_SDK_EDECODE, err, err_len, "response too large");
  Lindung__V1__ScanResponse *msg = lindung__v1__scan_response__unpack(NULL, value_len, value);
  if (!msg) return partner_sdk_fail(PARTNER_SDK_EDECODE, err, err_len, "not a ScanResponse");

  int rc = 0;
  if (msg->version != PARTNER_SDK_VERSION) {
    rc =
        partner_sdk_fail(PARTNER_SDK_EDECODE, err, err_len, "unsupported version %u", msg->version);
  } else if (msg->request_id.len != PARTNER_SDK_REQUEST_ID_BYTES) {
    rc = partner_sdk_fail(PARTNER_SDK_EDECODE, err, err_len, "request id is not 16 bytes");
  } else {
    memcpy(out->request_id, msg->request_id.data, PARTNER_SDK_REQUEST_ID_BYTES);
    out->created_at_ms = msg->created_at_ms;
    out->error = (int)msg->error;
    if (!msg->partner_id || strcmp(msg->partner_id, sdk->partner_id) != 0)
      rc = partner_sdk_fail(PARTNER_SDK_ENOTOURS, err, err_len, "response names another partner");
    /* An error answer echoes the key ids the request named, which may be
     * the reason for the error (UNKNOWN_KEY), so only a sealed answer must
     * name this partner's own keys. */
    else if (msg->error != LINDUNG__V1__ERROR_CODE__NONE)
      rc = (int)msg->error > 0
               ? (int)msg->error
               : partner_sdk_fail(PARTNER_SDK_EDECODE, err, err_len, "negative error code");
    else if (msg->partner_key_id != sdk->partner_key_id || msg->system_key_id != sdk->system_key_id)
      rc = partner_sdk_fail(PARTNER_SDK_ENOTOURS, err, err_len,
                            "response names key ids %u/%u, this partner uses %u/%u",
                            msg->partner_key_id, msg->system_key_id, sdk->partner_key_id,
                            sdk->system_key_id);
    else
      rc = partner_sdk_open_body(sdk, msg, out, err, err_len);
  }
  lindung__v1__scan_response__free_unpacked(msg, NULL);
  if (rc < 0) {
    out->error = 0;
    out->kind = PARTNER_SDK_KIND_NONE;
    memset(&out->verdict, 0, sizeof(out->verdict));
    sodium_memzero(out->token, sizeof(out->token));
  }
  return rc;
}

static const char *partner_sdk_enum_name(const ProtobufCEnumDescriptor *descriptor, int value) {
  const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(descriptor, value);
  return v ? v->name : "UNKNOWN";
}

const char *partner_sdk_status_name(int status) {
  return partner_sdk_enum_name(&lindung__v1__status__descriptor, status);
}

const char *partner_sdk_decision_name(int decision) {
  return partner_sdk_enum_name(&lindung__v1__decision__descriptor, decision);
}

const char *partner_sdk_reason_name(int reason) {
  return partner_sdk_enum_name(&lindung__v1__reason__descriptor, reason);
}

const char *partner_sdk_error_name(int error) {
  return partner_sdk_enum_name(&lindung__v1__error_code__descriptor, error);
}

const char *partner_sdk_action_name(int action) {
  return partner_sdk_enum_name(&lindung__v1__action__descriptor, action);
}

const char *partner_sdk_strerror(int code) {
  switch (code) {
    case 0:
      return "OK";
    case PARTNER_SDK_EINVAL:
      return "EINVAL";
    case PARTNER_SDK_ECRYPTO:
      return "ECRYPTO";
    case PARTNER_SDK_ENOSPC:
      return "ENOSPC";
    case PARTNER_SDK_EDECODE:
      return "EDECODE";
    case PARTNER_SDK_ENOTOURS:
      return "ENOTOURS";
    case PARTNER_SDK_EAUTH:
      return "EAUTH";
    case PARTNER_SDK_EBODY:
      return "EBODY";
    case PARTNER_SDK_EIO:
      return "EIO";
    default:
      return "UNKNOWN";
  }
}

int partner_sdk_keygen(uint8_t public_key[PARTNER_SDK_KEY_BYTES],
                       uint8_t secret_key[PARTNER_SDK_KEY_BYTES]) {
  if (!public_key || !secret_key || sodium_init() < 0) return PARTNER_SDK_EINVAL;
  return crypto_kx_keypair(public_key, secret_key) == 0 ? 0 : PARTNER_SDK_ECRYPTO;
}
