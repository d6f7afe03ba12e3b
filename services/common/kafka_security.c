/* kafka_security: LINDUNG_KAFKA_* security settings to librdkafka (kafka_security.h). */
#include "kafka_security.h"

#include <stdio.h>
#include <string.h>

int ksec_check(const kafka_security *s, char *err, size_t err_len) {
  if (!strcmp(s->protocol, "plaintext")) return 0;
  if (strcmp(s->protocol, "ssl")) {
    snprintf(err, err_len, "LINDUNG_KAFKA_SECURITY_PROTOCOL must be plaintext or ssl");
    return -1;
  }
  const char *missing = !*s->ca_file     ? "LINDUNG_KAFKA_SSL_CA_FILE"
                        : !*s->cert_file ? "LINDUNG_KAFKA_SSL_CERT_FILE"
                        : !*s->key_file  ? "LINDUNG_KAFKA_SSL_KEY_FILE"
                                         : NULL;
  if (missing) {
    snprintf(err, err_len, "%s must be set when LINDUNG_KAFKA_SECURITY_PROTOCOL is ssl", missing);
    return -1;
  }
  return 0;
}

int ksec_load_env(kafka_security *s, char *err, size_t err_len) {
  const cfg_option options[] = {KSEC_OPTIONS(s)};
  if (cfg_load(options, sizeof options / sizeof options[0], err, err_len)) return -1;
  return ksec_check(s, err, err_len);
}

size_t ksec_properties(const kafka_security *s, const char *out[KSEC_MAX_PROPERTIES]) {
  size_t n = 0;
  out[n++] = "security.protocol";
  out[n++] = s->protocol;
  if (*s->ca_file) {
    out[n++] = "ssl.ca.location";
    out[n++] = s->ca_file;
  }
  if (*s->cert_file) {
    out[n++] = "ssl.certificate.location";
    out[n++] = s->cert_file;
  }
  if (*s->key_file) {
    out[n++] = "ssl.key.location";
    out[n++] = s->key_file;
  }
  if (!strcmp(s->protocol, "ssl")) {
    /* A request goes out as more than one TLS write; with Nagle on, the
     * second waits for the delayed ACK of the first: 40 ms per request. */
    out[n++] = "socket.nagle.disable";
    out[n++] = "true";
  }
  out[n] = NULL;
  return n / 2;
}

int ksec_conf_set(rd_kafka_conf_t *conf, const kafka_security *s, char *err, size_t err_len) {
  const char *props[KSEC_MAX_PROPERTIES];
  char errstr[256];
  ksec_properties(s, props);
  for (size_t i = 0; props[i]; i += 2) {
    if (rd_kafka_conf_set(conf, props[i], props[i + 1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      snprintf(err, err_len, "kafka property %s rejected", props[i]);
      return -1;
    }
  }
  return 0;
}
