/* lindung-revocation-bench: what its files share (prefix revbench_): the
 * benchmark partner (revbench_partner.c) and one timed revocation
 * (revbench_round.c). */
#ifndef LINDUNG_REVBENCH_H
#define LINDUNG_REVBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka_security.h"
#include "partner_kafka.h"
#include "partner_sdk.h"

#define REVBENCH_MAX_REQUESTS 4096
#define REVBENCH_NIK_BUFFER 64

typedef struct revbench_request {
  uint8_t id[16];
  double sent;
  double answered;
  int error;
  char token[PARTNER_SDK_MAX_TOKEN + 1];
} revbench_request;

/* The partner the benchmark onboards, revokes and reinstates. */
typedef struct revbench {
  char partner_id[40], topic[80], ctl_path[4096];
  const char *venue;
  char nik[REVBENCH_NIK_BUFFER];
  partner_sdk *sdk;
  partner_kafka *kafka;
  revbench_request requests[REVBENCH_MAX_REQUESTS];
  size_t request_count;
} revbench;

/* revbench_partner.c */
/* The NIK comes from a file ("-": stdin), never argv, which ps shows: 0, or
 * -1 unless it holds 16 digits. */
int revbench_read_nik(const char *path, char nik[REVBENCH_NIK_BUFFER]);
/* Runs lindungctl with args (NULL-terminated, without the program); with
 * pid_out, returns at once with its pid, else waits and returns its exit
 * status (-1 when it did not run). */
int revbench_ctl(const revbench *b, const char *const *args, int *pid_out);
/* A new partner with a random id: keys, `lindungctl partner add`, and a
 * Kafka client reading its answers. 0, or -1 after printing why. */
int revbench_onboard(revbench *b, const char *brokers, const kafka_security *security,
                     uint32_t system_key_id, const char *system_public_key);
revbench_request *revbench_send(revbench *b, partner_sdk_kind kind, const char *token);
/* Reads answers for up to wait_ms into the requests they answer. */
void revbench_poll(revbench *b, int wait_ms);
/* Links the NIK and waits for the token (0), or -1. */
int revbench_link(revbench *b, char token[PARTNER_SDK_MAX_TOKEN + 1]);
void revbench_close(revbench *b);

/* revbench_round.c */
typedef struct revbench_timing {
  double ctl_ms;      /* lindungctl partner revoke, start to return */
  double first_ms;    /* return -> first PARTNER_REVOKED answer (0 if before) */
  double cut_ms;      /* return -> answer to the first request sent after it */
} revbench_timing;

/* Sends scans every period_ms with token, revokes the partner, and times
 * the cut. 0, or -1 when no PARTNER_REVOKED answer came within 10 s. */
int revbench_round(revbench *b, const char *token, int period_ms, revbench_timing *out);
/* The p-quantile (0..1) of n values, nearest rank; sorts v. */
double revbench_quantile(double *v, size_t n, double p);

#endif
