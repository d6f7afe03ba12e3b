/* lindung-devbroker: an in-memory Kafka for development and tests.
 *
 * Hosts librdkafka's mock cluster (rdkafka_mock.h) on loopback, creates every
 * Lindung topic, prints "bootstrap <host:port,...>" once ready (and writes it
 * to a file atomically when asked), and runs until SIGTERM or SIGINT. See
 * README.md beside this file for its limits. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "devbroker_cluster.h"

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

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  int partitions = 4, brokers = 1;
  const char *bootstrap_file = getenv("LINDUNG_DEVBROKER_BOOTSTRAP_FILE");
  const char *env;
  const char *topics[DEVBROKER_MAX_TOPICS];
  size_t topic_count = 0;
  char *extra_env = NULL;

  if ((env = getenv("LINDUNG_DEVBROKER_PARTITIONS")) && *env &&
      devbroker_parse_count("LINDUNG_DEVBROKER_PARTITIONS", env, 1000, &partitions) != 0)
    return 2;
  if ((env = getenv("LINDUNG_DEVBROKER_BROKERS")) && *env &&
      devbroker_parse_count("LINDUNG_DEVBROKER_BROKERS", env, 16, &brokers) != 0)
    return 2;

  devbroker_add_launch_topics(topics, &topic_count);
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

  rd_kafka_t *rk;
  rd_kafka_mock_cluster_t *cluster;
  if (devbroker_cluster_start(brokers, partitions, topics, topic_count, &rk, &cluster) != 0)
    return 1;
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
