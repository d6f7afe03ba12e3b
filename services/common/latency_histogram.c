/* latency_histogram: log-linear buckets (see latency_histogram.h). */
#include "latency_histogram.h"

#include <string.h>

#define SUB_COUNT (1u << LATENCY_HISTOGRAM_SUB_BITS)

static unsigned latency_histogram_index(uint64_t micros) {
  if (micros < SUB_COUNT) return (unsigned)micros;
  unsigned magnitude = 63u - (unsigned)__builtin_clzll(micros); /* >= SUB_BITS */
  unsigned shift = magnitude - LATENCY_HISTOGRAM_SUB_BITS;
  unsigned index = ((shift + 1) << LATENCY_HISTOGRAM_SUB_BITS) + (unsigned)((micros >> shift) - SUB_COUNT);
  return index < LATENCY_HISTOGRAM_BUCKETS ? index : LATENCY_HISTOGRAM_BUCKETS - 1;
}

static uint64_t latency_histogram_upper_edge(unsigned index) {
  if (index < SUB_COUNT) return index;
  unsigned shift = (index >> LATENCY_HISTOGRAM_SUB_BITS) - 1;
  uint64_t mantissa = SUB_COUNT + (index & (SUB_COUNT - 1));
  return ((mantissa + 1) << shift) - 1;
}

uint64_t latency_histogram_bucket_upper(unsigned index) {
  return latency_histogram_upper_edge(index < LATENCY_HISTOGRAM_BUCKETS ? index : LATENCY_HISTOGRAM_BUCKETS - 1);
}

void latency_histogram_reset(latency_histogram *histogram) {
  memset(histogram, 0, sizeof *histogram);
}

void latency_histogram_record(latency_histogram *histogram, uint64_t micros) {
  histogram->counts[latency_histogram_index(micros)]++;
  histogram->total++;
  histogram->sum_us += (double)micros;
  if (micros > histogram->max_us) histogram->max_us = micros;
}

void latency_histogram_merge(latency_histogram *into, const latency_histogram *from) {
  for (unsigned i = 0; i < LATENCY_HISTOGRAM_BUCKETS; i++) into->counts[i] += from->counts[i];
  into->total += from->total;
  into->sum_us += from->sum_us;
  if (from->max_us > into->max_us) into->max_us = from->max_us;
}

uint64_t latency_histogram_quantile(const latency_histogram *histogram, double q) {
  if (!histogram->total) return 0;
  uint64_t rank = (uint64_t)(q * (double)histogram->total + 0.5);
  if (rank < 1) rank = 1;
  if (rank > histogram->total) rank = histogram->total;
  uint64_t seen = 0;
  for (unsigned i = 0; i < LATENCY_HISTOGRAM_BUCKETS; i++) {
    seen += histogram->counts[i];
    if (seen >= rank) {
      uint64_t edge = latency_histogram_upper_edge(i);
      return edge < histogram->max_us ? edge : histogram->max_us;
    }
  }
  return histogram->max_us;
}
