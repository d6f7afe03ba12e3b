/* lindungctl commands that change the partner registry through the
 * revocation service's admin API (LINDUNG_ADMIN_URL, https:// with the CA
 * of --cacert or LINDUNG_ADMIN_CACERT; the operator's own bearer token from
 * LINDUNG_ADMIN_TOKEN_FILE, which also names them in the audit trail): partner add/revoke/reinstate/quota, key
 * add/revoke, system-key rotate. Every such change is thereby written,
 * published to every service and audited in one place. HTTP through
 * libcurl; the service answers once the change is committed and
 * published. On success the service's JSON answer is
 * printed on stdout. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_json.h"
#include "config.h"
#include "ctl.h"
#include "hex.h"

#define CTL_ADMIN_TIMEOUT_S 30
#define CTL_ADMIN_MAX_RESPONSE 65536

static int ctl_admin_token(char *out, size_t out_len) {
  const char *path = ctl_env("LINDUNG_ADMIN_TOKEN_FILE");
  if (!path) return ctl_fail(CTL_USAGE, "LINDUNG_ADMIN_TOKEN_FILE is not set");
  char err[256];
  long n = cfg_read_secret(path, (uint8_t *)out, out_len - 1, true, err, sizeof err);
  if (n < 0) return ctl_fail(CTL_RUNTIME, "%s", err);
  out[n] = '\0';
  return CTL_OK;
}

/* Plain http:// only to a loopback address (where the service also
 * serves it): the bearer token never crosses a network in clear. */
static bool ctl_admin_url_safe(const char *base) {
  if (strncmp(base, "https://", 8) == 0) return true;
  const char *host = base + 7;
  return strncmp(host, "127.", 4) == 0 || strncmp(host, "[::1]", 5) == 0 ||
         strncmp(host, "localhost:", 10) == 0 || strcmp(host, "localhost") == 0;
}

typedef struct ctl_admin_buffer {
  char *data;
  size_t len, cap;
} ctl_admin_buffer;

static size_t ctl_admin_collect(char *ptr, size_t size, size_t nmemb, void *arg) {
  ctl_admin_buffer *b = arg;
  size_t n = size * nmemb;
  if (n > b->cap - b->len) return 0; /* too long: libcurl stops with an error */
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  return n;
}

/* Sends one request with libcurl and reads the whole answer. Returns the
 * HTTP status, or -1 after printing (-2: a usage error). */
static int ctl_admin_call(const char *what, const char *method, const char *path, const char *body,
                          char *response, size_t response_len) {
  const char *base = ctl_env("LINDUNG_ADMIN_URL");
  if (!base) return ctl_fail(CTL_USAGE, "LINDUNG_ADMIN_URL is not set"), -2;
  if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)
    return ctl_fail(CTL_USAGE, "LINDUNG_ADMIN_URL must look like https://host:port"), -2;
  if (!ctl_admin_url_safe(base))
    return ctl_fail(CTL_USAGE, "LINDUNG_ADMIN_URL: plain http:// only to a loopback address; "
                               "use https://"),
           -2;
  char url[1024];
  size_t base_len = strlen(base);
  if (base_len && base[base_len - 1] == '/') base_len--;
  if (snprintf(url, sizeof url, "%.*s%s", (int)base_len, base, path) >= (int)sizeof url)
    return ctl_fail(CTL_USAGE, "LINDUNG_ADMIN_URL is too long"), -2;
  char token[256], auth[300];
  /* Never swapped while they hold the token; munlock wipes them. */
  (void)sodium_mlock(token, sizeof token);
  (void)sodium_mlock(auth, sizeof auth);
  int rc = ctl_admin_token(token, sizeof token);
  if (rc) {
    sodium_munlock(token, sizeof token);
    sodium_munlock(auth, sizeof auth);
    return rc == CTL_USAGE ? -2 : -1;
  }
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
  sodium_munlock(token, sizeof token);
  struct curl_slist *headers = curl_slist_append(NULL, auth);
  sodium_munlock(auth, sizeof auth);
  headers = curl_slist_append(headers, "Content-Type: application/json");
  ctl_admin_buffer answer = {malloc(CTL_ADMIN_MAX_RESPONSE + 1), 0, CTL_ADMIN_MAX_RESPONSE};
  CURL *curl = curl_easy_init();
  long status = -1;
  if (!curl || !headers || !answer.data) {
    ctl_fail(CTL_RUNTIME, "out of memory");
  } else {
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    /* Trust only the CA the operator names (--cacert, LINDUNG_ADMIN_CACERT),
     * not the system's whole store; the name is always verified. */
    if (ctl_admin_cacert) curl_easy_setopt(curl, CURLOPT_CAINFO, ctl_admin_cacert);
    if (ctl_admin_cacert) curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)CTL_ADMIN_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, ctl_admin_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    CURLcode res = curl_easy_perform(curl);
    if (res != CURLE_OK)
      ctl_fail(CTL_RUNTIME, "%s: no answer from the admin API at %s: %s", what, base,
               curl_easy_strerror(res));
    else
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  }
  curl_easy_cleanup(curl);
  /* The list holds the bearer token: wipe it before it is freed. */
  for (struct curl_slist *h = headers; h; h = h->next) sodium_memzero(h->data, strlen(h->data));
  curl_slist_free_all(headers);
  if (status >= 0) {
    answer.data[answer.len] = '\0';
    snprintf(response, response_len, "%s", answer.data);
  }
  free(answer.data);
  return (int)status;
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
