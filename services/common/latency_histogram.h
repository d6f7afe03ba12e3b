/* latency_histogram: a log-linear histogram of durations in microseconds,
 * precise to about 1.6% (64 sub-buckets per power of two) from 1 us to
 * about 18 hours, in fixed memory, for benchmarks and the demo's table.
 * Prefix latency_histogram_. */
#ifndef LINDUNG_LATENCY_HISTOGRAM_H
#define LINDUNG_LATENCY_HISTOGRAM_H

#include <stdint.h>

#define LATENCY_HISTOGRAM_SUB_BITS 6
#define LATENCY_HISTOGRAM_BUCKETS ((36 - LATENCY_HISTOGRAM_SUB_BITS + 1) << LATENCY_HISTOGRAM_SUB_BITS)

typedef struct latency_histogram {
  uint64_t counts[LATENCY_HISTOGRAM_BUCKETS];
  uint64_t total;
  uint64_t max_us;
  double sum_us;
} latency_histogram;

void latency_histogram_reset(latency_histogram *histogram);
void latency_histogram_record(latency_histogram *histogram, uint64_t micros);
void latency_histogram_merge(latency_histogram *into, const latency_histogram *from);
/* Largest value (us) that falls into bucket index, for dumping a histogram. */
uint64_t latency_histogram_bucket_upper(unsigned index);
/* The value at quantile q (0..1), as the upper edge of its bucket; 0 when empty. */
uint64_t latency_histogram_quantile(const latency_histogram *histogram, double q);

#endif
