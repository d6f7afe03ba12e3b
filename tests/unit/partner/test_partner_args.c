/* Unit tests for what lindung-partner decides from what a user typed
 * (tools/partner/partner_args.c, partner_creds.c): value checks, option
 * parsing, and that no error names a word that could be a NIK. */
#include <stdint.h>

#include "partner_cli.h"
#include "testing.h"

static const pcli_command scan_command = {
    "scan", "", "", PCLI_BIT(OPT_TOKEN) | PCLI_BIT(OPT_CHECK_OUT) | PCLI_BIT(OPT_TIMEOUT), NULL};

static void test_values(void) {
  uint64_t v = 0;
  uint32_t id = 0;
  CHECK(pcli_parse_u64("18446744073709551615", &v) && v == UINT64_MAX);
  CHECK(!pcli_parse_u64("18446744073709551616", &v) && !pcli_parse_u64("-1", &v));
  CHECK(!pcli_parse_u64("", &v) && !pcli_parse_u64("12a", &v));
  CHECK(pcli_parse_key_id("4294967295", &id) && id == UINT32_MAX);
  CHECK(!pcli_parse_key_id("0", &id) && !pcli_parse_key_id("4294967296", &id));
  CHECK(pcli_valid_partner_id("livin-mandiri") && !pcli_valid_partner_id("g"));
  CHECK(!pcli_valid_partner_id("Gojek") && !pcli_valid_partner_id("go_jek"));
  CHECK(pcli_printable("QR-MALL-0001", 64) && !pcli_printable("", 64));
  CHECK(!pcli_printable("tab\there", 64) && !pcli_printable("abc", 2));
  CHECK(pcli_valid_nik("3174012345678901") && !pcli_valid_nik("317401234567890"));
  CHECK(!pcli_valid_nik("317401234567890x"));
}

static void test_words_an_error_may_name(void) {
  char word[64];
  pcli_safe_word("--timeout=5", word, sizeof word);
  CHECK_EQ_STR(word, "--timeout");
  pcli_safe_word("--nik=3174012345678901", word, sizeof word);
  CHECK_EQ_STR(word, "--nik");
  pcli_safe_word("3174012345678901", word, sizeof word);
  CHECK_EQ_STR(word, "(argument)");
  pcli_dir_name("/run/partners/gojek//", word, sizeof word);
  CHECK_EQ_STR(word, "gojek");
  pcli_dir_name("grab", word, sizeof word);
  CHECK_EQ_STR(word, "grab");
}

static void test_parse(void) {
  pcli_args args;
  char *ok[] = {"scan", "--token", "T1", "--check-out", "--timeout=2.5", NULL};
  CHECK_EQ_INT(pcli_parse(&scan_command, 5, ok, &args), 0);
  CHECK_EQ_STR(args.value[OPT_TOKEN], "T1");
  CHECK(args.flag[OPT_CHECK_OUT] && !args.flag[OPT_HELP]);
  int timeout_ms = 0;
  CHECK_EQ_INT(pcli_timeout_ms(&args, "scan", &timeout_ms), 0);
  CHECK_EQ_INT(timeout_ms, 2500);
  char *twice[] = {"scan", "--token", "a", "--token", "b", NULL};
  CHECK_EQ_INT(pcli_parse(&scan_command, 5, twice, &args), PCLI_USAGE);
  /* An option of another command is unknown here. */
  char *other[] = {"scan", "--nik", "3174012345678901", NULL};
  CHECK_EQ_INT(pcli_parse(&scan_command, 3, other, &args), PCLI_USAGE);
  char *stray[] = {"scan", "3174012345678901", NULL};
  CHECK_EQ_INT(pcli_parse(&scan_command, 2, stray, &args), PCLI_USAGE);
  char *help[] = {"scan", "-h", NULL};
  CHECK(pcli_parse(&scan_command, 2, help, &args) == 0 && args.flag[OPT_HELP]);
  char *bad_timeout[] = {"scan", "--timeout", "0", NULL};
  CHECK_EQ_INT(pcli_parse(&scan_command, 3, bad_timeout, &args), 0);
  CHECK_EQ_INT(pcli_timeout_ms(&args, "scan", &timeout_ms), PCLI_USAGE);
}

int main(void) {
  RUN(test_values);
  RUN(test_words_an_error_may_name);
  RUN(test_parse);
  return testing_summary();
}
