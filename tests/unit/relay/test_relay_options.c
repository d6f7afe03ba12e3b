/* Unit tests for lindung-relay's command line (tools/relay-baseline) and the
 * open-loop pacing it shares with lindung-loadgen (loadgen_pace). */
#include <sodium.h>

#include "loadgen_pace.h"
#include "relay.h"
#include "testing.h"

static void test_sizes(void) {
  size_t sizes[RELAY_MAX_HOPS + 1] = {0};
  CHECK_EQ_INT(relay_parse_sizes("100,200", sizes), 0);
  /* Hops without a size of their own keep the last one given. */
  CHECK(sizes[0] == 100 && sizes[1] == 200 && sizes[2] == 200 && sizes[RELAY_MAX_HOPS] == 200);
  CHECK_EQ_INT(relay_parse_sizes("15", sizes), -1);
  CHECK_EQ_INT(relay_parse_sizes("16,4097", sizes), -1);
  CHECK_EQ_INT(relay_parse_sizes("16,16,16,16,16,16,16,16,16,16", sizes), -1);
}

static void test_options(void) {
  relay_options opt;
  relay_options_init(&opt);
  char *args[] = {"lindung-relay", "--hops", "2", "--rate", "50", "--sizes", "300", NULL};
  CHECK_EQ_INT(relay_options_parse(&opt, 7, args), 0);
  CHECK(opt.hops == 2 && opt.rate == 50 && opt.sizes[0] == 300 && opt.sizes[2] == 300);
  CHECK_EQ_STR(opt.prefix, "bench.relay");
  relay_options_init(&opt);
  char *too_many[] = {"lindung-relay", "--hops", "9", NULL};
  CHECK_EQ_INT(relay_options_parse(&opt, 3, too_many), 2);
}

static void test_poisson_gaps(void) {
  /* The mean gap of a Poisson process is 1/rate: 1,000 us at 1,000/s. */
  double total = 0;
  for (int i = 0; i < 100000; i++) total += (double)loadgen_poisson_gap_us(1000);
  double mean = total / 100000;
  CHECK(mean > 950 && mean < 1050);
}

static int pumped_ms = -1;
static void record_pump(int wait_ms) { pumped_ms = wait_ms; }

static void test_wait_until(void) {
  /* A far send is served by short polls; a due one by a poll that does not wait. */
  loadgen_wait_until(loadgen_now_us() + 1000000, record_pump);
  CHECK_EQ_INT(pumped_ms, 2);
  uint64_t due = loadgen_now_us() + 500;
  loadgen_wait_until(due, record_pump);
  CHECK_EQ_INT(pumped_ms, 0);
  CHECK(loadgen_now_us() >= due);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_sizes);
  RUN(test_options);
  RUN(test_poisson_gaps);
  RUN(test_wait_until);
  return testing_summary();
}
