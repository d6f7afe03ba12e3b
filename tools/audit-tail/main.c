/* lindung-audit-tail: the analysts' view of the audit trail. Reads the
 * audit.log topic (partitions assigned directly: no consumer group, no
 * committed offsets) and prints the records as JSON lines, filtered by
 * partner, venue, stage, outcome and time; or, with --raw, every message as
 * a hex line, the capture format `lindung-audit verify --capture` reads.
 * audit.log holds no NIK, token, name or key material (a person appears
 * only as a pseudonym), so neither does anything printed here. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tail_collect.h"
#include "tail_kafka.h"

static const char tail_help[] =
    "usage: lindung-audit-tail [options]\n"
    "\n"
    "Prints the audit.log topic as JSON lines, one per record, sorted by seq (with\n"
    "--follow: as they arrive), copies of a record published twice shown once.\n"
    "Stops at the end of the partitions unless --follow.\n"
    "\n"
    "  --partner ID       only records of this partner\n"
    "  --venue ID         only records naming this venue\n"
    "  --stage S          ingest, decrypt, resolve or admin\n"
    "  --outcome O        forwarded, answered, rejected, deadlettered, applied, refused\n"
    "  --since T          only records handled at or after T (ms since the epoch,\n"
    "                     or ISO-8601: 2024-05-01, 2024-05-01T08:00:00Z, ...+07:00)\n"
    "  --until T          only records handled before T\n"
    "  --follow           keep reading new records until interrupted\n"
    "  --from-beginning   read from the start of the topic (the default)\n"
    "  --from-end         read only what arrives from now on (implies --follow)\n"
    "  --checkpoints      also print signed checkpoints ({\"type\":\"checkpoint\",...})\n"
    "  --raw              print every message (records and checkpoints) as one hex\n"
    "                     line, unfiltered: a capture for `lindung-audit verify\n"
    "                     --capture FILE`\n"
    "  -h, --help         this text\n"
    "\n"
    "Environment: LINDUNG_KAFKA_BROKERS (required); LINDUNG_KAFKA_SECURITY_PROTOCOL (ssl),\n"
    "LINDUNG_KAFKA_SSL_CA_FILE, LINDUNG_KAFKA_SSL_CERT_FILE, LINDUNG_KAFKA_SSL_KEY_FILE (the\n"
    "analyst's certificate: it may read audit.log, in consumer groups analyst-*);\n"
    "LINDUNG_KAFKA_PROPERTIES (optional librdkafka settings, name=value separated by commas).\n"
    "Exit status: 0, 1 on a Kafka error, 2 on a usage error.\n";

static volatile sig_atomic_t tail_stop;
static void tail_on_signal(int signo) {
  (void)signo;
  tail_stop = 1;
}

static int tail_usage_error(const char *what) {
  fprintf(stderr, "lindung-audit-tail: %s (see --help)\n", what);
  return 2;
}

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  tail_state st = {0};
  tail_options *o = &st.opts;
  o->stage = o->outcome = -1;
  o->since_ms = o->until_ms = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(tail_help, stdout);
      return 0;
    } else if (!strcmp(a, "--follow")) {
      o->follow = true;
    } else if (!strcmp(a, "--from-beginning")) {
      o->from_end = false;
    } else if (!strcmp(a, "--from-end")) {
      o->from_end = o->follow = true;
    } else if (!strcmp(a, "--raw")) {
      o->raw = true;
    } else if (!strcmp(a, "--checkpoints")) {
      o->checkpoints = true;
    } else if (!v) {
      return tail_usage_error("unknown option or missing value");
    } else if (!strcmp(a, "--partner")) {
      o->partner = v, i++;
    } else if (!strcmp(a, "--venue")) {
      o->venue = v, i++;
    } else if (!strcmp(a, "--stage")) {
      if ((o->stage = tail_enum_parse(&lindung__v1__audit_stage__descriptor, "AUDIT_STAGE_", v)) <
          0)
        return tail_usage_error("--stage must be ingest, decrypt, resolve or admin");
      i++;
    } else if (!strcmp(a, "--outcome")) {
      if ((o->outcome =
               tail_enum_parse(&lindung__v1__audit_outcome__descriptor, "AUDIT_OUTCOME_", v)) < 0)
        return tail_usage_error(
            "--outcome must be forwarded, answered, rejected, deadlettered, applied or refused");
      i++;
    } else if (!strcmp(a, "--since")) {
      if (tail_parse_time(v, &o->since_ms)) return tail_usage_error("--since: not a time");
      i++;
    } else if (!strcmp(a, "--until")) {
      if (tail_parse_time(v, &o->until_ms)) return tail_usage_error("--until: not a time");
      i++;
    } else {
      return tail_usage_error("unknown option");
    }
  }
  const char *brokers = getenv("LINDUNG_KAFKA_BROKERS");
  if (!brokers || !*brokers) return tail_usage_error("LINDUNG_KAFKA_BROKERS is not set");
  kafka_security security;
  char security_err[256];
  if (ksec_load_env(&security, security_err, sizeof security_err))
    return tail_usage_error(security_err);

  int partitions, status;
  rd_kafka_t *rk = tail_kafka_open(brokers, &security, o->from_end, &partitions, &status);
  if (!rk) return status;
  signal(SIGINT, tail_on_signal);
  signal(SIGTERM, tail_on_signal);

  /* Until every partition reached its end once, entries are collected and
   * printed sorted by seq; after that (--follow) as they arrive. */
  bool *at_eof = calloc((size_t)partitions, sizeof *at_eof);
  int eof_count = 0;
  bool collecting = !o->from_end;
  while (!tail_stop) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (m->partition >= 0 && m->partition < partitions && !at_eof[m->partition]) {
        at_eof[m->partition] = true;
        eof_count++;
      }
      rd_kafka_message_destroy(m);
      if (eof_count == partitions && collecting) {
        tail_flush_sorted(&st);
        collecting = false;
        if (!o->follow) break;
      }
      continue;
    }
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__TRANSPORT || m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        fprintf(stderr, "lindung-audit-tail: %s\n", rd_kafka_message_errstr(m));
      } else {
        fprintf(stderr, "lindung-audit-tail: %s\n", rd_kafka_message_errstr(m));
        status = 1;
        rd_kafka_message_destroy(m);
        break;
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    tail_message(&st, m, collecting);
    rd_kafka_message_destroy(m);
  }
  if (collecting) tail_flush_sorted(&st);
  fflush(stdout);
  if (st.bad)
    fprintf(stderr, "lindung-audit-tail: %" PRIu64 " messages were not audit.log entries\n",
            st.bad);
  free(at_eof);
  free(st.entries);
  free(st.seen);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return status;
}
