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
#include "admin_operators.h"
#include "log.h"
#include "revocation_changes.h"
#include "service.h"

int main(int argc, char **argv) {
  static service_common common;
  static const char *admin_addr, *operators_path, *tls_cert, *tls_key;
  static uint32_t max_body, settle_ms;
  static admin_operators operators;
  const cfg_option options[] = {
      CFG_STRING("LINDUNG_ADMIN_ADDR", &admin_addr, "127.0.0.1:8081",
                 "host:port of the admin API (a numeric address; plain HTTP on loopback only)"),
      CFG_STRING("LINDUNG_ADMIN_TLS_CERT_FILE", &tls_cert, "",
                 "PEM certificate (chain) of the admin API: with it the API speaks HTTPS only"),
      CFG_STRING("LINDUNG_ADMIN_TLS_KEY_FILE", &tls_key, "",
                 "PEM private key of LINDUNG_ADMIN_TLS_CERT_FILE"),
      CFG_STRING("LINDUNG_ADMIN_OPERATORS_FILE", &operators_path, NULL,
                 "the operators who may use the admin API: one name:<sha256 of the operator's "
                 "token> per line (lindungctl operator add); re-read when it changes"),
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
  char err[256];
  if (admin_operators_load(&operators, operators_path, err, sizeof err)) {
    LOG_ERROR("admin_operators_unreadable", LOG_ERRTEXT("reason", err));
    return 1;
  }
  char admin_host[128], health_host[128];
  int admin_port, health_port;
  if (service_parse_addr(admin_addr, admin_host, sizeof admin_host, &admin_port) ||
      service_parse_addr(common.http_addr, health_host, sizeof health_host, &health_port)) {
    LOG_ERROR("bad_setting", LOG_TEXT("variable", "LINDUNG_ADMIN_ADDR or LINDUNG_HTTP_ADDR"),
              LOG_TEXT("expected", "host:port"));
    return 2;
  }
  revocation_changes *changes = revocation_changes_new(&operators, settle_ms);
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
  admin_http *admin;
  admin_http_settings admin_settings = {.host = admin_host,
                                        .port = admin_port,
                                        .max_body = max_body,
                                        .cert_file = tls_cert,
                                        .key_file = tls_key};
  if (admin_http_start(service_loop(svc), &admin_settings, revocation_changes_on_request, changes,
                       &admin, err, sizeof err)) {
    LOG_ERROR("admin_listen_failed", LOG_ERRTEXT("reason", err));
    rc = service_abandon(svc);
    revocation_changes_free(changes);
    return rc;
  }
  revocation_changes_attach(changes, svc, admin);
  LOG_INFO("admin_listening", LOG_INT("admin_port", admin_http_port(admin)),
           LOG_BOOL("admin_tls", tls_cert[0] != '\0'));
  rc = service_run(svc);
  revocation_changes_free(changes);
  return rc;
}
