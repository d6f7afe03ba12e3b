/* metrics: counters, gauges and histograms kept in memory and rendered as
 * Prometheus text exposition format 0.0.4.
 *
 * Each family owns a fixed-size open-addressing table of series keyed by its
 * label value, so after a value is first seen an update is a hash lookup plus,
 * for histograms, a scan of the bucket bounds: no allocation on the hot path.
 * The number of distinct label values is bounded; later values are folded into
 * "other", malformed ones into "invalid", so a bug feeding user data into a
 * label can neither leak it nor grow memory without bound. */
#include "metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"

#define METRICS_LABEL_VALUE_MAX 64 /* characters in one label value */
#define METRICS_SERIES_MAX 64      /* distinct ordinary label values per family */
/* Two reserved series ("other", "invalid") on top; the table stays under
 * 55% full so probes stay short. */
#define METRICS_TABLE_SIZE 128
#define METRICS_BOUNDS_MAX 64

const double metrics_latency_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                          0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                          1,      2.5,     5,      10};
const size_t metrics_latency_bucket_count =
    sizeof(metrics_latency_buckets) / sizeof(metrics_latency_buckets[0]);

typedef enum { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM } metrics_type;

typedef struct metrics_series {
  char label_value[METRICS_LABEL_VALUE_MAX + 1];
  double value;     /* counter or gauge */
  uint64_t *counts; /* histogram: per bucket, not cumulative; bound_count + 1 */
  double sum;
  uint64_t count;
} metrics_series;

struct metrics_family {
  metrics_type type;
  char *name;
  char *help;
  char *label; /* NULL without a label */
  double *bounds;
  size_t bound_count;
  /* Series in first-seen order (rendered in that order). */
  metrics_series *series[METRICS_SERIES_MAX + 2];
  size_t series_count;
  size_t ordinary_count; /* series other than "other" and "invalid" */
  /* Hash table of indexes into series[] (+1; 0 means empty). */
  uint8_t table[METRICS_TABLE_SIZE];
};

struct metrics_registry {
  metrics_family **families;
  size_t count;
  size_t capacity;
};

metrics_registry *metrics_registry_new(void) {
  return calloc(1, sizeof(metrics_registry));
}

static void family_free(metrics_family *family) {
  for (size_t i = 0; i < family->series_count; i++) {
    free(family->series[i]->counts);
    free(family->series[i]);
  }
  free(family->name);
  free(family->help);
  free(family->label);
  free(family->bounds);
  free(family);
}

void metrics_registry_free(metrics_registry *registry) {
  if (!registry) return;
  for (size_t i = 0; i < registry->count; i++) family_free(registry->families[i]);
  free(registry->families);
  free(registry);
}

static bool name_valid(const char *name) {
  if (!name || !*name) return false;
  for (const char *p = name; *p; p++) {
    char c = *p;
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(p != name && c >= '0' && c <= '9')) return false;
  }
  return true;
}

/* Label names have no ':' and "__" is reserved for Prometheus itself. */
static bool label_name_valid(const char *label) {
  if (!label || !*label || strncmp(label, "__", 2) == 0) return false;
  for (const char *p = label; *p; p++) {
    char c = *p;
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(p != label && c >= '0' && c <= '9')) return false;
  }
  return true;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool label_value_valid(const char *value) {
  size_t n = 0;
  for (const char *p = value; *p; p++, n++) {
    char c = *p;
    if (n >= METRICS_LABEL_VALUE_MAX) return false;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  }
  return n > 0;
}

static metrics_family *family_add(metrics_registry *registry, metrics_type type, const char *name,
                                  const char *help, const char *label, const double *bounds,
                                  size_t bound_count) {
  if (!registry || !name_valid(name)) return NULL;
  if (label && !label_name_valid(label)) return NULL;
  if (type == METRICS_COUNTER && !ends_with(name, "_total")) return NULL;
  if (type == METRICS_HISTOGRAM) {
    if (label && strcmp(label, "le") == 0) return NULL;
    if (bound_count > METRICS_BOUNDS_MAX || (bound_count > 0 && !bounds)) return NULL;
    for (size_t i = 0; i < bound_count; i++) {
      if (!isfinite(bounds[i])) return NULL;
      if (i > 0 && !(bounds[i] > bounds[i - 1])) return NULL;
    }
  }
  for (size_t i = 0; i < registry->count; i++) {
    if (strcmp(registry->families[i]->name, name) == 0) return NULL;
  }
  if (registry->count == registry->capacity) {
    size_t capacity = registry->capacity ? registry->capacity * 2 : 16;
    metrics_family **grown = realloc(registry->families, capacity * sizeof(*grown));
    if (!grown) return NULL;
    registry->families = grown;
    registry->capacity = capacity;
  }
  metrics_family *family = calloc(1, sizeof(*family));
  if (!family) return NULL;
  family->type = type;
  family->name = strdup(name);
  family->help = strdup(help ? help : "");
  family->label = label ? strdup(label) : NULL;
  if (type == METRICS_HISTOGRAM && bound_count > 0) {
    family->bounds = malloc(bound_count * sizeof(double));
    if (family->bounds) memcpy(family->bounds, bounds, bound_count * sizeof(double));
  }
  family->bound_count = type == METRICS_HISTOGRAM ? bound_count : 0;
  if (!family->name || !family->help || (label && !family->label) ||
      (family->bound_count > 0 && !family->bounds)) {
    family_free(family);
    return NULL;
  }
  registry->families[registry->count++] = family;
  return family;
}

metrics_family *metrics_counter(metrics_registry *registry, const char *name, const char *help,
                                const char *label) {
  return family_add(registry, METRICS_COUNTER, name, help, label, NULL, 0);
}

metrics_family *metrics_gauge(metrics_registry *registry, const char *name, const char *help,
                              const char *label) {
  return family_add(registry, METRICS_GAUGE, name, help, label, NULL, 0);
}

metrics_family *metrics_histogram(metrics_registry *registry, const char *name, const char *help,
                                  const char *label, const double *bounds, size_t bound_count) {
  return family_add(registry, METRICS_HISTOGRAM, name, help, label, bounds, bound_count);
}

static uint32_t hash_text(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

static metrics_series *series_lookup_or_add(metrics_family *family, const char *value) {
  uint32_t slot = hash_text(value) % METRICS_TABLE_SIZE;
  for (;;) {
    uint8_t index = family->table[slot];
    if (index == 0) break;
    metrics_series *series = family->series[index - 1];
    if (strcmp(series->label_value, value) == 0) return series;
    slot = (slot + 1) % METRICS_TABLE_SIZE;
  }
  if (family->series_count >= METRICS_SERIES_MAX + 2) return NULL;
  metrics_series *series = calloc(1, sizeof(*series));
  if (!series) return NULL;
  if (family->type == METRICS_HISTOGRAM) {
    series->counts = calloc(family->bound_count + 1, sizeof(uint64_t));
    if (!series->counts) {
      free(series);
      return NULL;
    }
  }
  snprintf(series->label_value, sizeof(series->label_value), "%s", value);
  family->series[family->series_count++] = series;
  family->table[slot] = (uint8_t)family->series_count;
  return series;
}

static bool series_exists(const metrics_family *family, const char *value) {
  uint32_t slot = hash_text(value) % METRICS_TABLE_SIZE;
  for (uint8_t index; (index = family->table[slot]) != 0; slot = (slot + 1) % METRICS_TABLE_SIZE) {
    if (strcmp(family->series[index - 1]->label_value, value) == 0) return true;
  }
  return false;
}

/* Maps a caller's label value to its series, applying validation and the
 * cap on distinct values. Unlabelled families use one series keyed "". */
static metrics_series *series_for(metrics_family *family, const char *label_value) {
  if (!family->label) return series_lookup_or_add(family, "");
  if (!label_value || !label_value_valid(label_value)) {
    return series_lookup_or_add(family, "invalid");
  }
  bool reserved = strcmp(label_value, "other") == 0 || strcmp(label_value, "invalid") == 0;
  if (!reserved && family->ordinary_count >= METRICS_SERIES_MAX &&
      !series_exists(family, label_value)) {
    return series_lookup_or_add(family, "other");
  }
  size_t before = family->series_count;
  metrics_series *series = series_lookup_or_add(family, label_value);
  if (series && !reserved && family->series_count > before) family->ordinary_count++;
  return series;
}

void metrics_add(metrics_family *family, const char *label_value, double amount) {
  if (!family || family->type == METRICS_HISTOGRAM || isnan(amount)) return;
  /* Counters only go up; a negative increment is a caller bug, ignored. */
  if (family->type == METRICS_COUNTER && amount < 0) return;
  metrics_series *series = series_for(family, label_value);
  if (series) series->value += amount;
}

void metrics_set(metrics_family *family, const char *label_value, double value) {
  if (!family || family->type != METRICS_GAUGE) return;
  metrics_series *series = series_for(family, label_value);
  if (series) series->value = value;
}

void metrics_observe(metrics_family *family, const char *label_value, double value) {
  if (!family || family->type != METRICS_HISTOGRAM || isnan(value)) return;
  metrics_series *series = series_for(family, label_value);
  if (!series) return;
  size_t bucket = 0;
  while (bucket < family->bound_count && value > family->bounds[bucket]) bucket++;
  series->counts[bucket]++;
  series->sum += value;
  series->count++;
}

/* The shortest of %.15g/%.17g that reads back to the same double, so
 * 0.1 prints as "0.1" and nothing loses precision. */
static void format_double(double value, char *out, size_t out_len) {
  if (isnan(value)) {
    snprintf(out, out_len, "NaN");
  } else if (isinf(value)) {
    snprintf(out, out_len, "%s", value > 0 ? "+Inf" : "-Inf");
  } else {
    snprintf(out, out_len, "%.15g", value);
    if (strtod(out, NULL) != value) snprintf(out, out_len, "%.17g", value);
  }
}

static void render_double(buffer *out, double value) {
  char text[40];
  format_double(value, text, sizeof(text));
  buffer_puts(out, text);
}

static void render_u64(buffer *out, uint64_t value) {
  char text[24];
  int n = snprintf(text, sizeof(text), "%llu", (unsigned long long)value);
  buffer_append(out, text, (size_t)n);
}

static void render_help(buffer *out, const char *help) {
  for (const char *p = help; *p; p++) {
    if (*p == '\\') {
      buffer_puts(out, "\\\\");
    } else if (*p == '\n') {
      buffer_puts(out, "\\n");
    } else {
      buffer_append(out, p, 1);
    }
  }
}

/* Writes `name<suffix>{label="value",extra}` up to and including the space
 * before the sample value. Label values were validated, so need no escaping. */
static void render_sample_name(buffer *out, const metrics_family *family,
                               const char *suffix, const metrics_series *series,
                               const char *extra) {
  buffer_puts(out, family->name);
  buffer_puts(out, suffix);
  bool labelled = family->label != NULL;
  if (labelled || extra) {
    buffer_puts(out, "{");
    if (labelled) {
      buffer_puts(out, family->label);
      buffer_puts(out, "=\"");
      buffer_puts(out, series->label_value);
      buffer_puts(out, "\"");
    }
    if (extra) {
      if (labelled) buffer_puts(out, ",");
      buffer_puts(out, extra);
    }
    buffer_puts(out, "}");
  }
  buffer_puts(out, " ");
}

static void render_histogram_series(buffer *out, const metrics_family *family,
                                    const metrics_series *series) {
  uint64_t cumulative = 0;
  char extra[64];
  for (size_t i = 0; i <= family->bound_count; i++) {
    char bound[40];
    if (i < family->bound_count) {
      format_double(family->bounds[i], bound, sizeof(bound));
    } else {
      snprintf(bound, sizeof(bound), "+Inf");
    }
    cumulative += series->counts[i];
    snprintf(extra, sizeof(extra), "le=\"%s\"", bound);
    render_sample_name(out, family, "_bucket", series, extra);
    render_u64(out, cumulative);
    buffer_puts(out, "\n");
  }
  render_sample_name(out, family, "_sum", series, NULL);
  render_double(out, series->sum);
  buffer_puts(out, "\n");
  render_sample_name(out, family, "_count", series, NULL);
  render_u64(out, series->count);
  buffer_puts(out, "\n");
}

static void render_family(buffer *out, const metrics_family *family) {
  static const char *const type_names[] = {"counter", "gauge", "histogram"};
  buffer_puts(out, "# HELP ");
  buffer_puts(out, family->name);
  buffer_puts(out, " ");
  render_help(out, family->help);
  buffer_puts(out, "\n# TYPE ");
  buffer_puts(out, family->name);
  buffer_puts(out, " ");
  buffer_puts(out, type_names[family->type]);
  buffer_puts(out, "\n");

  /* An unlabelled family shows its zero from the start, so rates work from
   * the first scrape; a labelled one has no series until a value is seen. */
  metrics_series zero = {0};
  uint64_t zero_counts[METRICS_BOUNDS_MAX + 1] = {0};
  zero.counts = zero_counts;
  size_t count = family->series_count;
  if (!family->label && count == 0) count = 1;
  for (size_t i = 0; i < count; i++) {
    const metrics_series *series = family->series_count > 0 ? family->series[i] : &zero;
    if (family->type == METRICS_HISTOGRAM) {
      render_histogram_series(out, family, series);
    } else {
      render_sample_name(out, family, "", series, NULL);
      render_double(out, series->value);
      buffer_puts(out, "\n");
    }
  }
}

char *metrics_render(const metrics_registry *registry, size_t *len) {
  buffer out = {0};
  buffer_append(&out, "", 0);
  if (registry) {
    for (size_t i = 0; i < registry->count; i++) render_family(&out, registry->families[i]);
  }
  if (out.failed) {
    buffer_free(&out);
    if (len) *len = 0;
    return NULL;
  }
  if (len) *len = out.len;
  return out.data;
}
