/* lindungctl rules commands: the rule sets of STATUS-RULES.md as data. A
 * new rule set takes effect at its date without a release; every change is
 * recorded in rule_changes with the operator's name (LINDUNG_ADMIN_ACTOR,
 * else $USER) by the trigger of migration 0300. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* The name rule_changes records for this session. */
static int ctl_rules_set_actor(PGconn *conn) {
  const char *actor = ctl_env("LINDUNG_ADMIN_ACTOR");
  if (!actor) actor = ctl_env("USER");
  if (!actor) actor = "lindungctl";
  const char *params[1] = {actor};
  PGresult *res = PQexecParams(conn, "SELECT set_config('lindung.actor', $1, false)", 1, NULL,
                               params, NULL, NULL, 0);
  int rc = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -1;
  if (rc) ctl_fail(CTL_RUNTIME, "rules: %s", ctl_result_reason(res));
  PQclear(res);
  return rc;
}

int ctl_cmd_rules_list(int argc, char **argv) {
  bool json = false;
  const ctl_option options[] = {{"json", NULL, &json}};
  int rc = ctl_parse(argc, argv, options, 1, NULL, 0, NULL);
  if (rc) return rc;
  int code = CTL_OK;
  PGconn *conn = ctl_connect(NULL, &code);
  if (!conn) return code;
  if (json) {
    rc = ctl_print_json(
        conn,
        "SELECT coalesce(json_agg(json_build_object('rule_set_id', r.rule_set_id,"
        " 'effective_from', to_char(r.effective_from AT TIME ZONE 'UTC',"
        " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'scheme', r.scheme,"
        " 'state', CASE WHEN r.rule_set_id = (SELECT x.rule_set_id FROM rule_sets x"
        "   WHERE x.effective_from <= now() ORDER BY x.effective_from DESC LIMIT 1)"
        "  THEN 'in-force' WHEN r.effective_from > now() THEN 'future' ELSE 'past' END,"
        " 'antigen_valid_hours', r.antigen_valid_hours, 'pcr_valid_hours', r.pcr_valid_hours,"
        " 'recovered_valid_days', r.recovered_valid_days, 'positive_days', r.positive_days,"
        " 'contact_days', r.contact_days, 'contact_pcr_clear_day', r.contact_pcr_clear_day,"
        " 'contact_clear_day', r.contact_clear_day, 'adult_age', r.adult_age,"
        " 'region_rules', (SELECT count(*) FROM rule_set_regions g WHERE g.rule_set_id ="
        " r.rule_set_id) + (SELECT count(*) FROM rule_set_region_categories g"
        " WHERE g.rule_set_id = r.rule_set_id)) ORDER BY r.effective_from), '[]')"
        " FROM rule_sets r",
        "rules list", "no answer");
    PQfinish(conn);
    return rc;
  }
  PGresult *res = PQexec(
      conn,
      "SELECT r.rule_set_id, to_char(r.effective_from AT TIME ZONE 'UTC',"
      " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), r.scheme,"
      " CASE WHEN r.rule_set_id = (SELECT x.rule_set_id FROM rule_sets x"
      "   WHERE x.effective_from <= now() ORDER BY x.effective_from DESC LIMIT 1)"
      "  THEN 'in-force' WHEN r.effective_from > now() THEN 'future' ELSE 'past' END,"
      " format('antigen=%sh pcr=%sh recovered=%sd positive=%sd contact=%sd pcr_clears_day=%s"
      " clears_day=%s adult=%s', r.antigen_valid_hours, r.pcr_valid_hours,"
      " r.recovered_valid_days, r.positive_days, r.contact_days, r.contact_pcr_clear_day,"
      " r.contact_clear_day, r.adult_age),"
      " (SELECT count(*) FROM rule_set_regions g WHERE g.rule_set_id = r.rule_set_id) +"
      " (SELECT count(*) FROM rule_set_region_categories g WHERE g.rule_set_id = r.rule_set_id)"
      " FROM rule_sets r ORDER BY r.effective_from");
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = ctl_fail(CTL_RUNTIME, "rules list: %s", ctl_result_reason(res));
  } else {
    for (int i = 0; i < PQntuples(res); i++)
      printf("%s\t%s\t%s\t%s\t%s\tregion_rules=%s\n", PQgetvalue(res, i, 0),
             PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
             PQgetvalue(res, i, 4), PQgetvalue(res, i, 5));
  }
  PQclear(res);
  PQfinish(conn);
  return rc;
}

/* A whole number 0..100000 for a rule's option, or the default (NULL). */
static int ctl_rules_number(const char *name, const char *text, int fallback, int *out) {
  uint32_t v = 0;
  if (!text) {
    *out = fallback;
    return 0;
  }
  if (reg_count_parse(text, 100000, &v) != 0)
    return ctl_fail(CTL_USAGE, "rules add: invalid --%s (a whole number)", name);
  *out = (int)v;
  return 0;
}

int ctl_cmd_rules_add(int argc, char **argv) {
  const char *from = NULL, *scheme_text = NULL, *source = NULL;
  const char *numbers_text[8] = {NULL};
  static const char *const names[8] = {"antigen-hours", "pcr-hours",       "recovered-days",
                                       "positive-days", "contact-days",    "contact-pcr-day",
                                       "contact-clear-day", "adult-age"};
  ctl_option options[11] = {{"from", &from, NULL}, {"scheme", &scheme_text, NULL},
                            {"source", &source, NULL}};
  for (int i = 0; i < 8; i++) options[3 + i] = (ctl_option){names[i], &numbers_text[i], NULL};
  const char *positional[1];
  size_t npos = 0;
  int rc = ctl_parse(argc, argv, options, 11, positional, 1, &npos);
  if (rc) return rc;
  if (npos != 1) return ctl_fail(CTL_USAGE, "rules add: missing <rule_set_id>");
  if (!from) return ctl_fail(CTL_USAGE, "rules add: missing --from");
  int64_t from_ms;
  if (health_time_parse(from, &from_ms) != 0)
    return ctl_fail(CTL_USAGE, "rules add: --from is not an ISO-8601 date or time with a zone");
  health_rule_set rules;
  health_rule_set_defaults(health_scheme_parse(scheme_text), &rules);
  if (rules.scheme == HEALTH_SCHEME_INVALID)
    return ctl_fail(CTL_USAGE, "rules add: --scheme must be sept2021 or jul2022");
  int *fields[8] = {&rules.antigen_valid_hours, &rules.pcr_valid_hours,
                    &rules.recovered_valid_days, &rules.positive_days, &rules.contact_days,
                    &rules.contact_pcr_clear_day, &rules.contact_clear_day, &rules.adult_age};
  for (int i = 0; i < 8; i++)
    if (ctl_rules_number(names[i], numbers_text[i], *fields[i], fields[i]) != 0) return CTL_USAGE;
  if (!health_rule_set_valid(&rules))
    return ctl_fail(CTL_USAGE, "rules add: every number must be positive and "
                               "--contact-clear-day after --contact-pcr-day");
  char values[8][16], from_text[24];
  const char *params[12];
  params[0] = positional[0];
  snprintf(from_text, sizeof from_text, "%" PRId64, from_ms);
  params[1] = from_text;
  params[2] = health_scheme_name(rules.scheme);
  for (int i = 0; i < 8; i++) {
    snprintf(values[i], sizeof values[i], "%d", *fields[i]);
    params[3 + i] = values[i];
  }
  params[11] = source ? source : "";

  int code = CTL_OK;
  PGconn *conn = ctl_connect(NULL, &code);
  if (!conn) return code;
  if (ctl_rules_set_actor(conn) != 0) {
    PQfinish(conn);
    return CTL_RUNTIME;
  }
  PGresult *res = PQexecParams(
      conn,
      "INSERT INTO rule_sets (rule_set_id, effective_from, scheme, antigen_valid_hours,"
      " pcr_valid_hours, recovered_valid_days, positive_days, contact_days,"
      " contact_pcr_clear_day, contact_clear_day, adult_age, source) VALUES ($1,"
      " timestamptz 'epoch' + $2::bigint * interval '1 millisecond', $3, $4, $5, $6, $7, $8, $9,"
      " $10, $11, $12)",
      12, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_COMMAND_OK)
    rc = ctl_fail(CTL_RUNTIME, "rules add: %s", ctl_result_reason(res));
  else
    printf("rule set %s (%s) takes effect at %s\n", positional[0], params[2], from);
  PQclear(res);
  PQfinish(conn);
  return rc;
}

/* "green", "green,yellow", "yellow" or "none": the colours a category admits. */
static int ctl_rules_admits(const char *text, bool *green, bool *yellow) {
  *green = *yellow = false;
  if (strcmp(text, "none") == 0) return 0;
  char copy[32];
  snprintf(copy, sizeof copy, "%s", text);
  for (char *save = NULL, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    if (strcmp(w, "green") == 0)
      *green = true;
    else if (strcmp(w, "yellow") == 0)
      *yellow = true;
    else
      return -1;
  }
  return *green || *yellow ? 0 : -1;
}

static bool ctl_region_valid(const char *r) {
  size_t len = strlen(r);
  bool digits = strspn(r, "0123456789") == 2 && r[0] != '0';
  return digits && (len == 2 || (len == 5 && r[2] == '.' && strspn(r + 3, "0123456789") == 2));
}

int ctl_cmd_rules_region(int argc, char **argv) {
  const char *ppkm = NULL, *category = NULL, *admits = NULL;
  const ctl_option options[] = {
      {"ppkm", &ppkm, NULL}, {"category", &category, NULL}, {"admits", &admits, NULL}};
  const char *positional[2];
  size_t npos = 0;
  int rc = ctl_parse(argc, argv, options, 3, positional, 2, &npos);
  if (rc) return rc;
  if (npos != 2) return ctl_fail(CTL_USAGE, "rules region: missing <rule_set_id> <region>");
  if (!ctl_region_valid(positional[1]))
    return ctl_fail(CTL_USAGE, "rules region: a region is a province code (31) or with its "
                               "regency (31.74)");
  uint32_t level = 0;
  if (ppkm && (reg_count_parse(ppkm, 4, &level) != 0 || level < 1))
    return ctl_fail(CTL_USAGE, "rules region: --ppkm must be 1 to 4");
  bool green = false, yellow = false;
  if (!category != !admits)
    return ctl_fail(CTL_USAGE, "rules region: --category and --admits go together");
  if (admits && ctl_rules_admits(admits, &green, &yellow) != 0)
    return ctl_fail(CTL_USAGE, "rules region: --admits is green, yellow, green,yellow or none");
  if (!ppkm && !category) return ctl_fail(CTL_USAGE, "rules region: nothing to set (--ppkm, --category)");

  int code = CTL_OK;
  PGconn *conn = ctl_connect(NULL, &code);
  if (!conn) return code;
  rc = ctl_exec(conn, "BEGIN", "rules region") == 0 && ctl_rules_set_actor(conn) == 0 ? CTL_OK
                                                                                      : CTL_RUNTIME;
  PGresult *res = NULL;
  if (rc == CTL_OK && ppkm) {
    const char *p[3] = {positional[0], positional[1], ppkm};
    res = PQexecParams(conn,
                       "INSERT INTO rule_set_regions VALUES ($1, $2, $3::smallint)"
                       " ON CONFLICT (rule_set_id, region) DO UPDATE SET ppkm_level ="
                       " EXCLUDED.ppkm_level",
                       3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
      rc = ctl_fail(CTL_RUNTIME, "rules region: %s", ctl_result_reason(res));
    PQclear(res);
  }
  if (rc == CTL_OK && category) {
    const char *p[5] = {positional[0], positional[1], category, green ? "t" : "f",
                        yellow ? "t" : "f"};
    res = PQexecParams(conn,
                       "INSERT INTO rule_set_region_categories VALUES ($1, $2, $3, $4, $5)"
                       " ON CONFLICT (rule_set_id, region, category) DO UPDATE SET"
                       " admits_green = EXCLUDED.admits_green,"
                       " admits_yellow = EXCLUDED.admits_yellow",
                       5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
      rc = ctl_fail(CTL_RUNTIME, "rules region: %s", ctl_result_reason(res));
    PQclear(res);
  }
  if (rc == CTL_OK && ctl_exec(conn, "COMMIT", "rules region") != 0) rc = CTL_RUNTIME;
  if (rc == CTL_OK)
    printf("rule set %s: region %s updated\n", positional[0], positional[1]);
  else
    ctl_rollback(conn);
  PQfinish(conn);
  return rc;
}
