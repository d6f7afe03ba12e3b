/* A small test harness: one function per behaviour, listed in main().
 *
 *   static void test_hex_round_trip(void) { CHECK(...); CHECK_EQ_INT(a, b); }
 *   int main(void) { RUN(test_hex_round_trip); return testing_summary(); }
 */
#ifndef LINDUNG_TESTING_H
#define LINDUNG_TESTING_H

#include <stdio.h>
#include <string.h>

static int testing_failures;
static int testing_checks;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    testing_checks++;                                                                \
    if (!(cond)) {                                                                   \
      testing_failures++;                                                            \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);      \
    }                                                                                \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                           \
  do {                                                                               \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);                  \
    testing_checks++;                                                                \
    if (check_a_ != check_b_) {                                                      \
      testing_failures++;                                                            \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, \
              #a, #b, check_a_, check_b_);                                           \
    }                                                                                \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                           \
  do {                                                                               \
    const char *check_a_ = (a), *check_b_ = (b);                                     \
    testing_checks++;                                                                \
    if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                 \
      testing_failures++;                                                            \
      fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,       \
              __LINE__, #a, #b, check_a_ ? check_a_ : "(null)",                      \
              check_b_ ? check_b_ : "(null)");                                       \
    }                                                                                \
  } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

#define RUN(test_fn)                                                                 \
  do {                                                                               \
    int before_ = testing_failures;                                                  \
    test_fn();                                                                       \
    fprintf(stderr, "%s %s\n", testing_failures == before_ ? "ok  " : "FAIL", #test_fn); \
  } while (0)

static inline int testing_summary(void) {
  fprintf(stderr, "%d checks, %d failed\n", testing_checks, testing_failures);
  return testing_failures == 0 ? 0 : 1;
}

#endif
