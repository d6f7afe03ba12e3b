/* registry_rules: the syntax of what the registry holds (NIKs, status
 * colours, partner and venue ids, key ids, public keys, dates), shared by
 * lindungctl, the services and the unit tests. Pure functions: no I/O, no
 * logging. The NIK hash lives here too, so every writer and reader of
 * people.nik_hash computes it the same way.
 *
 * Prefix reg_. */
#ifndef LINDUNG_REGISTRY_RULES_H
#define LINDUNG_REGISTRY_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REG_NIK_LEN 16
#define REG_KEY_BYTES 32      /* crypto_kx public/secret keys, the NIK key */
#define REG_NIK_HASH_BYTES 32 /* BLAKE2b-256 */
#define REG_PARTNER_ID_MAX 32
#define REG_VENUE_ID_MAX 64
#define REG_NAME_MAX 200

typedef enum reg_colour {
  REG_COLOUR_INVALID = 0,
  REG_COLOUR_GREEN = 1, /* same numbers as lindung.v1.Status */
  REG_COLOUR_YELLOW = 2,
  REG_COLOUR_RED = 3,
  REG_COLOUR_BLACK = 4,
} reg_colour;

typedef struct reg_date {
  int year, month, day;
} reg_date;

/* Exactly 16 ASCII digits. */
bool reg_nik_valid(const char *nik);

/* The birth date and sex encoded in a NIK (digits 7-12: DDMMYY, day + 40
 * for women). The century is not encoded: year is 0..99. -1 when the NIK
 * is not valid or the date part is not a calendar date. */
int reg_nik_birth(const char *nik, reg_date *date, bool *female);

/* Writes a NIK (16 digits + NUL) from its parts; -1 on out-of-range parts.
 * province 11..99, regency and district 1..99, serial 1..9999. */
int reg_nik_compose(int province, int regency, int district, reg_date birth, bool female,
                    int serial, char out[REG_NIK_LEN + 1]);

/* Keyed BLAKE2b-256 over the 16 digits; -1 when the NIK is not valid. */
int reg_nik_hash(const uint8_t key[REG_KEY_BYTES], const char *nik,
                 uint8_t out[REG_NIK_HASH_BYTES]);

/* "green", "yellow", "red", "black", in any case; REG_COLOUR_INVALID else. */
reg_colour reg_colour_parse(const char *text);
/* Lowercase name as stored in health_status.status; NULL if invalid. */
const char *reg_colour_name(reg_colour colour);

/* 2 to 32 characters of a-z, 0-9 and '-'. */
bool reg_partner_id_valid(const char *id);

/* 1 to 64 printable ASCII characters (0x20..0x7e): the text of a QR code. */
bool reg_venue_id_valid(const char *id);

/* 1 to 200 bytes, no control characters (names of partners and venues). */
bool reg_name_valid(const char *name);

/* A decimal key id 1..4294967295, digits only; -1 otherwise. */
int reg_key_id_parse(const char *text, uint32_t *out);

/* A decimal count 0..max, digits only; -1 otherwise. */
int reg_count_parse(const char *text, uint32_t max, uint32_t *out);

/* Exactly 64 hex characters (either case) into 32 bytes; -1 otherwise. */
int reg_key_hex_parse(const char *text, uint8_t out[REG_KEY_BYTES]);

/* YYYY-MM-DD, a real calendar date with year 1900..2100; -1 otherwise. */
int reg_date_parse(const char *text, reg_date *out);
bool reg_date_valid(reg_date date);

/* Trims spaces and tabs in place and returns the start (CSV fields). */
char *reg_trim(char *s);

/* One line of a subject import file, "nik,status[,birth_date]", without
 * its line ending. The fields point into line, which is modified. */
typedef struct reg_subject_line {
  const char *nik;
  reg_colour colour;
  bool has_birth_date;
  reg_date birth_date;
} reg_subject_line;

typedef enum reg_line_status {
  REG_LINE_OK = 0,
  REG_LINE_FIELDS = -1,     /* not 2 or 3 comma-separated fields */
  REG_LINE_NIK = -2,        /* NIK is not 16 digits */
  REG_LINE_COLOUR = -3,     /* unknown colour */
  REG_LINE_BIRTH_DATE = -4, /* birth date is not YYYY-MM-DD */
} reg_line_status;

/* Surrounding spaces of each field are ignored; an empty third field means
 * no birth date. */
reg_line_status reg_subject_line_parse(char *line, reg_subject_line *out);
/* A short reason for a line status, never containing the line itself. */
const char *reg_line_status_reason(reg_line_status status);

/* True for a header line such as "nik,status,birth_date". */
bool reg_subject_line_is_header(const char *line);

#endif
