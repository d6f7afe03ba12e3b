/* Unit tests for latency_histogram: precision and quantiles. */
#include "latency_histogram.h"
#include "testing.h"

static latency_histogram histogram;

static void test_small_values_are_exact(void) {
  latency_histogram_reset(&histogram);
  for (uint64_t v = 1; v <= 50; v++) latency_histogram_record(&histogram, v);
  CHECK_EQ_INT(latency_histogram_quantile(&histogram, 0.5), 25);
  CHECK_EQ_INT(latency_histogram_quantile(&histogram, 1.0), 50);
  CHECK_EQ_INT(histogram.total, 50);
}

static void test_large_values_within_two_percent(void) {
  const uint64_t values[] = {100, 999, 1000, 12345, 250000, 1000000, 99999999};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    latency_histogram_reset(&histogram);
    latency_histogram_record(&histogram, values[i]);
    latency_histogram_record(&histogram, values[i] * 2); /* so max does not clamp */
    uint64_t got = latency_histogram_quantile(&histogram, 0.5);
    CHECK(got >= values[i]);
    CHECK((double)got <= (double)values[i] * 1.02 + 1);
  }
}

static void test_percentiles_of_a_uniform_spread(void) {
  latency_histogram_reset(&histogram);
  for (uint64_t v = 1; v <= 100000; v++) latency_histogram_record(&histogram, v);
  uint64_t p99 = latency_histogram_quantile(&histogram, 0.99);
  CHECK(p99 >= 99000 && p99 <= 99000 * 1.02);
  uint64_t p999 = latency_histogram_quantile(&histogram, 0.999);
  CHECK(p999 >= 99900 && p999 <= 100000);
  CHECK_EQ_INT(latency_histogram_quantile(&histogram, 1.0), 100000);
}

static void test_merge_and_empty(void) {
  latency_histogram other;
  latency_histogram_reset(&histogram);
  latency_histogram_reset(&other);
  CHECK_EQ_INT(latency_histogram_quantile(&histogram, 0.5), 0);
  latency_histogram_record(&histogram, 10);
  latency_histogram_record(&other, 30);
  latency_histogram_merge(&histogram, &other);
  CHECK_EQ_INT(histogram.total, 2);
  CHECK_EQ_INT(histogram.max_us, 30);
  CHECK_EQ_INT(latency_histogram_quantile(&histogram, 1.0), 30);
  latency_histogram_record(&histogram, UINT64_MAX / 2); /* clamps to the last bucket */
  CHECK_EQ_INT(histogram.total, 3);
}

int main(void) {
  RUN(test_small_values_are_exact);
  RUN(test_large_values_within_two_percent);
  RUN(test_percentiles_of_a_uniform_spread);
  RUN(test_merge_and_empty);
  return testing_summary();
}
