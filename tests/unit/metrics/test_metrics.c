/* Unit tests for metrics: exact text exposition output, label validation and
 * the cap on label values, name rules. `unit_metrics render-sample` prints a
 * realistic registry for promtool.sh to lint. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "testing.h"

static char *render(const metrics_registry *registry) {
  size_t len = 0;
  char *text = metrics_render(registry, &len);
  CHECK(text != NULL);
  if (text) CHECK_EQ_INT(strlen(text), len);
  return text;
}

static void test_render_small_registry(void) {
  metrics_registry *r = metrics_registry_new();
  metrics_family *plain = metrics_counter(r, "app_events_total", "Events seen.", NULL);
  metrics_family *labelled =
      metrics_counter(r, "app_requests_total", "Requests by outcome.", "outcome");
  metrics_family *gauge = metrics_gauge(r, "app_queue_depth", "Queued items.", NULL);
  const double bounds[] = {0.125, 1};
  metrics_family *hist = metrics_histogram(r, "app_latency_seconds", "Latency.", NULL, bounds, 2);
  CHECK(plain && labelled && gauge && hist);

  metrics_add(plain, NULL, 1);
  metrics_add(plain, NULL, 2.5);
  metrics_add(labelled, "ok", 1);
  metrics_add(labelled, "rejected", 2);
  metrics_add(labelled, "ok", 1);
  metrics_set(gauge, NULL, 7);
  metrics_add(gauge, NULL, -2);
  metrics_observe(hist, NULL, 0.0625);
  metrics_observe(hist, NULL, 0.5);
  metrics_observe(hist, NULL, 2);
  metrics_observe(hist, NULL, 0.125); /* le is inclusive */

  char *text = render(r);
  CHECK_EQ_STR(text,
               "# HELP app_events_total Events seen.\n"
               "# TYPE app_events_total counter\n"
               "app_events_total 3.5\n"
               "# HELP app_requests_total Requests by outcome.\n"
               "# TYPE app_requests_total counter\n"
               "app_requests_total{outcome=\"ok\"} 2\n"
               "app_requests_total{outcome=\"rejected\"} 2\n"
               "# HELP app_queue_depth Queued items.\n"
               "# TYPE app_queue_depth gauge\n"
               "app_queue_depth 5\n"
               "# HELP app_latency_seconds Latency.\n"
               "# TYPE app_latency_seconds histogram\n"
               "app_latency_seconds_bucket{le=\"0.125\"} 2\n"
               "app_latency_seconds_bucket{le=\"1\"} 3\n"
               "app_latency_seconds_bucket{le=\"+Inf\"} 4\n"
               "app_latency_seconds_sum 2.6875\n"
               "app_latency_seconds_count 4\n");
  free(text);
  metrics_registry_free(r);
}

static void test_render_unused_families(void) {
  metrics_registry *r = metrics_registry_new();
  metrics_counter(r, "a_total", "Plain.", NULL);
  metrics_counter(r, "b_total", "Labelled.", "code");
  const double bounds[] = {1};
  metrics_histogram(r, "c_seconds", "Labelled histogram.", "stage", bounds, 1);
  metrics_histogram(r, "d_seconds", "Plain histogram.", NULL, bounds, 1);
  char *text = render(r);
  /* Unlabelled families show zeros; labelled ones have no series yet. */
  CHECK_EQ_STR(text,
               "# HELP a_total Plain.\n"
               "# TYPE a_total counter\n"
               "a_total 0\n"
               "# HELP b_total Labelled.\n"
               "# TYPE b_total counter\n"
               "# HELP c_seconds Labelled histogram.\n"
               "# TYPE c_seconds histogram\n"
               "# HELP d_seconds Plain histogram.\n"
               "# TYPE d_seconds histogram\n"
               "d_seconds_bucket{le=\"1\"} 0\n"
               "d_seconds_bucket{le=\"+Inf\"} 0\n"
               "d_seconds_sum 0\n"
               "d_seconds_count 0\n");
  free(text);
  metrics_registry_free(r);
}

static void test_labelled_histogram(void) {
  metrics_registry *r = metrics_registry_new();
  const double bounds[] = {0.5};
  metrics_family *h = metrics_histogram(r, "job_seconds", "Jobs.", "stage", bounds, 1);
  metrics_observe(h, "decrypt", 0.25);
  metrics_observe(h, "lookup", 1);
  char *text = render(r);
  CHECK_EQ_STR(text,
               "# HELP job_seconds Jobs.\n"
               "# TYPE job_seconds histogram\n"
               "job_seconds_bucket{stage=\"decrypt\",le=\"0.5\"} 1\n"
               "job_seconds_bucket{stage=\"decrypt\",le=\"+Inf\"} 1\n"
               "job_seconds_sum{stage=\"decrypt\"} 0.25\n"
               "job_seconds_count{stage=\"decrypt\"} 1\n"
               "job_seconds_bucket{stage=\"lookup\",le=\"0.5\"} 0\n"
               "job_seconds_bucket{stage=\"lookup\",le=\"+Inf\"} 1\n"
               "job_seconds_sum{stage=\"lookup\"} 1\n"
               "job_seconds_count{stage=\"lookup\"} 1\n");
  free(text);
  metrics_registry_free(r);
}

static void test_help_escaping(void) {
  metrics_registry *r = metrics_registry_new();
  metrics_gauge(r, "g", "line one\nback\\slash \"quoted\"", NULL);
  char *text = render(r);
  CHECK_EQ_STR(text,
               "# HELP g line one\\nback\\\\slash \"quoted\"\n"
               "# TYPE g gauge\n"
               "g 0\n");
  free(text);
  metrics_registry_free(r);
}

static void test_float_formatting(void) {
  metrics_registry *r = metrics_registry_new();
  metrics_family *g = metrics_gauge(r, "g", "Values.", "case");
  metrics_set(g, "tenth", 0.1);
  metrics_set(g, "third", 1.0 / 3.0);
  metrics_set(g, "big", 1e21);
  metrics_set(g, "small", 0.0001);
  metrics_set(g, "neg", -42);
  metrics_set(g, "inf", INFINITY);
  metrics_set(g, "ninf", -INFINITY);
  metrics_set(g, "nan", NAN);
  char *text = render(r);
  CHECK_EQ_STR(text,
               "# HELP g Values.\n"
               "# TYPE g gauge\n"
               "g{case=\"tenth\"} 0.1\n"
               "g{case=\"third\"} 0.33333333333333331\n"
               "g{case=\"big\"} 1e+21\n"
               "g{case=\"small\"} 0.0001\n"
               "g{case=\"neg\"} -42\n"
               "g{case=\"inf\"} +Inf\n"
               "g{case=\"ninf\"} -Inf\n"
               "g{case=\"nan\"} NaN\n");
  free(text);
  metrics_registry_free(r);
}

static void test_label_validation(void) {
  metrics_registry *r = metrics_registry_new();
  metrics_family *c = metrics_counter(r, "x_total", "X.", "code");
  char long_ok[65], too_long[66];
  memset(long_ok, 'a', 64);
  long_ok[64] = '\0';
  memset(too_long, 'b', 65);
  too_long[65] = '\0';
  metrics_add(c, "ok-1.v_2", 1);         /* every allowed character class */
  metrics_add(c, long_ok, 1);            /* 64 characters: allowed */
  metrics_add(c, too_long, 1);           /* 65: invalid */
  metrics_add(c, "Upper", 1);            /* upper case: invalid */
  metrics_add(c, "has space", 1);        /* invalid */
  metrics_add(c, "quote\"", 1);          /* would break the text format: invalid */
  metrics_add(c, "", 1);                 /* empty: invalid */
  metrics_add(c, NULL, 1);               /* missing: invalid */
  metrics_add(c, "3201012345678901", 1); /* digits are fine: the caller's duty */
  char *text = render(r);
  char expected[1024];
  snprintf(expected, sizeof(expected),
           "# HELP x_total X.\n"
           "# TYPE x_total counter\n"
           "x_total{code=\"ok-1.v_2\"} 1\n"
           "x_total{code=\"%s\"} 1\n"
           "x_total{code=\"invalid\"} 6\n"
           "x_total{code=\"3201012345678901\"} 1\n",
           long_ok);
  CHECK_EQ_STR(text, expected);
  free(text);
  metrics_registry_free(r);
}

static void test_label_value_cap(void) {
  metrics_registry *r = metrics_registry_new();
  metrics_family *c = metrics_counter(r, "y_total", "Y.", "partner");
  char value[16];
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 70; i++) {
      snprintf(value, sizeof(value), "p%d", i);
      metrics_add(c, value, 1);
    }
  }
  metrics_add(c, "BAD", 1);
  char *text = render(r);
  CHECK(text && strstr(text, "y_total{partner=\"p0\"} 2\n"));
  CHECK(text && strstr(text, "y_total{partner=\"p63\"} 2\n"));
  CHECK(text && strstr(text, "y_total{partner=\"p64\"}") == NULL);
  CHECK(text && strstr(text, "y_total{partner=\"other\"} 12\n"));
  CHECK(text && strstr(text, "y_total{partner=\"invalid\"} 1\n"));
  int lines = 0;
  for (const char *p = text; p && *p; p++) lines += *p == '\n';
  CHECK_EQ_INT(lines, 2 + 64 + 2);
  free(text);
  metrics_registry_free(r);
}

static void test_name_rules(void) {
  metrics_registry *r = metrics_registry_new();
  const double bounds[] = {1, 2};
  const double unsorted[] = {2, 1};
  CHECK(metrics_counter(r, "requests", "No _total.", NULL) == NULL);
  CHECK(metrics_counter(r, "requests_totals", "Wrong suffix.", NULL) == NULL);
  CHECK(metrics_counter(r, "requests_total", "Good.", NULL) != NULL);
  CHECK(metrics_counter(r, "requests_total", "Duplicate.", NULL) == NULL);
  CHECK(metrics_gauge(r, "requests_total", "Duplicate across types.", NULL) == NULL);
  CHECK(metrics_gauge(r, "9lives", "Leading digit.", NULL) == NULL);
  CHECK(metrics_gauge(r, "has-dash", "Dash.", NULL) == NULL);
  CHECK(metrics_gauge(r, "", "Empty.", NULL) == NULL);
  CHECK(metrics_gauge(r, NULL, "Null.", NULL) == NULL);
  CHECK(metrics_gauge(r, "ns:sub_name_1", "Colons allowed.", NULL) != NULL);
  CHECK(metrics_gauge(r, "g_label", "Bad label.", "bad-label") == NULL);
  CHECK(metrics_gauge(r, "g_label", "Reserved label.", "__name") == NULL);
  CHECK(metrics_gauge(r, "g_label", "Good label.", "partner_id") != NULL);
  CHECK(metrics_histogram(r, "h_seconds", "Unsorted.", NULL, unsorted, 2) == NULL);
  CHECK(metrics_histogram(r, "h_seconds", "le label.", "le", bounds, 2) == NULL);
  CHECK(metrics_histogram(r, "h_seconds", "Good.", NULL, bounds, 2) != NULL);
  CHECK(metrics_counter(NULL, "a_total", "No registry.", NULL) == NULL);
  metrics_registry_free(r);
}

static void test_wrong_operations_ignored(void) {
  metrics_registry *r = metrics_registry_new();
  metrics_family *c = metrics_counter(r, "c_total", "C.", NULL);
  metrics_family *h = metrics_histogram(r, "h_seconds", "H.", NULL, NULL, 0);
  CHECK(h != NULL);
  metrics_add(c, NULL, -5); /* counters never go down */
  metrics_add(c, NULL, NAN);
  metrics_set(c, NULL, 100); /* set is for gauges */
  metrics_add(h, NULL, 1);
  metrics_observe(c, NULL, 1);
  metrics_observe(h, NULL, 3);
  metrics_add(NULL, NULL, 1); /* a family that failed to register */
  char *text = render(r);
  CHECK_EQ_STR(text,
               "# HELP c_total C.\n"
               "# TYPE c_total counter\n"
               "c_total 0\n"
               "# HELP h_seconds H.\n"
               "# TYPE h_seconds histogram\n"
               "h_seconds_bucket{le=\"+Inf\"} 1\n"
               "h_seconds_sum 3\n"
               "h_seconds_count 1\n");
  free(text);
  metrics_registry_free(r);
}

static void test_empty_registry_and_buckets(void) {
  metrics_registry *r = metrics_registry_new();
  char *text = render(r);
  CHECK_EQ_STR(text, "");
  free(text);
  metrics_registry_free(r);
  metrics_registry_free(NULL);

  CHECK_EQ_INT(metrics_latency_bucket_count, 16);
  CHECK(metrics_latency_buckets[0] == 0.0001);
  CHECK(metrics_latency_buckets[metrics_latency_bucket_count - 1] == 10);
  for (size_t i = 1; i < metrics_latency_bucket_count; i++) {
    CHECK(metrics_latency_buckets[i] > metrics_latency_buckets[i - 1]);
  }
}

/* A registry shaped like a service's, for promtool. */
static int render_sample(void) {
  metrics_registry *r = metrics_registry_new();
  metrics_family *requests = metrics_counter(r, "lindung_scan_requests_total",
                                             "Scan requests consumed, by outcome.", "outcome");
  metrics_family *errors =
      metrics_counter(r, "lindung_errors_total", "Errors by code.\nSee docs\\errors.", "code");
  metrics_family *dead = metrics_counter(r, "lindung_dead_letters_total",
                                         "Records sent to the dead-letter topic.", NULL);
  metrics_family *inflight =
      metrics_gauge(r, "lindung_inflight_requests", "Requests being processed.", NULL);
  metrics_family *lag =
      metrics_gauge(r, "lindung_consumer_lag_messages", "Consumer lag by partition.", "partition");
  metrics_family *latency =
      metrics_histogram(r, "lindung_scan_processing_seconds", "Time from consume to produce.",
                        "stage", metrics_latency_buckets, metrics_latency_bucket_count);
  metrics_family *batch =
      metrics_histogram(r, "lindung_db_batch_duration_seconds", "PostgreSQL batch round trip.",
                        NULL, metrics_latency_buckets, metrics_latency_bucket_count);
  if (!requests || !errors || !dead || !inflight || !lag || !latency || !batch) {
    fprintf(stderr, "render-sample: registration failed\n");
    metrics_registry_free(r);
    return 1;
  }
  metrics_add(requests, "allowed", 1234);
  metrics_add(requests, "denied", 17);
  metrics_add(requests, "Not Valid!", 1);
  metrics_add(errors, "bad_signature", 3);
  metrics_add(dead, NULL, 2);
  metrics_set(inflight, NULL, 5);
  metrics_set(lag, "0", 12);
  metrics_set(lag, "1", 0);
  const char *stages[] = {"decrypt", "resolve", "sign"};
  for (int i = 0; i < 300; i++) {
    metrics_observe(latency, stages[i % 3], 0.00005 * (i + 1));
    metrics_observe(batch, NULL, 0.001 * (i % 40));
  }
  metrics_observe(batch, NULL, 42);
  size_t len = 0;
  char *text = metrics_render(r, &len);
  metrics_registry_free(r);
  if (!text) return 1;
  fwrite(text, 1, len, stdout);
  free(text);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "render-sample") == 0) return render_sample();
  RUN(test_render_small_registry);
  RUN(test_render_unused_families);
  RUN(test_labelled_histogram);
  RUN(test_help_escaping);
  RUN(test_float_formatting);
  RUN(test_label_validation);
  RUN(test_label_value_cap);
  RUN(test_name_rules);
  RUN(test_wrong_operations_ignored);
  RUN(test_empty_registry_and_buckets);
  return testing_summary();
}
