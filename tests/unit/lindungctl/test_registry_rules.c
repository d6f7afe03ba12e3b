/* Unit tests for registry_rules: the input checks lindungctl (and later the
 * services) apply to NIKs, colours, keys, ids, dates and import lines. */
#include <sodium.h>
#include <string.h>

#include "registry_rules.h"
#include "testing.h"

static void test_nik_valid(void) {
  CHECK(reg_nik_valid("3171014501900001"));
  CHECK(reg_nik_valid("0000000000000000"));
  CHECK(!reg_nik_valid("317101450190000"));   /* 15 digits */
  CHECK(!reg_nik_valid("31710145019000011")); /* 17 digits */
  CHECK(!reg_nik_valid("317101450190000a"));
  CHECK(!reg_nik_valid(" 317101450190000"));
  CHECK(!reg_nik_valid("3171014501900001 "));
  CHECK(!reg_nik_valid("-171014501900001"));
  CHECK(!reg_nik_valid(""));
  CHECK(!reg_nik_valid(NULL));
}

static void test_nik_birth(void) {
  reg_date d;
  bool female = true;
  CHECK_EQ_INT(reg_nik_birth("3171010501900001", &d, &female), 0);
  CHECK_EQ_INT(d.year, 90);
  CHECK_EQ_INT(d.month, 1);
  CHECK_EQ_INT(d.day, 5);
  CHECK(!female);
  CHECK_EQ_INT(reg_nik_birth("3171014501900001", &d, &female), 0);
  CHECK_EQ_INT(d.day, 5);
  CHECK(female);
  CHECK_EQ_INT(reg_nik_birth("3171017112990001", &d, &female), 0);  /* 31 Dec, woman */
  CHECK_EQ_INT(reg_nik_birth("3171013202900001", &d, &female), -1); /* day 32 */
  CHECK_EQ_INT(reg_nik_birth("3171010013900001", &d, &female), -1); /* month 13 */
  CHECK_EQ_INT(reg_nik_birth("3171010000900001", &d, &female), -1); /* day 0 */
  CHECK_EQ_INT(reg_nik_birth("3171012902000001", &d, &female), 0);  /* 29 Feb 2000 */
  CHECK_EQ_INT(reg_nik_birth("3171012902010001", &d, &female), -1); /* 29 Feb 01 */
  CHECK_EQ_INT(reg_nik_birth("31710129020", &d, &female), -1);
}

static void test_nik_compose_round_trip(void) {
  char nik[REG_NIK_LEN + 1];
  reg_date birth = {1987, 6, 23};
  CHECK_EQ_INT(reg_nik_compose(32, 73, 5, birth, true, 42, nik), 0);
  CHECK_EQ_STR(nik, "3273056306870042");
  reg_date back;
  bool female = false;
  CHECK_EQ_INT(reg_nik_birth(nik, &back, &female), 0);
  CHECK_EQ_INT(back.day, 23);
  CHECK_EQ_INT(back.month, 6);
  CHECK_EQ_INT(back.year, 87);
  CHECK(female);
  CHECK_EQ_INT(reg_nik_compose(10, 1, 1, birth, false, 1, nik), -1);
  CHECK_EQ_INT(reg_nik_compose(31, 0, 1, birth, false, 1, nik), -1);
  CHECK_EQ_INT(reg_nik_compose(31, 1, 1, birth, false, 0, nik), -1);
  CHECK_EQ_INT(reg_nik_compose(31, 1, 1, birth, false, 10000, nik), -1);
  CHECK_EQ_INT(reg_nik_compose(31, 1, 1, (reg_date){1990, 2, 30}, false, 1, nik), -1);
}

static void test_nik_hash(void) {
  uint8_t key[REG_KEY_BYTES], other[REG_KEY_BYTES], a[32], b[32], expect[32];
  for (int i = 0; i < REG_KEY_BYTES; i++) {
    key[i] = (uint8_t)i;
    other[i] = (uint8_t)(i + 1);
  }
  CHECK_EQ_INT(reg_nik_hash(key, "3171014501900001", a), 0);
  /* Keyed BLAKE2b-256 over exactly the 16 digits. */
  crypto_generichash(expect, 32, (const unsigned char *)"3171014501900001", 16, key, 32);
  CHECK_MEM(a, expect, 32);
  CHECK_EQ_INT(reg_nik_hash(other, "3171014501900001", b), 0);
  CHECK(memcmp(a, b, 32) != 0);
  CHECK_EQ_INT(reg_nik_hash(key, "3171014501900002", b), 0);
  CHECK(memcmp(a, b, 32) != 0);
  CHECK_EQ_INT(reg_nik_hash(key, "317101450190000", b), -1);
}

static void test_colour(void) {
  CHECK_EQ_INT(reg_colour_parse("green"), REG_COLOUR_GREEN);
  CHECK_EQ_INT(reg_colour_parse("YELLOW"), REG_COLOUR_YELLOW);
  CHECK_EQ_INT(reg_colour_parse("Red"), REG_COLOUR_RED);
  CHECK_EQ_INT(reg_colour_parse("black"), REG_COLOUR_BLACK);
  CHECK_EQ_INT(reg_colour_parse("blue"), REG_COLOUR_INVALID);
  CHECK_EQ_INT(reg_colour_parse("gree"), REG_COLOUR_INVALID);
  CHECK_EQ_INT(reg_colour_parse("greenish"), REG_COLOUR_INVALID);
  CHECK_EQ_INT(reg_colour_parse(""), REG_COLOUR_INVALID);
  CHECK_EQ_INT(reg_colour_parse(NULL), REG_COLOUR_INVALID);
  CHECK_EQ_STR(reg_colour_name(REG_COLOUR_YELLOW), "yellow");
  CHECK(reg_colour_name(REG_COLOUR_INVALID) == NULL);
  CHECK(reg_colour_name((reg_colour)9) == NULL);
}

static void test_partner_id(void) {
  CHECK(reg_partner_id_valid("gojek"));
  CHECK(reg_partner_id_valid("livin-mandiri"));
  CHECK(reg_partner_id_valid("ab"));
  CHECK(reg_partner_id_valid("a2345678901234567890123456789012")); /* 32 */
  CHECK(!reg_partner_id_valid("a23456789012345678901234567890123"));
  CHECK(!reg_partner_id_valid("a"));
  CHECK(!reg_partner_id_valid("Gojek"));
  CHECK(!reg_partner_id_valid("go_jek"));
  CHECK(!reg_partner_id_valid("go jek"));
  CHECK(!reg_partner_id_valid("gojek\n"));
  CHECK(!reg_partner_id_valid(""));
  CHECK(!reg_partner_id_valid(NULL));
}

static void test_venue_id_and_name(void) {
  CHECK(reg_venue_id_valid("QR-MALL-0001"));
  CHECK(reg_venue_id_valid("x"));
  CHECK(reg_venue_id_valid("with space ~!"));
  char long_id[66];
  memset(long_id, 'A', 65);
  long_id[65] = '\0';
  CHECK(!reg_venue_id_valid(long_id));
  long_id[64] = '\0';
  CHECK(reg_venue_id_valid(long_id));
  CHECK(!reg_venue_id_valid(""));
  CHECK(!reg_venue_id_valid("tab\there"));
  CHECK(!reg_venue_id_valid("caf\xc3\xa9"));
  CHECK(reg_name_valid("Grand Indonesia, Jakarta"));
  CHECK(reg_name_valid("Caf\xc3\xa9 UTF-8"));
  CHECK(!reg_name_valid(""));
  CHECK(!reg_name_valid("two\nlines"));
  CHECK(!reg_name_valid(NULL));
}

static void test_key_id(void) {
  uint32_t id = 0;
  CHECK_EQ_INT(reg_key_id_parse("1", &id), 0);
  CHECK_EQ_INT(id, 1);
  CHECK_EQ_INT(reg_key_id_parse("4294967295", &id), 0);
  CHECK_EQ_INT(id, 4294967295u);
  CHECK_EQ_INT(reg_key_id_parse("0", &id), -1);
  CHECK_EQ_INT(reg_key_id_parse("4294967296", &id), -1);
  CHECK_EQ_INT(reg_key_id_parse("99999999999", &id), -1);
  CHECK_EQ_INT(reg_key_id_parse("-1", &id), -1);
  CHECK_EQ_INT(reg_key_id_parse("+1", &id), -1);
  CHECK_EQ_INT(reg_key_id_parse("1x", &id), -1);
  CHECK_EQ_INT(reg_key_id_parse(" 1", &id), -1);
  CHECK_EQ_INT(reg_key_id_parse("", &id), -1);
  uint32_t n = 7;
  CHECK_EQ_INT(reg_count_parse("0", 10, &n), 0);
  CHECK_EQ_INT(n, 0);
  CHECK_EQ_INT(reg_count_parse("11", 10, &n), -1);
}

static void test_key_hex(void) {
  uint8_t key[REG_KEY_BYTES];
  const char *good = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
  CHECK_EQ_INT(reg_key_hex_parse(good, key), 0);
  CHECK_EQ_INT(key[0], 0x00);
  CHECK_EQ_INT(key[15], 0xff);
  CHECK_EQ_INT(key[31], 0xff);
  CHECK_EQ_INT(reg_key_hex_parse("00112233", key), -1);
  CHECK_EQ_INT(
      reg_key_hex_parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00", key),
      -1);
  CHECK_EQ_INT(
      reg_key_hex_parse("g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", key),
      -1);
  CHECK_EQ_INT(reg_key_hex_parse("", key), -1);
  CHECK_EQ_INT(reg_key_hex_parse(NULL, key), -1);
}

static void test_dates(void) {
  reg_date d;
  CHECK_EQ_INT(reg_date_parse("1990-01-05", &d), 0);
  CHECK_EQ_INT(d.year, 1990);
  CHECK_EQ_INT(d.month, 1);
  CHECK_EQ_INT(d.day, 5);
  CHECK_EQ_INT(reg_date_parse("2000-02-29", &d), 0);
  CHECK_EQ_INT(reg_date_parse("1900-02-29", &d), -1);
  CHECK_EQ_INT(reg_date_parse("2023-02-29", &d), -1);
  CHECK_EQ_INT(reg_date_parse("2023-04-31", &d), -1);
  CHECK_EQ_INT(reg_date_parse("2023-13-01", &d), -1);
  CHECK_EQ_INT(reg_date_parse("2023-00-10", &d), -1);
  CHECK_EQ_INT(reg_date_parse("1899-12-31", &d), -1);
  CHECK_EQ_INT(reg_date_parse("1990-1-05", &d), -1);
  CHECK_EQ_INT(reg_date_parse("1990/01/05", &d), -1);
  CHECK_EQ_INT(reg_date_parse("05-01-1990", &d), -1);
  CHECK_EQ_INT(reg_date_parse("1990-01-05x", &d), -1);
  CHECK_EQ_INT(reg_date_parse("", &d), -1);
}

static void test_subject_lines(void) {
  reg_subject_line s;
  char l1[] = "3171014501900001,green,1990-01-05";
  CHECK_EQ_INT(reg_subject_line_parse(l1, &s), REG_LINE_OK);
  CHECK_EQ_STR(s.nik, "3171014501900001");
  CHECK_EQ_INT(s.colour, REG_COLOUR_GREEN);
  CHECK(s.has_birth_date);
  CHECK_EQ_INT(s.birth_date.year, 1990);
  char l2[] = " 3171014501900001 , BLACK ";
  CHECK_EQ_INT(reg_subject_line_parse(l2, &s), REG_LINE_OK);
  CHECK_EQ_INT(s.colour, REG_COLOUR_BLACK);
  CHECK(!s.has_birth_date);
  char l3[] = "3171014501900001,red,";
  CHECK_EQ_INT(reg_subject_line_parse(l3, &s), REG_LINE_OK);
  CHECK(!s.has_birth_date);
  char l4[] = "317101450190000,green";
  CHECK_EQ_INT(reg_subject_line_parse(l4, &s), REG_LINE_NIK);
  char l5[] = "3171014501900001,blue";
  CHECK_EQ_INT(reg_subject_line_parse(l5, &s), REG_LINE_COLOUR);
  char l6[] = "3171014501900001,green,1990-02-30";
  CHECK_EQ_INT(reg_subject_line_parse(l6, &s), REG_LINE_BIRTH_DATE);
  char l7[] = "3171014501900001";
  CHECK_EQ_INT(reg_subject_line_parse(l7, &s), REG_LINE_FIELDS);
  char l8[] = "3171014501900001,green,1990-01-05,extra";
  CHECK_EQ_INT(reg_subject_line_parse(l8, &s), REG_LINE_FIELDS);
  /* Reasons never repeat the line (which holds a NIK). */
  for (int st = REG_LINE_BIRTH_DATE; st <= REG_LINE_OK; st++)
    CHECK(strstr(reg_line_status_reason((reg_line_status)st), "3171") == NULL);
  CHECK(reg_subject_line_is_header("nik,status,birth_date"));
  CHECK(reg_subject_line_is_header("NIK,Status"));
  CHECK(!reg_subject_line_is_header("3171014501900001,green"));
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_nik_valid);
  RUN(test_nik_birth);
  RUN(test_nik_compose_round_trip);
  RUN(test_nik_hash);
  RUN(test_colour);
  RUN(test_partner_id);
  RUN(test_venue_id_and_name);
  RUN(test_key_id);
  RUN(test_key_hex);
  RUN(test_dates);
  RUN(test_subject_lines);
  return testing_summary();
}
