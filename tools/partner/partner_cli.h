/* lindung-partner: internal interfaces between the files of the reference
 * partner client (prefix pcli_). */
#ifndef LINDUNG_PARTNER_CLI_H
#define LINDUNG_PARTNER_CLI_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kafka_security.h"
#include "partner_sdk.h"

/* Exit status of every command. */
enum {
  PCLI_OK = 0,
  PCLI_ANSWERED_ERROR = 1, /* Lindung answered with an error code */
  PCLI_USAGE = 2,          /* bad arguments */
  PCLI_NO_ANSWER = 3,      /* no answer before the timeout */
  PCLI_FAILURE = 4,        /* local failure: Kafka, credentials, unreadable answer */
};

/* --- pcli_reader: the partner's results topic, read without a group ------
 * Partitions are assigned directly (no group join, so no rebalance delay),
 * either at the current end, resolved to concrete offsets before the call
 * returns, or at the beginning. */
typedef struct pcli_reader pcli_reader;

/* fetch_wait_ms: how long the broker may hold an empty fetch; short while
 * waiting for one answer, longer while following the topic. */
int pcli_reader_open(const char *brokers, const kafka_security *security, const char *partner_id,
                     const char *topic, bool from_beginning, int fetch_wait_ms,
                     pcli_reader **out, char *err, size_t err_len);
/* Returns the next message (caller destroys it with rd_kafka_message_destroy)
 * or NULL when none came within timeout_ms. Partition ends are tracked. */
rd_kafka_message_t *pcli_reader_poll(pcli_reader *reader, int timeout_ms);
/* True once every partition has reached its end since its last message. */
bool pcli_reader_at_end(const pcli_reader *reader);
void pcli_reader_close(pcli_reader *reader);

/* --- pcli_json: one JSON object per line on stdout ----------------------- */
/* Prints the fields of an opened response (no braces), starting with a
 * comma: the error name, then the verdict or the token. */
void pcli_json_response_fields(FILE *out, const partner_sdk_response *response, int rc);

#endif
