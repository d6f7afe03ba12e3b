/* metrics: a registry of counters, gauges and histograms printed as
 * Prometheus text exposition format (0.0.4) that `promtool check metrics`
 * accepts.
 *
 * A family has at most one label, whose values must come from a small fixed
 * set (an outcome, an error code, a partner id): never a NIK, token or name.
 * Label values are validated ([a-z0-9_.-], at most 64 characters);
 * anything else is counted under "invalid".
 *
 * Prefix metrics_. Single-threaded: call from the loop thread only. */
#ifndef LINDUNG_METRICS_H
#define LINDUNG_METRICS_H

#include <stddef.h>

typedef struct metrics_registry metrics_registry;
typedef struct metrics_family metrics_family;

metrics_registry *metrics_registry_new(void);
void metrics_registry_free(metrics_registry *registry);

/* name must end in _total for counters. label may be NULL (no label). */
metrics_family *metrics_counter(metrics_registry *registry, const char *name, const char *help,
                                const char *label);
metrics_family *metrics_gauge(metrics_registry *registry, const char *name, const char *help,
                              const char *label);
/* bounds: ascending upper bounds (seconds, for durations); +Inf is implied. */
metrics_family *metrics_histogram(metrics_registry *registry, const char *name, const char *help,
                                  const char *label, const double *bounds, size_t bound_count);

/* label_value is NULL for families without a label. */
void metrics_add(metrics_family *family, const char *label_value, double amount);
void metrics_set(metrics_family *family, const char *label_value, double value);
void metrics_observe(metrics_family *family, const char *label_value, double value);

/* Appends the whole registry in text format to a malloc'd string. */
char *metrics_render(const metrics_registry *registry, size_t *len);

/* Default buckets for processing times in seconds (100 us .. 10 s). */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_bucket_count;

#endif
