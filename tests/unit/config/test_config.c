/* Unit tests for config: environment table, --help, secret files. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "support.h"
#include "testing.h"

static const char *brokers;
static uint32_t partitions;
static bool verbose;

static const cfg_option options[] = {
    CFG_STRING("LINDUNG_TEST_BROKERS", &brokers, NULL, "Kafka bootstrap servers"),
    CFG_UINT("LINDUNG_TEST_PARTITIONS", &partitions, "3", "partitions per topic"),
    CFG_BOOL("LINDUNG_TEST_VERBOSE", &verbose, "false", "log debug lines"),
};
#define OPTION_COUNT (sizeof options / sizeof options[0])

static void test_required_variable_missing_is_named(void) {
  char err[128] = "";
  unsetenv("LINDUNG_TEST_BROKERS");
  CHECK_EQ_INT(cfg_load(options, OPTION_COUNT, err, sizeof err), -1);
  CHECK(strstr(err, "LINDUNG_TEST_BROKERS") != NULL);
}

static void test_defaults_and_values(void) {
  char err[128] = "";
  setenv("LINDUNG_TEST_BROKERS", "127.0.0.1:9092", 1);
  unsetenv("LINDUNG_TEST_PARTITIONS");
  setenv("LINDUNG_TEST_VERBOSE", "yes", 1);
  CHECK_EQ_INT(cfg_load(options, OPTION_COUNT, err, sizeof err), 0);
  CHECK_EQ_STR(brokers, "127.0.0.1:9092");
  CHECK_EQ_INT(partitions, 3);
  CHECK(verbose);
}

static void test_bad_numbers_are_refused_without_echoing_them(void) {
  char err[128] = "";
  setenv("LINDUNG_TEST_BROKERS", "b", 1);
  const char *bad[] = {"-1", "12x", "4294967296", " 7"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    setenv("LINDUNG_TEST_PARTITIONS", bad[i], 1);
    CHECK_EQ_INT(cfg_load(options, OPTION_COUNT, err, sizeof err), -1);
    CHECK(strstr(err, "LINDUNG_TEST_PARTITIONS") != NULL);
    CHECK(strstr(err, bad[i]) == NULL);
  }
  setenv("LINDUNG_TEST_PARTITIONS", "4294967295", 1);
  CHECK_EQ_INT(cfg_load(options, OPTION_COUNT, err, sizeof err), 0);
  CHECK_EQ_INT(partitions, 4294967295u);
}

static void test_help_lists_every_variable(void) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  char *argv_help[] = {"prog", "--verbose", "--help", NULL};
  char *argv_plain[] = {"prog", "run", NULL};
  CHECK(cfg_wants_help(3, argv_help));
  CHECK(!cfg_wants_help(2, argv_plain));
  cfg_print_help(out, "prog [--help]", "Does things.", options, OPTION_COUNT);
  fclose(out);
  CHECK(strstr(text, "LINDUNG_TEST_BROKERS") && strstr(text, "(required)"));
  CHECK(strstr(text, "(default: 3)") != NULL);
  free(text);
}

/* A failed write fails the test. */
#define write_file(path, text, mode) CHECK_EQ_INT(support_write_file(path, text, mode), 0)

static void test_secret_files(void) {
  char dir[] = "/tmp/lindung-config-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[256], err[256];
  uint8_t buf[16];
  snprintf(path, sizeof path, "%s/secret", dir);

  write_file(path, "hunter2\n", 0400);
  CHECK_EQ_INT(cfg_read_secret(path, buf, sizeof buf, true, err, sizeof err), 7);
  CHECK_MEM(buf, "hunter2", 7);

  write_file(path, "hunter2", 0644);
  CHECK_EQ_INT(cfg_read_secret(path, buf, sizeof buf, true, err, sizeof err), -1);
  CHECK(strstr(err, "group or others") != NULL);
  CHECK_EQ_INT(cfg_read_secret(path, buf, sizeof buf, false, err, sizeof err), 7);

  write_file(path, "0123456789abcdef0", 0600);
  CHECK_EQ_INT(cfg_read_secret(path, buf, sizeof buf, true, err, sizeof err), -1);
  CHECK(strstr(err, "0123456789") == NULL);

  write_file(path, "0123456789abcdef\n", 0600);
  CHECK_EQ_INT(cfg_read_secret(path, buf, sizeof buf, true, err, sizeof err), 16);

  write_file(path, "", 0600);
  CHECK_EQ_INT(cfg_read_secret(path, buf, sizeof buf, true, err, sizeof err), -1);

  unlink(path);
  CHECK_EQ_INT(cfg_read_secret(path, buf, sizeof buf, true, err, sizeof err), -1);
  CHECK(strstr(err, "cannot open") != NULL);
  rmdir(dir);
}

int main(void) {
  RUN(test_required_variable_missing_is_named);
  RUN(test_defaults_and_values);
  RUN(test_bad_numbers_are_refused_without_echoing_them);
  RUN(test_help_lists_every_variable);
  RUN(test_secret_files);
  return testing_summary();
}
