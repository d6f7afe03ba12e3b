/* lindung-devbroker: an in-memory Kafka for development and tests.
 *
 * Hosts librdkafka's mock cluster (rdkafka_mock.h) on loopback, creates every
 * Lindung topic, prints "bootstrap <host:port,...>" once ready (and writes it
 * to a file atomically when asked), and runs until SIGTERM or SIGINT. See
 * README.md beside this file for its limits. */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "topics.h"

#define DEVBROKER_MAX_TOPICS 256

static const char *const devbroker_core_topics[] = {
    TOPIC_SCAN_ACCEPTED, TOPIC_SCAN_DECRYPTED, TOPIC_SCAN_DEADLETTER, TOPIC_AUDIT_EVENTS,
    TOPIC_AUDIT_LOG,     TOPIC_PARTNER_EVENTS, TOPIC_HEALTH_FACTS,
};

/* Partners onboarded at launch; each has its own request and results topics. */
static const char *const devbroker_partners[] = {
    "gojek",     "grab",       "tokopedia", "tiketcom", "dana", "livin-mandiri",
    "traveloka", "cinema-xxi", "linkaja",   "goers",    "jaki",
};

static volatile sig_atomic_t devbroker_stop;

static void devbroker_on_signal(int signo) {
  (void)signo;
  devbroker_stop = 1;
}

static void devbroker_usage(FILE *out) {
  fprintf(out,
          "usage: lindung-devbroker [--partitions N] [--brokers N] [--bootstrap-file PATH]\n"
          "                         [--topic NAME]...\n"
          "\n"
          "In-memory Kafka (librdkafka mock cluster) on loopback with every Lindung topic.\n"
          "Prints \"bootstrap <host:port,...>\" once ready; stops on SIGTERM/SIGINT.\n"
          "\n"
          "  --partitions N        partitions per topic (env LINDUNG_DEVBROKER_PARTITIONS, "
          "default 4)\n"
          "  --brokers N           brokers in the cluster (env LINDUNG_DEVBROKER_BROKERS, "
          "default 1)\n"
          "  --bootstrap-file PATH write the bootstrap list there, atomically\n"
          "                        (env LINDUNG_DEVBROKER_BOOTSTRAP_FILE)\n"
          "  --topic NAME          create one more topic (repeatable; env\n"
          "                        LINDUNG_DEVBROKER_EXTRA_TOPICS, comma-separated)\n"
          "  -h, --help            this text\n");
}

static int devbroker_parse_count(const char *what, const char *text, int max, int *out) {
  char *end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 1 || value > max) {
    fprintf(stderr, "lindung-devbroker: %s must be a number from 1 to %d\n", what, max);
    return -1;
  }
  *out = (int)value;
  return 0;
}

/* Writes "host:port,...\n" to path through a temporary file and rename(), so
 * a reader never sees half an address. */
static int devbroker_write_bootstrap(const char *path, const char *bootstraps) {
  char tmp[4096];
  int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof(tmp)) {
    fprintf(stderr, "lindung-devbroker: bootstrap file path too long\n");
    return -1;
  }
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "lindung-devbroker: cannot create %s: %s\n", tmp, strerror(errno));
    return -1;
  }
  int failed = fprintf(f, "%s\n", bootstraps) < 0;
  failed |= fflush(f) != 0;
  failed |= fsync(fileno(f)) != 0;
  failed |= fclose(f) != 0;
  if (failed || rename(tmp, path) != 0) {
    fprintf(stderr, "lindung-devbroker: cannot write %s: %s\n", path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

static int devbroker_add_topic(const char **topics, size_t *count, const char *name) {
  if (*count >= DEVBROKER_MAX_TOPICS) {
    fprintf(stderr, "lindung-devbroker: too many topics\n");
    return -1;
  }
  topics[(*count)++] = name;
  return 0;
}

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  int partitions = 4, brokers = 1;
  const char *bootstrap_file = getenv("LINDUNG_DEVBROKER_BOOTSTRAP_FILE");
  const char *env;
  const char *topics[DEVBROKER_MAX_TOPICS];
  size_t topic_count = 0;
  static char result_topics[sizeof(devbroker_partners) / sizeof(devbroker_partners[0])][64];
  static char request_topics[sizeof(devbroker_partners) / sizeof(devbroker_partners[0])][64];
  char *extra_env = NULL;

  if ((env = getenv("LINDUNG_DEVBROKER_PARTITIONS")) && *env &&
      devbroker_parse_count("LINDUNG_DEVBROKER_PARTITIONS", env, 1000, &partitions) != 0)
    return 2;
  if ((env = getenv("LINDUNG_DEVBROKER_BROKERS")) && *env &&
      devbroker_parse_count("LINDUNG_DEVBROKER_BROKERS", env, 16, &brokers) != 0)
    return 2;

  for (size_t i = 0; i < sizeof(devbroker_core_topics) / sizeof(devbroker_core_topics[0]); i++)
    devbroker_add_topic(topics, &topic_count, devbroker_core_topics[i]);
  for (size_t i = 0; i < sizeof(devbroker_partners) / sizeof(devbroker_partners[0]); i++) {
    topics_scan_requests(devbroker_partners[i], request_topics[i], sizeof(request_topics[i]));
    devbroker_add_topic(topics, &topic_count, request_topics[i]);
    topics_scan_results(devbroker_partners[i], result_topics[i], sizeof(result_topics[i]));
    devbroker_add_topic(topics, &topic_count, result_topics[i]);
  }
  if ((env = getenv("LINDUNG_DEVBROKER_EXTRA_TOPICS")) && *env) {
    extra_env = strdup(env);
    if (!extra_env) return 1;
    char *save = NULL;
    for (char *name = strtok_r(extra_env, ",", &save); name; name = strtok_r(NULL, ",", &save))
      if (*name && devbroker_add_topic(topics, &topic_count, name) != 0) return 2;
  }

  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      devbroker_usage(stdout);
      free(extra_env);
      return 0;
    }
    if (strcmp(arg, "--partitions") != 0 && strcmp(arg, "--brokers") != 0 &&
        strcmp(arg, "--bootstrap-file") != 0 && strcmp(arg, "--topic") != 0) {
      fprintf(stderr, "lindung-devbroker: unknown argument %s\n", arg);
      devbroker_usage(stderr);
      return 2;
    }
    if (!value) {
      fprintf(stderr, "lindung-devbroker: %s needs a value\n", arg);
      return 2;
    }
    i++;
    if (strcmp(arg, "--partitions") == 0) {
      if (devbroker_parse_count("--partitions", value, 1000, &partitions) != 0) return 2;
    } else if (strcmp(arg, "--brokers") == 0) {
      if (devbroker_parse_count("--brokers", value, 16, &brokers) != 0) return 2;
    } else if (strcmp(arg, "--bootstrap-file") == 0) {
      bootstrap_file = value;
    } else if (devbroker_add_topic(topics, &topic_count, value) != 0) {
      return 2;
    }
  }

  /* SIGTERM and SIGINT stay blocked in every thread (librdkafka's threads
   * inherit this mask) and are only taken in sigsuspend() below, so a signal
   * can neither hit another thread nor slip in between test and wait. */
  sigset_t stop_signals, wait_mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, &wait_mask);
  sigdelset(&wait_mask, SIGTERM);
  sigdelset(&wait_mask, SIGINT);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = devbroker_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* The handle only hosts the cluster; it never connects anywhere itself. */
  if (rd_kafka_conf_set(conf, "client.id", "lindung-devbroker", errstr, sizeof(errstr)) !=
          RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "lindung-devbroker: %s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "lindung-devbroker: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!cluster) {
    fprintf(stderr, "lindung-devbroker: cannot start the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  int replication = brokers < 3 ? brokers : 3;
  for (size_t i = 0; i < topic_count; i++) {
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(cluster, topics[i], partitions, replication);
    if (err) {
      fprintf(stderr, "lindung-devbroker: cannot create topic %s: %s\n", topics[i],
              rd_kafka_err2str(err));
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(rk);
      return 1;
    }
  }

  const char *bootstraps = rd_kafka_mock_cluster_bootstraps(cluster);
  int rc = 0;
  if (bootstrap_file && *bootstrap_file &&
      devbroker_write_bootstrap(bootstrap_file, bootstraps) != 0)
    rc = 1;
  if (rc == 0) {
    printf("bootstrap %s\n", bootstraps);
    fflush(stdout);
    fprintf(stderr, "lindung-devbroker: %zu topics, %d partitions each, %d broker(s)\n",
            topic_count, partitions, brokers);
    while (!devbroker_stop) sigsuspend(&wait_mask);
  }

  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  free(extra_env);
  return rc;
}
