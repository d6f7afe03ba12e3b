/* Unit test for lindung-positive-bench's report (tools/positive-bench):
 * quantiles by nearest lower rank over the people measured. */
#include <stdio.h>
#include <stdlib.h>

#include "positive.h"
#include "testing.h"

/* The report's line (free() it). */
static char *report(const positive_totals *totals, uint64_t *latency_us) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  positive_report(out, totals, latency_us);
  fclose(out);
  return text;
}

static void test_report(void) {
  uint64_t latency_us[] = {3000, 1000, 2000, 4000};
  positive_totals totals = {.people = 6, .measured = 4, .not_green = 1, .never = 1, .scans = 10};
  char *text = report(&totals, latency_us);
  CHECK_EQ_STR(text,
               "{\"people\":6,\"measured\":4,\"not_green_before\":1,\"never_denied\":1,"
               "\"scans_per_person\":2.50,\"p50_ms\":2.0,\"p90_ms\":3.0,\"p99_ms\":3.0,"
               "\"max_ms\":4.0}\n");
  free(text);
}

static void test_report_of_nobody_measured(void) {
  positive_totals totals = {.people = 2, .never = 2};
  char *text = report(&totals, NULL);
  CHECK_EQ_STR(text,
               "{\"people\":2,\"measured\":0,\"not_green_before\":0,\"never_denied\":2,"
               "\"scans_per_person\":0.00,\"p50_ms\":0.0,\"p90_ms\":0.0,\"p99_ms\":0.0,"
               "\"max_ms\":0.0}\n");
  free(text);
}

int main(void) {
  RUN(test_report);
  RUN(test_report_of_nobody_measured);
  return testing_summary();
}
