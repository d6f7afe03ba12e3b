/* registry_rules: syntax checks for registry values and the NIK hash.
 * Everything here is pure, so unit tests call it without a database. */
#include "registry_rules.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hex.h"

static bool reg_is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool reg_nik_valid(const char *nik) {
  if (!nik) return false;
  for (int i = 0; i < REG_NIK_LEN; i++)
    if (!reg_is_digit(nik[i])) return false;
  return nik[REG_NIK_LEN] == '\0';
}

static int reg_two_digits(const char *s) {
  return (s[0] - '0') * 10 + (s[1] - '0');
}

static bool reg_is_leap(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int reg_days_in_month(int year, int month) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && reg_is_leap(year)) return 29;
  return days[month - 1];
}

bool reg_date_valid(reg_date date) {
  if (date.year < 1900 || date.year > 2100 || date.month < 1 || date.month > 12) return false;
  return date.day >= 1 && date.day <= reg_days_in_month(date.year, date.month);
}

int reg_nik_birth(const char *nik, reg_date *date, bool *female) {
  if (!reg_nik_valid(nik)) return -1;
  int day = reg_two_digits(nik + 6);
  int month = reg_two_digits(nik + 8);
  int year = reg_two_digits(nik + 10);
  bool is_female = day > 40;
  if (is_female) day -= 40;
  /* The century is unknown; a leap year (2000) admits 29 February of any
   * two-digit year that could be leap in some century. */
  reg_date check = {2000 + year, month, day};
  if (year % 4 != 0 && month == 2 && day == 29) return -1;
  if (!reg_date_valid(check)) return -1;
  if (date) *date = (reg_date){year, month, day};
  if (female) *female = is_female;
  return 0;
}

int reg_nik_compose(int province, int regency, int district, reg_date birth, bool female,
                    int serial, char out[REG_NIK_LEN + 1]) {
  if (province < 11 || province > 99 || regency < 1 || regency > 99 || district < 1 ||
      district > 99 || serial < 1 || serial > 9999 || !reg_date_valid(birth))
    return -1;
  int day = birth.day + (female ? 40 : 0);
  int written = snprintf(out, REG_NIK_LEN + 1, "%02d%02d%02d%02d%02d%02d%04d", province, regency,
                         district, day, birth.month, birth.year % 100, serial);
  return written == REG_NIK_LEN ? 0 : -1;
}

int reg_nik_hash(const uint8_t key[REG_KEY_BYTES], const char *nik,
                 uint8_t out[REG_NIK_HASH_BYTES]) {
  if (!reg_nik_valid(nik)) return -1;
  return crypto_generichash(out, REG_NIK_HASH_BYTES, (const unsigned char *)nik, REG_NIK_LEN, key,
                            REG_KEY_BYTES) == 0
             ? 0
             : -1;
}

static const char *const reg_colour_names[] = {NULL, "green", "yellow", "red", "black"};

reg_colour reg_colour_parse(const char *text) {
  if (!text) return REG_COLOUR_INVALID;
  for (int c = REG_COLOUR_GREEN; c <= REG_COLOUR_BLACK; c++)
    if (strcasecmp(text, reg_colour_names[c]) == 0) return (reg_colour)c;
  return REG_COLOUR_INVALID;
}

const char *reg_colour_name(reg_colour colour) {
  if (colour < REG_COLOUR_GREEN || colour > REG_COLOUR_BLACK) return NULL;
  return reg_colour_names[colour];
}

bool reg_partner_id_valid(const char *id) {
  if (!id) return false;
  size_t len = strlen(id);
  if (len < 2 || len > REG_PARTNER_ID_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || reg_is_digit(c) || c == '-')) return false;
  }
  return true;
}

bool reg_venue_id_valid(const char *id) {
  if (!id) return false;
  size_t len = strlen(id);
  if (len < 1 || len > REG_VENUE_ID_MAX) return false;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)id[i] < 0x20 || (unsigned char)id[i] > 0x7e) return false;
  return true;
}

bool reg_name_valid(const char *name) {
  if (!name) return false;
  size_t len = strlen(name);
  if (len < 1 || len > REG_NAME_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

int reg_count_parse(const char *text, uint32_t max, uint32_t *out) {
  if (!text || !*text || strlen(text) > 10) return -1;
  uint64_t value = 0;
  for (const char *p = text; *p; p++) {
    if (!reg_is_digit(*p)) return -1;
    value = value * 10 + (uint64_t)(*p - '0');
  }
  if (value > max) return -1;
  *out = (uint32_t)value;
  return 0;
}

int reg_key_id_parse(const char *text, uint32_t *out) {
  uint32_t value;
  if (reg_count_parse(text, UINT32_MAX, &value) != 0 || value == 0) return -1;
  *out = value;
  return 0;
}

int reg_key_hex_parse(const char *text, uint8_t out[REG_KEY_BYTES]) {
  if (!text || strlen(text) != 2 * REG_KEY_BYTES) return -1;
  return hex_decode(text, out, REG_KEY_BYTES) == 0 ? 0 : -1;
}

int reg_date_parse(const char *text, reg_date *out) {
  if (!text || strlen(text) != 10 || text[4] != '-' || text[7] != '-') return -1;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && !reg_is_digit(text[i])) return -1;
  reg_date date = {reg_two_digits(text) * 100 + reg_two_digits(text + 2), reg_two_digits(text + 5),
                   reg_two_digits(text + 8)};
  if (!reg_date_valid(date)) return -1;
  *out = date;
  return 0;
}

/* Trims spaces and tabs in place and returns the start. */
char *reg_trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t len = strlen(s);
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) s[--len] = '\0';
  return s;
}

reg_line_status reg_subject_line_parse(char *line, reg_subject_line *out) {
  char *fields[3] = {line, NULL, NULL};
  int count = 1;
  for (char *p = line; *p; p++) {
    if (*p != ',') continue;
    if (count == 3) return REG_LINE_FIELDS;
    *p = '\0';
    fields[count++] = p + 1;
  }
  if (count < 2) return REG_LINE_FIELDS;
  for (int i = 0; i < count; i++) fields[i] = reg_trim(fields[i]);
  if (!reg_nik_valid(fields[0])) return REG_LINE_NIK;
  reg_colour colour = reg_colour_parse(fields[1]);
  if (colour == REG_COLOUR_INVALID) return REG_LINE_COLOUR;
  reg_subject_line result = {.nik = fields[0], .colour = colour};
  if (count == 3 && fields[2][0] != '\0') {
    if (reg_date_parse(fields[2], &result.birth_date) != 0) return REG_LINE_BIRTH_DATE;
    result.has_birth_date = true;
  }
  *out = result;
  return REG_LINE_OK;
}

const char *reg_line_status_reason(reg_line_status status) {
  switch (status) {
    case REG_LINE_OK:
      return "ok";
    case REG_LINE_FIELDS:
      return "expected nik,status[,birth_date]";
    case REG_LINE_NIK:
      return "NIK is not 16 digits";
    case REG_LINE_COLOUR:
      return "status is not green, yellow, red or black";
    case REG_LINE_BIRTH_DATE:
      return "birth date is not a YYYY-MM-DD date";
  }
  return "invalid line";
}

bool reg_subject_line_is_header(const char *line) {
  while (*line == ' ' || *line == '\t') line++;
  return strncasecmp(line, "nik,", 4) == 0 || strncasecmp(line, "nik ", 4) == 0;
}
