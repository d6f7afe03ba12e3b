/* kafka_security: how a Lindung client authenticates to Kafka. One set of
 * LINDUNG_KAFKA_* settings (plaintext for lindung-devbroker, mutual TLS for
 * a real broker: the principal is the certificate's CN) that every service
 * and tool turns into the same librdkafka properties. Prefix ksec_. */
#ifndef LINDUNG_KAFKA_SECURITY_H
#define LINDUNG_KAFKA_SECURITY_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "config.h"

typedef struct kafka_security {
  const char *protocol;  /* "plaintext" or "ssl" */
  const char *ca_file;   /* ssl.ca.location */
  const char *cert_file; /* ssl.certificate.location: this principal's certificate */
  const char *key_file;  /* ssl.key.location: its private key (a secret file) */
} kafka_security;

/* The option-table entries of the four settings. */
#define KSEC_OPTIONS(s)                                                                     \
  CFG_STRING("LINDUNG_KAFKA_SECURITY_PROTOCOL", &(s)->protocol, "plaintext",                \
             "plaintext or ssl (mutual TLS: the certificate's CN is the Kafka principal)"), \
      CFG_STRING("LINDUNG_KAFKA_SSL_CA_FILE", &(s)->ca_file, "",                            \
                 "CA certificate file of the brokers (ssl.ca.location)"),                   \
      CFG_STRING("LINDUNG_KAFKA_SSL_CERT_FILE", &(s)->cert_file, "",                        \
                 "this client's certificate file (ssl.certificate.location)"),              \
      CFG_STRING("LINDUNG_KAFKA_SSL_KEY_FILE", &(s)->key_file, "",                          \
                 "this client's private key file (ssl.key.location)")

/* Checks a loaded set: a known protocol, and for ssl a CA, a certificate
 * and a key (a broker that requires client certificates refuses a client
 * without one, late and with a vague error). 0, or -1 with a reason. */
int ksec_check(const kafka_security *s, char *err, size_t err_len);

/* Reads the four settings from the environment and checks them. */
int ksec_load_env(kafka_security *s, char *err, size_t err_len);

/* The librdkafka properties as name/value pairs into out (room for
 * KSEC_MAX_PROPERTIES pointers, the NULL included); returns the pair count. */
#define KSEC_MAX_PROPERTIES 11
size_t ksec_properties(const kafka_security *s, const char *out[KSEC_MAX_PROPERTIES]);

/* Sets those properties on conf; the reason names the property, never its value. */
int ksec_conf_set(rd_kafka_conf_t *conf, const kafka_security *s, char *err, size_t err_len);

#endif
