/* lindungctl commands that change the partner registry through the
 * revocation service's admin API (LINDUNG_ADMIN_URL, bearer token from
 * LINDUNG_ADMIN_TOKEN_FILE): partner add/revoke/reinstate/quota, key
 * add/revoke, system-key rotate. Every such change is thereby written,
 * published to every service and audited in one place. A small blocking
 * HTTP/1.1 client over a socket; the service answers once the change is
 * committed and published. On success the service's JSON answer is
 * printed on stdout. */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "admin_json.h"
#include "config.h"
#include "ctl.h"
#include "hex.h"

#define CTL_ADMIN_TIMEOUT_S 30
#define CTL_ADMIN_MAX_RESPONSE 65536

/* "http://host:port" with an optional trailing "/"; IPv4/IPv6 literal or name. */
static int ctl_admin_url(const char *url, char *host, size_t host_len, char *port,
                         size_t port_len) {
  static const char scheme[] = "http://";
  if (strncmp(url, scheme, sizeof scheme - 1) != 0) return -1;
  const char *h = url + sizeof scheme - 1;
  const char *end = h + strlen(h);
  if (end > h && end[-1] == '/') end--;
  const char *colon;
  if (*h == '[') {
    const char *close = memchr(h, ']', (size_t)(end - h));
    if (!close || close[1] != ':') return -1;
    if ((size_t)(close - h - 1) >= host_len) return -1;
    memcpy(host, h + 1, (size_t)(close - h - 1));
    host[close - h - 1] = '\0';
    colon = close + 1;
  } else {
    colon = NULL;
    for (const char *p = h; p < end; p++)
      if (*p == ':') colon = p;
    if (!colon || colon == h || (size_t)(colon - h) >= host_len) return -1;
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
  }
  size_t plen = (size_t)(end - colon - 1);
  if (plen == 0 || plen >= port_len) return -1;
  for (size_t i = 0; i < plen; i++)
    if (colon[1 + i] < '0' || colon[1 + i] > '9') return -1;
  memcpy(port, colon + 1, plen);
  port[plen] = '\0';
  return 0;
}

static int ctl_admin_token(char *out, size_t out_len) {
  const char *path = ctl_env("LINDUNG_ADMIN_TOKEN_FILE");
  if (!path) return ctl_fail(CTL_USAGE, "LINDUNG_ADMIN_TOKEN_FILE is not set");
  char err[256];
  long n = cfg_read_secret(path, (uint8_t *)out, out_len - 1, true, err, sizeof err);
  if (n < 0) return ctl_fail(CTL_RUNTIME, "%s", err);
  out[n] = '\0';
  return CTL_OK;
}

/* The operator's name for the audit trail: LINDUNG_ADMIN_ACTOR, else the
 * login name; sent only when it is a valid identifier. */
static const char *ctl_admin_actor(void) {
  const char *actor = ctl_env("LINDUNG_ADMIN_ACTOR");
  if (!actor) actor = ctl_env("USER");
  if (!actor || strlen(actor) > 64) return NULL;
  for (const char *p = actor; *p; p++) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '@' || c == '-'))
      return NULL;
  }
  return actor;
}

static int ctl_admin_send_all(int fd, const char *data, size_t len) {
  while (len) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Sends one request and reads the whole answer (the server closes the
 * connection after it). Returns the HTTP status, or -1 after printing. */
static int ctl_admin_call(const char *what, const char *method, const char *path, const char *body,
                          char *response, size_t response_len) {
  const char *url = ctl_env("LINDUNG_ADMIN_URL");
  if (!url) return ctl_fail(CTL_USAGE, "LINDUNG_ADMIN_URL is not set"), -2;
  char host[256], port[8];
  if (ctl_admin_url(url, host, sizeof host, port, sizeof port))
    return ctl_fail(CTL_USAGE, "LINDUNG_ADMIN_URL must look like http://host:port"), -2;
  char token[256];
  int rc = ctl_admin_token(token, sizeof token);
  if (rc) return rc == CTL_USAGE ? -2 : -1;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  int gai = getaddrinfo(host, port, &hints, &res);
  if (gai) {
    sodium_memzero(token, sizeof token);
    ctl_fail(CTL_RUNTIME, "%s: cannot resolve the admin API host: %s", what, gai_strerror(gai));
    return -1;
  }
  int fd = -1;
  for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    struct timeval tv = {CTL_ADMIN_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) {
    sodium_memzero(token, sizeof token);
    ctl_fail(CTL_RUNTIME, "%s: cannot connect to the admin API at %s:%s: %s", what, host, port,
             strerror(errno));
    return -1;
  }
  const char *actor = ctl_admin_actor();
  size_t body_len = body ? strlen(body) : 0;
  char head[1024];
  int head_len =
      snprintf(head, sizeof head,
               "%s %s HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %zu\r\n"
               "%s%s%sConnection: close\r\n\r\n",
               method, path, host, port, token, body_len, actor ? "X-Lindung-Actor: " : "",
               actor ? actor : "", actor ? "\r\n" : "");
  sodium_memzero(token, sizeof token);
  bool sent = head_len > 0 && (size_t)head_len < sizeof head &&
              ctl_admin_send_all(fd, head, (size_t)head_len) == 0 &&
              (!body_len || ctl_admin_send_all(fd, body, body_len) == 0);
  sodium_memzero(head, sizeof head);
  if (!sent) {
    close(fd);
    ctl_fail(CTL_RUNTIME, "%s: cannot send to the admin API: %s", what, strerror(errno));
    return -1;
  }
  char *buf = malloc(CTL_ADMIN_MAX_RESPONSE + 1);
  size_t got = 0;
  while (buf && got < CTL_ADMIN_MAX_RESPONSE) {
    ssize_t n = recv(fd, buf + got, CTL_ADMIN_MAX_RESPONSE - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      free(buf);
      close(fd);
      ctl_fail(CTL_RUNTIME, "%s: no answer from the admin API: %s", what, strerror(errno));
      return -1;
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (!buf) return ctl_fail(CTL_RUNTIME, "out of memory"), -1;
  buf[got] = '\0';
  int status = 0;
  char *sep = strstr(buf, "\r\n\r\n");
  if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || !sep || status < 100 || status > 599) {
    free(buf);
    ctl_fail(CTL_RUNTIME, "%s: the admin API answered something that is not HTTP", what);
    return -1;
  }
  snprintf(response, response_len, "%s", sep + 4);
  free(buf);
  return status;
}

/* Runs a call and turns its answer into an exit status. */
static int ctl_admin_run(const char *what, const char *method, const char *path, const char *body,
                         const char *success_line) {
  char response[8192];
  int status = ctl_admin_call(what, method, path, body, response, sizeof response);
  if (status == -2) return CTL_USAGE;
  if (status < 0) return CTL_RUNTIME;
  if (status == 200) {
    printf("%s\n", success_line ? success_line : response);
    return CTL_OK;
  }
  admin_json_object obj;
  char err[64];
  const char *code = "error", *message = "";
  bool parsed = admin_json_parse(response, strlen(response), &obj, err, sizeof err) == 0;
  if (parsed) {
    const admin_json_field *c = admin_json_get(&obj, "error");
    const admin_json_field *m = admin_json_get(&obj, "message");
    if (c && c->type == ADMIN_JSON_STRING) code = c->string;
    if (m && m->type == ADMIN_JSON_STRING) message = m->string;
  }
  ctl_fail(CTL_RUNTIME, "%s: refused (HTTP %d %s)%s%s", what, status, code, *message ? ": " : "",
           message);
  if (parsed) admin_json_free(&obj);
  return CTL_RUNTIME;
}

static int ctl_admin_partner_arg(const char *what, size_t npos, const char **positional,
                                 const char **partner_id) {
  if (npos != 1) return ctl_fail(CTL_USAGE, "%s: missing <partner_id>", what);
  if (!reg_partner_id_valid(positional[0]))
    return ctl_fail(CTL_USAGE, "%s: invalid partner id (2 to 32 characters of a-z, 0-9, -)", what);
  *partner_id = positional[0];
  return CTL_OK;
}

/* A JSON string body (quotes included) of text; -1 when it does not fit. */
static int ctl_admin_quote(const char *text, char *out, size_t out_len) {
  if (out_len < 3) return -1;
  out[0] = '"';
  int n = admin_json_escape(text, out + 1, out_len - 2);
  if (n < 0) return -1;
  out[n + 1] = '"';
  out[n + 2] = '\0';
  return 0;
}

static int ctl_admin_reason(const char *what, const char *reason, bool required, char *out,
                            size_t out_len) {
  if (!reason) {
    if (required) return ctl_fail(CTL_USAGE, "%s: missing --reason", what);
    out[0] = '\0';
    return CTL_OK;
  }
  if (!*reason) return ctl_fail(CTL_USAGE, "%s: --reason is empty", what);
  if (ctl_admin_quote(reason, out, out_len))
    return ctl_fail(CTL_USAGE, "%s: --reason is too long", what);
  return CTL_OK;
}

int ctl_cmd_partner_revoke(int argc, char **argv) {
  const char *reason = NULL;
  const ctl_option options[] = {{"reason", &reason, NULL}};
  const char *positional[1], *partner_id = NULL;
  size_t npos = 0;
  int rc = ctl_parse(argc, argv, options, 1, positional, 1, &npos);
  if (rc || (rc = ctl_admin_partner_arg("partner revoke", npos, positional, &partner_id)))
    return rc;
  char quoted[4096], body[4200], path[128];
  if ((rc = ctl_admin_reason("partner revoke", reason, true, quoted, sizeof quoted))) return rc;
  snprintf(body, sizeof body, "{\"reason\":%s}", quoted);
  snprintf(path, sizeof path, "/v1/partners/%s/revoke", partner_id);
  rc = ctl_admin_run("partner revoke", "POST", path, body, NULL);
  /* The broker then refuses the partner's requests before Lindung sees them. */
  return rc == CTL_OK ? ctl_kafka_partner_cut(partner_id) : rc;
}

int ctl_cmd_partner_reinstate(int argc, char **argv) {
  const char *reason = NULL;
  const ctl_option options[] = {{"reason", &reason, NULL}};
  const char *positional[1], *partner_id = NULL;
  size_t npos = 0;
  int rc = ctl_parse(argc, argv, options, 1, positional, 1, &npos);
  if (rc || (rc = ctl_admin_partner_arg("partner reinstate", npos, positional, &partner_id)))
    return rc;
  char quoted[4096], body[4200], path[128];
  if ((rc = ctl_admin_reason("partner reinstate", reason, false, quoted, sizeof quoted))) return rc;
  if (quoted[0])
    snprintf(body, sizeof body, "{\"reason\":%s}", quoted);
  else
    snprintf(body, sizeof body, "{}");
  snprintf(path, sizeof path, "/v1/partners/%s/reinstate", partner_id);
  rc = ctl_admin_run("partner reinstate", "POST", path, body, NULL);
  return rc == CTL_OK ? ctl_kafka_partner_setup(partner_id, ctl_partner_dir(partner_id)) : rc;
}

int ctl_cmd_partner_quota(int argc, char **argv) {
  const char *rate_text = NULL, *burst_text = NULL;
  const ctl_option options[] = {{"rate", &rate_text, NULL}, {"burst", &burst_text, NULL}};
  const char *positional[1], *partner_id = NULL;
  size_t npos = 0;
  int rc = ctl_parse(argc, argv, options, 2, positional, 1, &npos);
  if (rc || (rc = ctl_admin_partner_arg("partner quota", npos, positional, &partner_id))) return rc;
  uint32_t rate, burst = 0;
  if (!rate_text) return ctl_fail(CTL_USAGE, "partner quota: missing --rate (0 removes the quota)");
  if (reg_count_parse(rate_text, 1000000, &rate) != 0)
    return ctl_fail(CTL_USAGE, "partner quota: invalid --rate (0 to 1000000 requests per second)");
  if (burst_text && reg_count_parse(burst_text, 1000000, &burst) != 0)
    return ctl_fail(CTL_USAGE, "partner quota: invalid --burst (0 to 1000000 requests)");
  char body[128], path[128];
  snprintf(body, sizeof body, "{\"rate\":%" PRIu32 ",\"burst\":%" PRIu32 "}", rate, burst);
  snprintf(path, sizeof path, "/v1/partners/%s/quota", partner_id);
  return ctl_admin_run("partner quota", "PUT", path, body, NULL);
}

static int ctl_admin_key_options(const char *what, const char *key_id_text, const char *public_key,
                                 uint32_t *key_id, char pk_hex[65]) {
  if (!key_id_text) return ctl_fail(CTL_USAGE, "%s: missing --key-id", what);
  if (reg_key_id_parse(key_id_text, key_id) != 0)
    return ctl_fail(CTL_USAGE, "%s: invalid key id (1 to 4294967295)", what);
  if (!pk_hex) return CTL_OK;
  uint8_t pk[REG_KEY_BYTES];
  if (!public_key) return ctl_fail(CTL_USAGE, "%s: missing --public-key", what);
  if (reg_key_hex_parse(public_key, pk) != 0)
    return ctl_fail(CTL_USAGE, "%s: invalid public key (64 hex characters)", what);
  hex_encode(pk, sizeof pk, pk_hex);
  return CTL_OK;
}

int ctl_cmd_key_add(int argc, char **argv) {
  const char *key_id_text = NULL, *public_key = NULL;
  const ctl_option options[] = {{"key-id", &key_id_text, NULL}, {"public-key", &public_key, NULL}};
  const char *positional[1], *partner_id = NULL;
  size_t npos = 0;
  int rc = ctl_parse(argc, argv, options, 2, positional, 1, &npos);
  if (rc || (rc = ctl_admin_partner_arg("key add", npos, positional, &partner_id))) return rc;
  uint32_t key_id;
  char pk_hex[65];
  if ((rc = ctl_admin_key_options("key add", key_id_text, public_key, &key_id, pk_hex))) return rc;
  char body[256], path[128];
  snprintf(body, sizeof body, "{\"key_id\":%" PRIu32 ",\"public_key\":\"%s\"}", key_id, pk_hex);
  snprintf(path, sizeof path, "/v1/partners/%s/keys", partner_id);
  return ctl_admin_run("key add", "POST", path, body, NULL);
}

int ctl_cmd_key_revoke(int argc, char **argv) {
  const char *key_id_text = NULL, *reason = NULL;
  const ctl_option options[] = {{"key-id", &key_id_text, NULL}, {"reason", &reason, NULL}};
  const char *positional[1], *partner_id = NULL;
  size_t npos = 0;
  int rc = ctl_parse(argc, argv, options, 2, positional, 1, &npos);
  if (rc || (rc = ctl_admin_partner_arg("key revoke", npos, positional, &partner_id))) return rc;
  uint32_t key_id;
  if ((rc = ctl_admin_key_options("key revoke", key_id_text, NULL, &key_id, NULL))) return rc;
  char quoted[4096], body[4200], path[160];
  if ((rc = ctl_admin_reason("key revoke", reason, false, quoted, sizeof quoted))) return rc;
  if (quoted[0])
    snprintf(body, sizeof body, "{\"reason\":%s}", quoted);
  else
    snprintf(body, sizeof body, "{}");
  snprintf(path, sizeof path, "/v1/partners/%s/keys/%" PRIu32 "/revoke", partner_id, key_id);
  return ctl_admin_run("key revoke", "POST", path, body, NULL);
}

int ctl_cmd_system_key_rotate(int argc, char **argv) {
  const char *grace_text = NULL;
  const ctl_option options[] = {{"grace", &grace_text, NULL}};
  int rc = ctl_parse(argc, argv, options, 1, NULL, 0, NULL);
  if (rc) return rc;
  uint32_t grace;
  if (!grace_text) return ctl_fail(CTL_USAGE, "system-key rotate: missing --grace <seconds>");
  if (reg_count_parse(grace_text, 30u * 86400u, &grace) != 0)
    return ctl_fail(CTL_USAGE, "system-key rotate: invalid --grace (0 to 2592000 seconds)");
  char body[64];
  snprintf(body, sizeof body, "{\"grace_s\":%" PRIu32 "}", grace);
  return ctl_admin_run("system-key rotate", "POST", "/v1/system-keys/rotate", body, NULL);
}

int ctl_cmd_partner_add_api(const char *partner_id, const char *name, uint32_t key_id,
                            const char *pk_hex) {
  char quoted_name[1300], body[1600];
  if (ctl_admin_quote(name, quoted_name, sizeof quoted_name))
    return ctl_fail(CTL_USAGE, "partner add: invalid name");
  snprintf(body, sizeof body,
           "{\"partner_id\":\"%s\",\"name\":%s,\"key_id\":%" PRIu32 ",\"public_key\":\"%s\"}",
           partner_id, quoted_name, key_id, pk_hex);
  char line[128];
  snprintf(line, sizeof line, "partner %s added with key %" PRIu32, partner_id, key_id);
  return ctl_admin_run("partner add", "POST", "/v1/partners", body, line);
}
