/* lindung-revocation: owns every change to the partner registry. An admin
 * HTTP API (admin_http.c, routes and validation in admin_api.c) takes one
 * change at a time; revocation_changes.c writes it to PostgreSQL, publishes
 * it on partner.events and audit.events and answers once both are
 * acknowledged. The service runs on the common runtime (service.h), with no
 * Kafka input: /healthz, /readyz and /metrics are on LINDUNG_HTTP_ADDR. This
 * file reads the settings and wires. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "admin_http.h"
#include "log.h"
#include "revocation_changes.h"
#include "service.h"

static int revocation_read_token(const char *path, char *token, size_t token_size) {
  char err[256];
  long n = cfg_read_secret(path, (uint8_t *)token, token_size - 1, true, err,
                           sizeof err);
  if (n < 0) {
    LOG_ERROR("admin_token_unreadable", LOG_ERRTEXT("reason", err));
    return -1;
  }
  token[n] = '\0';
  if (n < 32) {
    sodium_memzero(token, token_size);
    LOG_ERROR("admin_token_too_short", LOG_TEXT("expected", "at least 32 characters"));
    return -1;
  }
  for (long i = 0; i < n; i++) {
    if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7f) {
      sodium_memzero(token, token_size);
      LOG_ERROR("admin_token_invalid", LOG_TEXT("expected", "printable characters only"));
      return -1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  static service_common common;
  static const char *admin_addr, *token_path;
  static uint32_t max_body, settle_ms;
  static char token[130];
  const cfg_option options[] = {
      CFG_STRING("LINDUNG_ADMIN_ADDR", &admin_addr, "127.0.0.1:8081",
                 "host:port of the admin API (TLS is the deployment's job)"),
      CFG_STRING("LINDUNG_ADMIN_TOKEN_FILE", &token_path, NULL,
                 "file holding the admin API's bearer token (at least 32 printable characters, "
                 "mode 0600 or stricter)"),
      CFG_UINT("LINDUNG_ADMIN_MAX_BODY", &max_body, "16384",
               "largest admin request body in bytes (413 above)"),
      CFG_UINT("LINDUNG_ADMIN_SETTLE_MS", &settle_ms, "30",
               "after a change is committed and its events acknowledged, wait this long before "
               "answering, so every healthy instance (which fetches partner.events every few "
               "milliseconds) has applied it when the operator gets the answer"),
  };
  int rc = service_configure(argc, argv, "lindung-revocation",
                             "Owns every change to the partner registry: an admin HTTP API that "
                             "writes each change to PostgreSQL and publishes it on partner.events "
                             "and audit.events before answering.",
                             &common, options, sizeof options / sizeof options[0]);
  if (rc) return rc > 0 ? 0 : 2;
  if (sodium_init() < 0) {
    LOG_ERROR("sodium_init_failed");
    return 1;
  }
  if (max_body == 0 || max_body > 1048576) {
    LOG_ERROR("bad_setting", LOG_ID("variable", "LINDUNG_ADMIN_MAX_BODY"),
              LOG_TEXT("expected", "1 to 1048576"));
    return 2;
  }
  if (revocation_read_token(token_path, token, sizeof token)) return 1;
  char admin_host[128], health_host[128];
  int admin_port, health_port;
  if (service_parse_addr(admin_addr, admin_host, sizeof admin_host, &admin_port) ||
      service_parse_addr(common.http_addr, health_host, sizeof health_host, &health_port)) {
    LOG_ERROR("bad_setting", LOG_TEXT("variable", "LINDUNG_ADMIN_ADDR or LINDUNG_HTTP_ADDR"),
              LOG_TEXT("expected", "host:port"));
    return 2;
  }
  revocation_changes *changes = revocation_changes_new(token, settle_ms);
  if (!changes) return 1;
  /* An operator waits for each answer: no linger, and a bounded wait for
   * the broker's acknowledgement. */
  static const char *const producer_properties[] = {"message.timeout.ms", "10000", "linger.ms",
                                                    "0", NULL};
  service_settings settings = {
      .name = "revocation",
      .uses_db = true,
      .statements = revocation_changes_statements,
      .statement_count = revocation_changes_statement_count,
      .producer_properties = producer_properties,
      .on_delivery = revocation_changes_on_delivery,
      .on_stop = revocation_changes_on_stop,
      .busy = revocation_changes_busy,
      .ctx = changes,
  };
  service *svc;
  if (service_open(&svc, &settings, &common) != 0) return 1;
  char err[256];
  admin_http *admin;
  if (admin_http_start(service_loop(svc), admin_host, admin_port, max_body,
                       revocation_changes_on_request, changes, &admin, err, sizeof err)) {
    LOG_ERROR("admin_listen_failed", LOG_ERRTEXT("reason", err));
    return 1;
  }
  revocation_changes_attach(changes, svc, admin);
  LOG_INFO("admin_listening", LOG_INT("admin_port", admin_http_port(admin)));
  rc = service_run(svc);
  revocation_changes_free(changes);
  sodium_memzero(token, sizeof token);
  return rc;
}
