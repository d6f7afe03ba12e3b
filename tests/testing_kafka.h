/* For integration drivers: the Kafka principal the test speaks as, from the
 * LINDUNG_KAFKA_* settings of stack.env (the stack's admin certificate on
 * the real broker, plaintext on lindung-devbroker). Exits 2 on bad settings. */
#ifndef LINDUNG_TESTING_KAFKA_H
#define LINDUNG_TESTING_KAFKA_H

#include <stdio.h>
#include <stdlib.h>

#include "kafka_security.h"

static inline const kafka_security *testing_kafka_security(void) {
  static kafka_security security;
  static int loaded;
  if (!loaded) {
    char err[256];
    if (ksec_load_env(&security, err, sizeof err)) {
      fprintf(stderr, "kafka settings: %s\n", err);
      exit(2);
    }
    loaded = 1;
  }
  return &security;
}

#endif
