/* health_rules: colours from health facts under a rule set (see
 * health_rules.h and STATUS-RULES.md). */
#include "health_rules.h"

#include <sodium.h>
#include <string.h>

#include "utf8.h"

static const char *const health_kind_names[] = {
    NULL,           "birth_date",   "dose",          "booster",  "antigen_negative",
    "pcr_negative", "positive",     "close_contact", "recovered",
};

health_fact_kind health_fact_kind_parse(const char *name) {
  if (!name) return HEALTH_FACT_INVALID;
  for (int k = 1; k <= HEALTH_FACT_KIND_MAX; k++)
    if (strcmp(name, health_kind_names[k]) == 0) return (health_fact_kind)k;
  return HEALTH_FACT_INVALID;
}

const char *health_fact_kind_name(health_fact_kind kind) {
  if (kind < 1 || kind > HEALTH_FACT_KIND_MAX) return NULL;
  return health_kind_names[kind];
}

health_scheme health_scheme_parse(const char *name) {
  if (!name) return HEALTH_SCHEME_INVALID;
  if (strcmp(name, "sept2021") == 0) return HEALTH_SCHEME_SEPT2021;
  if (strcmp(name, "jul2022") == 0) return HEALTH_SCHEME_JUL2022;
  return HEALTH_SCHEME_INVALID;
}

const char *health_scheme_name(health_scheme scheme) {
  return scheme == HEALTH_SCHEME_SEPT2021  ? "sept2021"
         : scheme == HEALTH_SCHEME_JUL2022 ? "jul2022"
                                           : NULL;
}

void health_rule_set_defaults(health_scheme scheme, health_rule_set *out) {
  *out = (health_rule_set){.scheme = scheme,
                           .antigen_valid_hours = 24,
                           .pcr_valid_hours = 72,
                           .recovered_valid_days = 90,
                           .positive_days = 10,
                           .contact_days = 14,
                           .contact_pcr_clear_day = 5,
                           .contact_clear_day = 10,
                           .adult_age = 18};
}

bool health_rule_set_valid(const health_rule_set *r) {
  return (r->scheme == HEALTH_SCHEME_SEPT2021 || r->scheme == HEALTH_SCHEME_JUL2022) &&
         r->antigen_valid_hours > 0 && r->pcr_valid_hours > 0 && r->recovered_valid_days > 0 &&
         r->positive_days > 0 && r->contact_days > 0 && r->contact_pcr_clear_day >= 0 &&
         r->contact_clear_day > r->contact_pcr_clear_day && r->adult_age > 0;
}

static void health_latest(int64_t *slot, int64_t at_ms) {
  if (*slot == HEALTH_NONE || at_ms > *slot) *slot = at_ms;
}

void health_summarize(const health_fact *facts, size_t count, int64_t now_ms,
                      health_summary *out) {
  *out = (health_summary){.birth_ms = HEALTH_NONE,
                          .antigen_negative_ms = HEALTH_NONE,
                          .pcr_negative_ms = HEALTH_NONE,
                          .positive_ms = HEALTH_NONE,
                          .close_contact_ms = HEALTH_NONE,
                          .recovered_ms = HEALTH_NONE};
  for (size_t i = 0; i < count; i++) {
    const health_fact *f = &facts[i];
    /* A fact recorded ahead of its time, or past its end, does not hold. */
    if (f->at_ms > now_ms || (f->until_ms != HEALTH_NONE && f->until_ms <= now_ms)) continue;
    switch (f->kind) {
      case HEALTH_FACT_BIRTH_DATE: health_latest(&out->birth_ms, f->at_ms); break;
      case HEALTH_FACT_DOSE: out->doses++; break;
      case HEALTH_FACT_BOOSTER: out->boosters++; break;
      case HEALTH_FACT_ANTIGEN_NEGATIVE: health_latest(&out->antigen_negative_ms, f->at_ms); break;
      case HEALTH_FACT_PCR_NEGATIVE: health_latest(&out->pcr_negative_ms, f->at_ms); break;
      case HEALTH_FACT_POSITIVE: health_latest(&out->positive_ms, f->at_ms); break;
      case HEALTH_FACT_CLOSE_CONTACT: health_latest(&out->close_contact_ms, f->at_ms); break;
      case HEALTH_FACT_RECOVERED: health_latest(&out->recovered_ms, f->at_ms); break;
      default: continue;
    }
    out->facts++;
  }
}

int64_t health_days_from_civil(int year, int month, int day) {
  /* Howard Hinnant's days_from_civil. */
  int64_t y = (int64_t)year - (month <= 2);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void health_civil_from_days(int64_t z, int *year, int *month, int *day) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *day = (int)(doy - (153 * mp + 2) / 5 + 1);
  *month = (int)(mp < 10 ? mp + 3 : mp - 9);
  *year = (int)(yoe + era * 400 + (*month <= 2));
}

static int64_t health_floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int health_age_years(int64_t birth_ms, int64_t now_ms) {
  if (birth_ms == HEALTH_NONE || birth_ms > now_ms) return -1;
  int by, bm, bd, ny, nm, nd;
  health_civil_from_days(health_floor_div(birth_ms, HEALTH_MS_PER_DAY), &by, &bm, &bd);
  health_civil_from_days(health_floor_div(now_ms, HEALTH_MS_PER_DAY), &ny, &nm, &nd);
  int age = ny - by;
  if (nm < bm || (nm == bm && nd < bd)) age--;
  return age;
}

/* at happened at most span_ms ago (and not in the future). */
static bool health_within(int64_t at_ms, int64_t span_ms, int64_t now_ms) {
  return at_ms != HEALTH_NONE && at_ms <= now_ms && now_ms - at_ms <= span_ms;
}

/* BLACK: positive within positive_days, or a close contact not yet
 * cleared: by a negative PCR taken from day contact_pcr_clear_day, or by
 * reaching contact_clear_day (and never later than contact_days). Nothing
 * else ends it early, not even a recovery: STATUS-RULES.md says BLACK wins
 * over every other fact. */
static bool health_is_black(const health_summary *s, const health_rule_set *r, int64_t now_ms) {
  if (s->positive_ms != HEALTH_NONE &&
      now_ms - s->positive_ms < (int64_t)r->positive_days * HEALTH_MS_PER_DAY)
    return true;
  if (s->close_contact_ms == HEALTH_NONE) return false;
  int64_t since = now_ms - s->close_contact_ms;
  if (since >= (int64_t)r->contact_clear_day * HEALTH_MS_PER_DAY ||
      since >= (int64_t)r->contact_days * HEALTH_MS_PER_DAY)
    return false;
  bool cleared_by_pcr =
      s->pcr_negative_ms != HEALTH_NONE &&
      s->pcr_negative_ms >= s->close_contact_ms + r->contact_pcr_clear_day * HEALTH_MS_PER_DAY;
  return !cleared_by_pcr;
}

reg_colour health_colour(const health_summary *s, const health_rule_set *r, int64_t now_ms) {
  if (s->facts == 0 || !health_rule_set_valid(r)) return REG_COLOUR_INVALID;
  if (health_is_black(s, r, now_ms)) return REG_COLOUR_BLACK;
  int doses = s->doses + s->boosters; /* a booster is a dose after the first two */

  if (r->scheme == HEALTH_SCHEME_SEPT2021) {
    if (doses >= 2) return REG_COLOUR_GREEN;
    if (doses == 1 || s->recovered_ms != HEALTH_NONE) return REG_COLOUR_YELLOW;
    return REG_COLOUR_RED;
  }
  int age = health_age_years(s->birth_ms, now_ms);
  bool adult = age < 0 || age >= r->adult_age;
  if (!adult) {
    if (doses >= 2) return REG_COLOUR_GREEN;
    if (doses == 1) return REG_COLOUR_YELLOW;
    return REG_COLOUR_RED;
  }
  if (s->boosters > 0 ||
      health_within(s->antigen_negative_ms, r->antigen_valid_hours * HEALTH_MS_PER_HOUR, now_ms) ||
      health_within(s->pcr_negative_ms, r->pcr_valid_hours * HEALTH_MS_PER_HOUR, now_ms) ||
      (doses >= 2 &&
       health_within(s->recovered_ms, r->recovered_valid_days * HEALTH_MS_PER_DAY, now_ms)))
    return REG_COLOUR_GREEN;
  if (doses >= 2) return REG_COLOUR_YELLOW;
  return REG_COLOUR_RED;
}

static int health_put(health_fact *out, int n, health_fact_kind kind, int64_t at_ms) {
  out[n] = (health_fact){.kind = kind, .at_ms = at_ms, .until_ms = HEALTH_NONE};
  return n + 1;
}

int health_facts_for_colour(reg_colour colour, const health_rule_set *rules, bool adult,
                            unsigned variant, int64_t now_ms, health_fact *out) {
  if (!health_rule_set_valid(rules)) return -1;
  const int64_t day = HEALTH_MS_PER_DAY;
  /* Doses well in the past, so a later rule on dose age would still hold. */
  int64_t dose1 = now_ms - 200 * day, dose2 = now_ms - 170 * day, booster = now_ms - 60 * day;
  bool jul2022_adult = rules->scheme == HEALTH_SCHEME_JUL2022 && adult;
  int n = 0;
  switch (colour) {
    case REG_COLOUR_GREEN:
      n = health_put(out, n, HEALTH_FACT_DOSE, dose1);
      n = health_put(out, n, HEALTH_FACT_DOSE, dose2);
      if (!jul2022_adult) return n;
      switch (variant % 4) {
        case 0: return health_put(out, n, HEALTH_FACT_BOOSTER, booster);
        case 1: return health_put(out, n, HEALTH_FACT_ANTIGEN_NEGATIVE, now_ms - 2 * HEALTH_MS_PER_HOUR);
        case 2: return health_put(out, n, HEALTH_FACT_PCR_NEGATIVE, now_ms - 20 * HEALTH_MS_PER_HOUR);
        default: return health_put(out, n, HEALTH_FACT_RECOVERED, now_ms - 30 * day);
      }
    case REG_COLOUR_YELLOW:
      n = health_put(out, n, HEALTH_FACT_DOSE, dose1);
      if (jul2022_adult) return health_put(out, n, HEALTH_FACT_DOSE, dose2);
      if (rules->scheme == HEALTH_SCHEME_SEPT2021 && variant % 2 == 1)
        return health_put(out, 0, HEALTH_FACT_RECOVERED, now_ms - 30 * day);
      return n;
    case REG_COLOUR_RED:
      /* Unvaccinated; an adult of July 2022 with one dose is RED as well. */
      if (jul2022_adult && variant % 2 == 1) n = health_put(out, n, HEALTH_FACT_DOSE, dose1);
      return n;
    case REG_COLOUR_BLACK:
      n = health_put(out, n, HEALTH_FACT_DOSE, dose1);
      n = health_put(out, n, HEALTH_FACT_DOSE, dose2);
      if (variant % 2 == 0) return health_put(out, n, HEALTH_FACT_POSITIVE, now_ms - 1 * day);
      return health_put(out, n, HEALTH_FACT_CLOSE_CONTACT, now_ms - 1 * day);
    default:
      return -1;
  }
}

/* Reads exactly n digits into *out. */
static bool health_digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return true;
}

int health_time_parse(const char *text, int64_t *out_ms) {
  if (!text) return -1;
  const char *p = text;
  int year, month, day, hour = 0, minute = 0, second = 0, millis = 0;
  if (!health_digits(&p, 4, &year) || *p++ != '-' || !health_digits(&p, 2, &month) ||
      *p++ != '-' || !health_digits(&p, 2, &day))
    return -1;
  reg_date date = {year, month, day};
  if (!reg_date_valid(date)) return -1;
  int64_t offset_min = 0;
  if (*p == 'T') {
    p++;
    if (!health_digits(&p, 2, &hour) || *p++ != ':' || !health_digits(&p, 2, &minute)) return -1;
    if (*p == ':') {
      p++;
      if (!health_digits(&p, 2, &second)) return -1;
      if (*p == '.') {
        p++;
        int scale = 100, digits = 0;
        while (*p >= '0' && *p <= '9') {
          if (digits < 3) millis += (*p - '0') * scale;
          scale /= 10;
          digits++;
          p++;
        }
        if (digits == 0) return -1;
      }
    }
    if (hour > 23 || minute > 59 || second > 59) return -1;
    if (*p == 'Z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      int sign = *p++ == '-' ? -1 : 1, oh, om;
      if (!health_digits(&p, 2, &oh) || *p++ != ':' || !health_digits(&p, 2, &om) || oh > 14 ||
          om > 59)
        return -1;
      offset_min = sign * (oh * 60 + om);
    } else {
      return -1; /* no zone */
    }
  }
  if (*p != '\0') return -1;
  int64_t days = health_days_from_civil(year, month, day);
  *out_ms = ((days * 24 + hour) * 60 + minute - offset_min) * 60000 + second * 1000 + millis;
  return 0;
}

bool health_detail_valid(const char *detail) {
  size_t len = strlen(detail);
  if (len > HEALTH_DETAIL_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)detail[i];
    if (c < 0x20 || c == 0x7f) return false;
  }
  /* The detail is stored as text: PostgreSQL refuses anything else, and
   * with it every fact of the batch, on every retry. */
  return utf8_valid(detail, len);
}

health_line_status health_fact_line_parse(char *line, health_fact_line *out) {
  char *fields[5];
  char *p = line;
  for (int i = 0; i < 4; i++) {
    char *comma = strchr(p, ',');
    if (!comma) return HEALTH_LINE_FIELDS;
    *comma = '\0';
    fields[i] = reg_trim(p);
    p = comma + 1;
  }
  fields[4] = reg_trim(p);
  memset(out, 0, sizeof *out);
  if (!reg_nik_valid(fields[0])) return HEALTH_LINE_NIK;
  out->nik = fields[0];
  out->fact.kind = health_fact_kind_parse(fields[1]);
  if (out->fact.kind == HEALTH_FACT_INVALID) return HEALTH_LINE_FACT;
  if (health_time_parse(fields[2], &out->fact.at_ms) != 0) return HEALTH_LINE_AT;
  out->fact.until_ms = HEALTH_NONE;
  if (fields[3][0] != '\0' &&
      (health_time_parse(fields[3], &out->fact.until_ms) != 0 ||
       out->fact.until_ms <= out->fact.at_ms))
    return HEALTH_LINE_UNTIL;
  if (!health_detail_valid(fields[4])) return HEALTH_LINE_DETAIL;
  out->detail = fields[4];
  return HEALTH_LINE_OK;
}

const char *health_line_status_reason(health_line_status status) {
  switch (status) {
    case HEALTH_LINE_OK: return "ok";
    case HEALTH_LINE_FIELDS: return "expected 5 fields: nik,fact,at,until,detail";
    case HEALTH_LINE_NIK: return "NIK is not 16 digits";
    case HEALTH_LINE_FACT:
      return "unknown fact (birth_date, dose, booster, antigen_negative, pcr_negative, positive, "
             "close_contact, recovered)";
    case HEALTH_LINE_AT:
      return "at is not an ISO-8601 date or time with a zone (e.g. 2022-07-18T09:30:00+07:00)";
    case HEALTH_LINE_UNTIL:
      return "until is not empty or an ISO-8601 date or time with a zone after at";
    case HEALTH_LINE_DETAIL: return "detail is longer than 200 bytes or holds control characters";
  }
  return "invalid line";
}

bool health_fact_line_is_header(const char *line) {
  return strncmp(line, "nik,fact,", 9) == 0;
}

void health_fact_id(const uint8_t nik_hash[REG_NIK_HASH_BYTES], const health_fact *fact,
                    const char *detail, uint8_t out[HEALTH_FACT_ID_BYTES]) {
  crypto_generichash_state st;
  uint8_t fixed[1 + 8 + 8];
  uint64_t at = (uint64_t)fact->at_ms, until = (uint64_t)fact->until_ms;
  fixed[0] = (uint8_t)fact->kind;
  for (int i = 0; i < 8; i++) {
    fixed[1 + i] = (uint8_t)(at >> (56 - 8 * i));
    fixed[9 + i] = (uint8_t)(until >> (56 - 8 * i));
  }
  crypto_generichash_init(&st, NULL, 0, HEALTH_FACT_ID_BYTES);
  crypto_generichash_update(&st, nik_hash, REG_NIK_HASH_BYTES);
  crypto_generichash_update(&st, fixed, sizeof fixed);
  crypto_generichash_update(&st, (const uint8_t *)detail, strlen(detail));
  crypto_generichash_final(&st, out, HEALTH_FACT_ID_BYTES);
}
