/* Unit tests for log: JSON lines, typed fields, redaction. */
#include <stdlib.h>

#include "log.h"
#include "testing.h"

static char *captured;
static size_t captured_len;
static FILE *capture;

static void capture_start(void) {
  capture = open_memstream(&captured, &captured_len);
  log_set_stream(capture);
}

static void capture_end(void) {
  fclose(capture);
  log_set_stream(NULL);
}

static void test_line_shape(void) {
  log_setup("ingest", LOG_LEVEL_INFO);
  capture_start();
  LOG_INFO("partition_assigned", LOG_ID("topic", "scan.requests"), LOG_INT("partition", 3),
           LOG_BOOL("paused", 0), LOG_TEXT("note", "first \"assignment\""));
  capture_end();
  CHECK(strncmp(captured, "{\"ts\":\"", 7) == 0);
  CHECK(strstr(captured, "\"level\":\"info\",\"service\":\"ingest\",\"event\":\"partition_assigned\","
                         "\"topic\":\"scan.requests\",\"partition\":3,\"paused\":false,"
                         "\"note\":\"first \\\"assignment\\\"\"}\n") != NULL);
  CHECK_EQ_INT(strchr(captured, '\n') - captured + 1, (long long)captured_len);
  free(captured);
}

static void test_levels_below_minimum_are_dropped(void) {
  log_setup("ingest", LOG_LEVEL_WARN);
  capture_start();
  LOG_INFO("chatty");
  LOG_WARN("kept");
  capture_end();
  CHECK(strstr(captured, "chatty") == NULL);
  CHECK(strstr(captured, "kept") != NULL);
  free(captured);
  log_setup("ingest", LOG_LEVEL_INFO);
}

static void test_sensitive_values_never_printed(void) {
  const char *nik = "3171012509890001";
  const char *token = "lt1_Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eA";
  const char *key = "88ec0fc10a8149791fe704cc1579d7c00e7c25aa3baa17dfe51944036c79666f";
  capture_start();
  LOG_INFO("leak_attempt", LOG_ID("a", nik), LOG_ID("b", token), LOG_ERRTEXT("c", key),
           LOG_ERRTEXT("d", "duplicate key (nik)=(3171012509890001)"), LOG_ID("e", "not an id!"),
           LOG_ERRTEXT("f", "Q2hhcmFjdGVyczEyMzQ1Njc4OTAxMjM0NTY="));
  capture_end();
  CHECK(strstr(captured, nik) == NULL);
  CHECK(strstr(captured, "Zm9vYmFy") == NULL);
  CHECK(strstr(captured, "88ec0fc1") == NULL);
  CHECK(strstr(captured, "Q2hhcmFj") == NULL);
  CHECK(strstr(captured, "\"e\":\"[invalid]\"") != NULL);
  free(captured);
}

static void test_ordinary_values_pass(void) {
  CHECK(!log_value_is_sensitive("scan.results.livin-mandiri"));
  CHECK(!log_value_is_sensitive("127.0.0.1:39021"));
  CHECK(!log_value_is_sensitive("Broker transport failure"));
  CHECK(!log_value_is_sensitive("QR-MALL-0001"));
  CHECK(log_value_is_sensitive("3171012509890001"));
  CHECK(log_value_is_sensitive("x 00112233445566778899aabbccddeeff y"));
}

static void test_control_characters_are_escaped(void) {
  capture_start();
  LOG_INFO("esc", LOG_ERRTEXT("reason", "line one\nline two\x01"));
  capture_end();
  CHECK(strstr(captured, "line one\\nline two\\u0001") != NULL);
  free(captured);
}

int main(void) {
  RUN(test_line_shape);
  RUN(test_levels_below_minimum_are_dropped);
  RUN(test_sensitive_values_never_printed);
  RUN(test_ordinary_values_pass);
  RUN(test_control_characters_are_escaped);
  return testing_summary();
}
