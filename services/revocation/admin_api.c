/* admin_api: routing, validation and message building of the admin API
 * (see admin_api.h). Strict by design: unknown members, wrong types and
 * out-of-range values are refused before anything reaches the database. */
#include "admin_api.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "admin_json.h"
#include "lindung/v1/internal.pb-c.h"
#include "messages.h"
#include "registry_rules.h"

static int admin_fail(admin_error *error, int status, const char *code, const char *message) {
  error->status = status;
  error->code = code;
  snprintf(error->message, sizeof error->message, "%s", message);
  return -1;
}

bool admin_address_loopback(const char *host) {
  unsigned char addr[16];
  if (inet_pton(AF_INET, host, addr) == 1) return addr[0] == 127;
  if (inet_pton(AF_INET6, host, addr) == 1) {
    static const unsigned char v6_loopback[16] = {[15] = 1};
    return memcmp(addr, v6_loopback, 16) == 0;
  }
  return false;
}

/* The members each route takes; anything else is refused. */
static int admin_only(const admin_json_object *body, const char *const *allowed,
                      admin_error *error) {
  for (size_t i = 0; i < body->count; i++) {
    bool known = false;
    for (const char *const *a = allowed; *a; a++)
      if (strcmp(body->fields[i].key, *a) == 0) known = true;
    if (!known) {
      char message[120];
      snprintf(message, sizeof message, "member \"%.32s\" is not accepted here",
               body->fields[i].key);
      for (char *p = message; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\') *p = '?';
      return admin_fail(error, 400, "unknown_field", message);
    }
  }
  return 0;
}

static const char *admin_string(const admin_json_object *body, const char *key, bool required,
                                admin_error *error, int *rc) {
  const admin_json_field *f = admin_json_get(body, key);
  if (!f) {
    if (required) {
      char message[80];
      snprintf(message, sizeof message, "missing member \"%s\"", key);
      *rc = admin_fail(error, 400, "missing_field", message);
    }
    return NULL;
  }
  if (f->type != ADMIN_JSON_STRING) {
    char message[80];
    snprintf(message, sizeof message, "member \"%s\" must be a string", key);
    *rc = admin_fail(error, 400, "invalid_field", message);
    return NULL;
  }
  return f->string;
}

static int admin_uint(const admin_json_object *body, const char *key, bool required, int64_t min,
                      int64_t max, uint32_t *out, admin_error *error) {
  const admin_json_field *f = admin_json_get(body, key);
  char message[120];
  if (!f) {
    if (!required) return 0;
    snprintf(message, sizeof message, "missing member \"%s\"", key);
    return admin_fail(error, 400, "missing_field", message);
  }
  if (f->type != ADMIN_JSON_INTEGER || f->integer < min || f->integer > max) {
    snprintf(message, sizeof message, "member \"%s\" must be an integer from %lld to %lld", key,
             (long long)min, (long long)max);
    return admin_fail(error, 400, "invalid_field", message);
  }
  *out = (uint32_t)f->integer;
  return 0;
}

static int admin_reason(const admin_json_object *body, bool required, admin_op *op,
                        admin_error *error) {
  int rc = 0;
  const char *reason = admin_string(body, "reason", required, error, &rc);
  if (rc) return rc;
  if (!reason) return 0;
  size_t n = strlen(reason);
  if (n > ADMIN_MAX_REASON) {
    char message[80];
    snprintf(message, sizeof message, "reason is longer than %d bytes", ADMIN_MAX_REASON);
    return admin_fail(error, 400, "reason_too_long", message);
  }
  if (n == 0) return admin_fail(error, 400, "invalid_field", "reason is empty");
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
      return admin_fail(error, 400, "invalid_field", "reason holds control characters");
  memcpy(op->reason, reason, n + 1);
  return 0;
}

static int admin_key_fields(const admin_json_object *body, admin_op *op, admin_error *error) {
  if (admin_uint(body, "key_id", true, 1, 4294967295LL, &op->key_id, error)) return -1;
  int rc = 0;
  const char *pk = admin_string(body, "public_key", true, error, &rc);
  if (rc) return rc;
  if (reg_key_hex_parse(pk, op->public_key) != 0)
    return admin_fail(error, 400, "invalid_field", "public_key must be 64 hex characters");
  return 0;
}

const admin_route_entry admin_routes[] = {
    {"POST", "/v1/partners", ADMIN_OP_PARTNER_ADD},
    {"POST", "/v1/partners/{partner_id}/keys", ADMIN_OP_KEY_ADD},
    {"POST", "/v1/partners/{partner_id}/keys/{key_id}/revoke", ADMIN_OP_KEY_REVOKE},
    {"POST", "/v1/partners/{partner_id}/revoke", ADMIN_OP_PARTNER_REVOKE},
    {"POST", "/v1/partners/{partner_id}/reinstate", ADMIN_OP_PARTNER_REINSTATE},
    {"PUT", "/v1/partners/{partner_id}/quota", ADMIN_OP_PARTNER_QUOTA},
    {"POST", "/v1/system-keys/rotate", ADMIN_OP_SYSTEM_KEY_ROTATE},
};
const size_t admin_route_count = sizeof admin_routes / sizeof admin_routes[0];

/* Matches path against a template segment by segment: a "{name}" segment
 * takes any non-empty segment, copied to params in order. */
static bool admin_match(const char *template, const char *path, char params[2][40]) {
  size_t n = 0;
  while (*template && *path) {
    if (*template++ != '/' || *path++ != '/') return false;
    size_t tlen = strcspn(template, "/"), plen = strcspn(path, "/");
    if (template[0] == '{') {
      if (plen == 0 || plen >= 40 || n == 2) return false;
      memcpy(params[n], path, plen);
      params[n++][plen] = '\0';
    } else if (tlen != plen || strncmp(template, path, tlen) != 0) {
      return false;
    }
    template += tlen;
    path += plen;
  }
  return !*template && !*path;
}

static int admin_route(const char *method, const char *path, admin_op *op, admin_error *error) {
  const admin_route_entry *route = NULL;
  char params[2][40];
  for (size_t i = 0; i < admin_route_count && !route; i++)
    if (admin_match(admin_routes[i].path, path, params)) route = &admin_routes[i];
  if (!route) return admin_fail(error, 404, "not_found", "no such route");
  op->kind = route->kind;
  if (strstr(route->path, "{partner_id}")) {
    if (!reg_partner_id_valid(params[0]))
      return admin_fail(error, 404, "unknown_partner",
                        "no such partner (ids are 2 to 32 characters of a-z, 0-9, -)");
    memcpy(op->partner_id, params[0], strlen(params[0]) + 1); /* valid: at most 32 */
  }
  if (strstr(route->path, "{key_id}") && reg_key_id_parse(params[1], &op->key_id) != 0)
    return admin_fail(error, 404, "unknown_key", "no such key (ids are 1 to 4294967295)");
  if (strcmp(method, route->method) != 0)
    return admin_fail(error, 405, "method_not_allowed",
                      strcmp(route->method, "PUT") == 0 ? "use PUT" : "use POST");
  return 0;
}

int admin_parse(const char *method, const char *path, const char *body, size_t body_len,
                admin_op *op, admin_error *error) {
  memset(op, 0, sizeof *op);
  if (admin_route(method, path, op, error)) return -1;
  admin_json_object obj;
  char jerr[120];
  /* An empty body means {} (reinstate and key revoke need nothing). */
  bool empty = true;
  for (size_t i = 0; i < body_len; i++)
    if (body[i] != ' ' && body[i] != '\n' && body[i] != '\r' && body[i] != '\t') empty = false;
  if (empty) {
    memset(&obj, 0, sizeof obj);
  } else if (admin_json_parse(body, body_len, &obj, jerr, sizeof jerr)) {
    char message[200];
    snprintf(message, sizeof message, "body is not an accepted JSON object: %s", jerr);
    return admin_fail(error, 400, "malformed_json", message);
  }
  int rc = 0;
  switch (op->kind) {
    case ADMIN_OP_PARTNER_ADD: {
      static const char *const allowed[] = {"partner_id", "name", "key_id", "public_key", NULL};
      if ((rc = admin_only(&obj, allowed, error))) break;
      const char *id = admin_string(&obj, "partner_id", true, error, &rc);
      if (rc) break;
      if (!reg_partner_id_valid(id)) {
        rc = admin_fail(error, 400, "invalid_field",
                        "partner_id must be 2 to 32 characters of a-z, 0-9, -");
        break;
      }
      snprintf(op->partner_id, sizeof op->partner_id, "%s", id);
      const char *name = admin_string(&obj, "name", true, error, &rc);
      if (rc) break;
      if (!reg_name_valid(name)) {
        rc = admin_fail(error, 400, "invalid_field",
                        "name must be 1 to 200 bytes without control characters");
        break;
      }
      snprintf(op->name, sizeof op->name, "%s", name);
      rc = admin_key_fields(&obj, op, error);
      break;
    }
    case ADMIN_OP_KEY_ADD: {
      static const char *const allowed[] = {"key_id", "public_key", NULL};
      if ((rc = admin_only(&obj, allowed, error))) break;
      rc = admin_key_fields(&obj, op, error);
      break;
    }
    case ADMIN_OP_KEY_REVOKE: {
      static const char *const allowed[] = {"reason", NULL};
      if ((rc = admin_only(&obj, allowed, error))) break;
      rc = admin_reason(&obj, false, op, error);
      break;
    }
    case ADMIN_OP_PARTNER_REVOKE: {
      static const char *const allowed[] = {"reason", NULL};
      if ((rc = admin_only(&obj, allowed, error))) break;
      rc = admin_reason(&obj, true, op, error);
      break;
    }
    case ADMIN_OP_PARTNER_REINSTATE: {
      static const char *const allowed[] = {"reason", NULL};
      if ((rc = admin_only(&obj, allowed, error))) break;
      rc = admin_reason(&obj, false, op, error);
      break;
    }
    case ADMIN_OP_PARTNER_QUOTA: {
      static const char *const allowed[] = {"rate", "burst", NULL};
      if ((rc = admin_only(&obj, allowed, error))) break;
      if ((rc = admin_uint(&obj, "rate", true, 0, ADMIN_MAX_RATE, &op->rate, error))) break;
      rc = admin_uint(&obj, "burst", false, 0, ADMIN_MAX_RATE, &op->burst, error);
      break;
    }
    case ADMIN_OP_SYSTEM_KEY_ROTATE: {
      static const char *const allowed[] = {"grace_s", NULL};
      if ((rc = admin_only(&obj, allowed, error))) break;
      rc = admin_uint(&obj, "grace_s", true, 0, ADMIN_MAX_GRACE_S, &op->grace_s, error);
      break;
    }
    default:
      rc = admin_fail(error, 404, "not_found", "no such route");
  }
  admin_json_free(&obj);
  return rc;
}

const char *admin_op_name(admin_op_kind kind) {
  switch (kind) {
    case ADMIN_OP_PARTNER_ADD:
      return "partner_add";
    case ADMIN_OP_KEY_ADD:
      return "key_add";
    case ADMIN_OP_KEY_REVOKE:
      return "key_revoke";
    case ADMIN_OP_PARTNER_REVOKE:
      return "partner_revoke";
    case ADMIN_OP_PARTNER_REINSTATE:
      return "partner_reinstate";
    case ADMIN_OP_PARTNER_QUOTA:
      return "partner_quota";
    case ADMIN_OP_SYSTEM_KEY_ROTATE:
      return "system_key_rotate";
    default:
      return "unknown";
  }
}

int admin_db_result(const char *result, admin_error *error) {
  if (!result) return admin_fail(error, 500, "internal", "no result from the database");
  if (!strcmp(result, "ok")) return 0;
  if (!strcmp(result, "unknown_partner"))
    return admin_fail(error, 404, "unknown_partner", "no such partner");
  if (!strcmp(result, "unknown_key"))
    return admin_fail(error, 404, "unknown_key", "the partner has no key with this id");
  if (!strcmp(result, "partner_exists"))
    return admin_fail(error, 409, "partner_exists", "a partner with this id exists");
  if (!strcmp(result, "key_in_use"))
    return admin_fail(error, 409, "key_in_use", "the partner already has a key with this id");
  if (!strcmp(result, "too_many_keys"))
    return admin_fail(error, 409, "too_many_keys",
                      "the partner has 8 keys, the most it may have; none was added");
  if (!strcmp(result, "last_system_key"))
    return admin_fail(error, 409, "last_system_key",
                      "there is no newer active system key to rotate to (create one with "
                      "lindungctl system-key create first): rotating would leave no usable key");
  return admin_fail(error, 500, "internal", "unexpected database result");
}

void admin_detail(const admin_op *op, const char *extra, char *out, size_t out_len) {
  char base[128];
  switch (op->kind) {
    case ADMIN_OP_PARTNER_ADD:
    case ADMIN_OP_KEY_ADD:
    case ADMIN_OP_KEY_REVOKE:
      snprintf(base, sizeof base, "%s key_id=%u", admin_op_name(op->kind), op->key_id);
      break;
    case ADMIN_OP_PARTNER_QUOTA:
      snprintf(base, sizeof base, "%s rate=%u burst=%u", admin_op_name(op->kind), op->rate,
               op->burst);
      break;
    case ADMIN_OP_SYSTEM_KEY_ROTATE:
      snprintf(base, sizeof base, "%s grace_s=%u", admin_op_name(op->kind), op->grace_s);
      break;
    default:
      snprintf(base, sizeof base, "%s", admin_op_name(op->kind));
  }
  /* The reason goes last and whole: it is capped so that everything fits. */
  snprintf(out, out_len, "%s%s%s%s%s", base, extra ? " " : "", extra ? extra : "",
           op->reason[0] ? " reason=" : "", op->reason);
}

size_t admin_partner_event(const admin_op *op, const admin_rotation *rotation,
                           uint64_t registry_version, uint64_t at_ms, uint8_t *out,
                           size_t out_len) {
  Lindung__V1__PartnerEvent event = LINDUNG__V1__PARTNER_EVENT__INIT;
  event.version = 1;
  event.partner_id = (char *)op->partner_id;
  event.at_ms = at_ms;
  event.registry_version = registry_version;
  uint8_t pk[32];
  switch (op->kind) {
    case ADMIN_OP_PARTNER_ADD:
      event.kind = LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_ADDED;
      break;
    case ADMIN_OP_KEY_ADD:
      event.kind = LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_KEY_ADDED;
      break;
    case ADMIN_OP_KEY_REVOKE:
      event.kind = LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_KEY_REVOKED;
      break;
    case ADMIN_OP_PARTNER_REVOKE:
      event.kind = LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_REVOKED;
      break;
    case ADMIN_OP_PARTNER_REINSTATE:
      event.kind = LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_REINSTATED;
      break;
    case ADMIN_OP_PARTNER_QUOTA:
      event.kind = LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_QUOTA_SET;
      event.rate_per_s = op->rate;
      event.burst = op->burst;
      break;
    case ADMIN_OP_SYSTEM_KEY_ROTATE:
      if (!rotation) return 0;
      event.kind = LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_SYSTEM_KEY_ROTATED;
      event.system_key_id = rotation->key_id;
      memcpy(pk, rotation->public_key, 32);
      event.public_key.data = pk;
      event.public_key.len = 32;
      event.grace_until_ms = rotation->retire_after_ms;
      break;
    default:
      return 0;
  }
  if (op->kind == ADMIN_OP_PARTNER_ADD || op->kind == ADMIN_OP_KEY_ADD ||
      op->kind == ADMIN_OP_KEY_REVOKE) {
    event.key_id = op->key_id;
  }
  if (op->kind == ADMIN_OP_PARTNER_ADD || op->kind == ADMIN_OP_KEY_ADD) {
    memcpy(pk, op->public_key, 32);
    event.public_key.data = pk;
    event.public_key.len = 32;
  }
  size_t size = lindung__v1__partner_event__get_packed_size(&event);
  if (size > out_len) return 0;
  return lindung__v1__partner_event__pack(&event, out);
}

const char *admin_event_key(const admin_op *op) {
  return op->kind == ADMIN_OP_SYSTEM_KEY_ROTATE ? "system-keys" : op->partner_id;
}

size_t admin_audit_event(const uint8_t request_id[16], const char *partner_id, bool applied,
                         const char *actor, const char *detail, uint64_t received_at_ms,
                         uint64_t handled_at_ms, uint8_t *out, size_t out_len) {
  Lindung__V1__AuditEvent event = LINDUNG__V1__AUDIT_EVENT__INIT;
  event.stage = LINDUNG__V1__AUDIT_STAGE__AUDIT_STAGE_ADMIN;
  event.request_id.data = (uint8_t *)request_id;
  event.request_id.len = 16;
  event.partner_id = (char *)(partner_id ? partner_id : "");
  event.outcome = applied ? LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_APPLIED
                          : LINDUNG__V1__AUDIT_OUTCOME__AUDIT_OUTCOME_REFUSED;
  event.received_at_ms = received_at_ms;
  event.handled_at_ms = handled_at_ms;
  event.service = (char *)"revocation";
  event.detail = (char *)detail;
  event.actor = (char *)actor;
  return messages_audit_event(&event, out, out_len);
}
