/* Unit tests for the load generator's oracle and its table of requests in flight. */
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loadgen_expect.h"
#include "loadgen_pending.h"
#include "loadgen_seed.h"
#include "support.h"
#include "testing.h"

static const loadgen_venue mall = {"QR-MALL-0001", true, true, true, false};
static const loadgen_venue cinema = {"QR-CINEMA-0001", true, false, false, false};
static const loadgen_venue closed_office = {"QR-OFFICE-0001", true, true, true, true};

static bool expect(loadgen_colour colour, const loadgen_venue *venue, bool out, int error, int status,
                   int decision, int reason) {
  loadgen_answer answer = {error, status, decision, reason};
  return loadgen_expect_scan(colour, venue, out, &answer);
}

static void test_every_colour(void) {
  CHECK(expect(LOADGEN_GREEN, &mall, false, 0, 1, 1, 1));
  CHECK(expect(LOADGEN_GREEN, &mall, false, 0, 1, 2, 5)); /* capped: full is possible */
  CHECK(!expect(LOADGEN_GREEN, &cinema, false, 0, 1, 2, 5)); /* uncapped: never full */
  CHECK(expect(LOADGEN_YELLOW, &mall, false, 0, 2, 1, 1));
  CHECK(expect(LOADGEN_YELLOW, &cinema, false, 0, 2, 2, 2));
  CHECK(!expect(LOADGEN_YELLOW, &cinema, false, 0, 2, 1, 1));
  CHECK(expect(LOADGEN_RED, &mall, false, 0, 3, 2, 4));
  CHECK(!expect(LOADGEN_RED, &mall, false, 0, 3, 1, 1));
  CHECK(expect(LOADGEN_BLACK, &mall, false, 0, 4, 2, 3));
  CHECK(!expect(LOADGEN_BLACK, &mall, false, 0, 3, 2, 3)); /* wrong colour */
  CHECK(expect(LOADGEN_GREEN, &closed_office, false, 0, 1, 2, 5));
  CHECK(!expect(LOADGEN_GREEN, &closed_office, false, 0, 1, 1, 1));
}

static void test_check_out_and_errors(void) {
  CHECK(expect(LOADGEN_BLACK, &mall, true, 0, 4, 1, 7));
  CHECK(!expect(LOADGEN_GREEN, &mall, true, 0, 1, 1, 1));
  CHECK(!expect(LOADGEN_GREEN, &mall, false, 13, 0, 0, 0));
}

static void test_pending_add_find_remove_expire(void) {
  loadgen_pending *p = loadgen_pending_new(1000);
  loadgen_request *kept[1000];
  for (int i = 0; i < 1000; i++) {
    loadgen_request *r = loadgen_pending_add(p);
    CHECK(r != NULL);
    if (!r) return;
    randombytes_buf(r->request_id, 16); /* as partners make them */
    r->sent_us = (uint64_t)i;
    loadgen_pending_add_done(p, r);
    kept[i] = r;
  }
  CHECK(loadgen_pending_add(p) == NULL);
  for (int i = 0; i < 1000; i += 2) {
    CHECK(loadgen_pending_find(p, kept[i]->request_id) == kept[i]);
    loadgen_pending_remove(p, kept[i]);
  }
  CHECK_EQ_INT(loadgen_pending_count(p), 500);
  for (int i = 1; i < 1000; i += 2) CHECK(loadgen_pending_find(p, kept[i]->request_id) == kept[i]);
  loadgen_request *oldest = loadgen_pending_oldest_before(p, 100);
  CHECK(oldest == kept[1]);
  CHECK(loadgen_pending_oldest_before(p, 1) == NULL);
  loadgen_pending_free(p);
}

/* seed/people.csv: a header, blank and malformed lines are passed over. */
static void test_seed_people(void) {
  char dir[] = "/tmp/loadgen-seed-XXXXXX", path[128], err[256];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/seed", dir);
  CHECK(mkdir(path, 0700) == 0);
  snprintf(path, sizeof path, "%s/seed/people.csv", dir);
  CHECK(support_write_file(path, "nik,status\n3174000000000001,green\n\n317400000000002,red\n"
                                 "3174000000000003,black\n", 0600) == 0);
  loadgen_person *people = NULL;
  size_t count = 0;
  CHECK_EQ_INT(loadgen_seed_people(dir, &people, &count, err, sizeof err), 0);
  CHECK_EQ_INT(count, 2);
  CHECK(count == 2 && people[0].colour == LOADGEN_GREEN && people[1].colour == LOADGEN_BLACK);
  CHECK_EQ_STR(count == 2 ? people[1].nik : "", "3174000000000003");
  free(people);
  CHECK(support_write_file(path, "nik,status\n", 0600) == 0);
  CHECK_EQ_INT(loadgen_seed_people(dir, &people, &count, err, sizeof err), -1);
  CHECK_EQ_STR(err, "seed/people.csv holds no people");
  unlink(path);
  CHECK_EQ_INT(loadgen_seed_people(dir, &people, &count, err, sizeof err), -1);
  snprintf(path, sizeof path, "%s/seed", dir);
  rmdir(path);
  rmdir(dir);
}

#include "cpu_tests.inc"

int main(void) {
  RUN(test_every_colour);
  RUN(test_check_out_and_errors);
  RUN(test_pending_add_find_remove_expire);
  RUN(test_seed_people);
  RUN(test_cpu_parse_stat);
  RUN(test_cpu_parse_machine);
  RUN(test_cpu_samples_this_process);
  RUN(test_histogram_bucket_edges);
  return testing_summary();
}
