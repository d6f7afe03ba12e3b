/* Unit tests for the pure parts of lindung-revocation-bench
 * (tools/revocation-bench): its quantiles and the NIK file it reads. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "revbench.h"
#include "testing.h"

static void test_quantiles(void) {
  double v[] = {5, 1, 4, 2, 3};
  CHECK(revbench_quantile(v, 5, 0.5) == 3);
  CHECK(revbench_quantile(v, 5, 0) == 1);
  CHECK(revbench_quantile(v, 5, 1) == 5);
  /* Nearest rank: 0.99 of five values is the largest. */
  CHECK(revbench_quantile(v, 5, 0.99) == 5);
  double one[] = {7};
  CHECK(revbench_quantile(one, 1, 0.99) == 7);
}

static int nik_from(const char *text, char nik[REVBENCH_NIK_BUFFER]) {
  char path[] = "/tmp/revbench-nik-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return -2;
  FILE *f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
  int rc = revbench_read_nik(path, nik);
  unlink(path);
  return rc;
}

static void test_nik_file(void) {
  char nik[REVBENCH_NIK_BUFFER];
  CHECK_EQ_INT(nik_from("3174012345678901\n", nik), 0);
  CHECK_EQ_STR(nik, "3174012345678901");
  CHECK_EQ_INT(nik_from("3174012345678901\r\n", nik), 0);
  CHECK_EQ_INT(nik_from("317401234567890\n", nik), -1);
  CHECK_EQ_INT(nik_from("31740123456789012\n", nik), -1);
  CHECK_EQ_INT(nik_from("", nik), -1);
  CHECK_EQ_INT(revbench_read_nik("/nonexistent/nik", nik), -1);
}

int main(void) {
  RUN(test_quantiles);
  RUN(test_nik_file);
  return testing_summary();
}
