/* lindungctl venue commands: venues are identified by the text of their QR
 * code and belong to one of the categories in venue_categories. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

int ctl_cmd_venue_add(int argc, char **argv) {
  const char *name = NULL, *category = NULL, *capacity_text = NULL;
  const ctl_option options[] = {
      {"name", &name, NULL}, {"category", &category, NULL}, {"capacity", &capacity_text, NULL}};
  const char *positional[1];
  size_t npos = 0;
  int rc = ctl_parse(argc, argv, options, 3, positional, 1, &npos);
  if (rc) return rc;
  if (npos != 1) return ctl_fail(CTL_USAGE, "venue add: missing <venue_id>");
  const char *venue_id = positional[0];
  if (!reg_venue_id_valid(venue_id))
    return ctl_fail(CTL_USAGE, "venue add: invalid venue id (1 to 64 printable ASCII characters)");
  if (!name) return ctl_fail(CTL_USAGE, "venue add: missing --name");
  if (!reg_name_valid(name))
    return ctl_fail(CTL_USAGE, "venue add: invalid name (1 to 200 bytes, no control characters)");
  if (!category) return ctl_fail(CTL_USAGE, "venue add: missing --category");
  uint32_t capacity = 0;
  if (capacity_text && reg_count_parse(capacity_text, INT32_MAX, &capacity) != 0)
    return ctl_fail(CTL_USAGE, "venue add: invalid capacity (0 to 2147483647)");
  char capacity_buf[16];
  snprintf(capacity_buf, sizeof capacity_buf, "%" PRIu32, capacity);

  int code = CTL_OK;
  PGconn *conn = ctl_connect(NULL, &code);
  if (!conn) return code;
  const char *params[4] = {venue_id, name, category, capacity_text ? capacity_buf : NULL};
  PGresult *res = PQexecParams(conn,
                               "INSERT INTO venues (venue_id, name, category, capacity) "
                               "VALUES ($1, $2, $3, $4::integer)",
                               4, NULL, params, NULL, NULL, 0);
  rc = CTL_OK;
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    const char *state = ctl_result_state(res);
    if (strcmp(state, "23503") == 0)
      rc = ctl_fail(CTL_RUNTIME, "venue add: unknown category (see venue_categories)");
    else if (strcmp(state, "23505") == 0)
      rc = ctl_fail(CTL_RUNTIME, "venue add: venue %s already exists", venue_id);
    else
      rc = ctl_fail(CTL_RUNTIME, "venue add: %s", ctl_result_reason(res));
  } else {
    printf("venue %s added\n", venue_id);
  }
  PQclear(res);
  PQfinish(conn);
  return rc;
}

int ctl_cmd_venue_list(int argc, char **argv) {
  bool json = false;
  const ctl_option options[] = {{"json", NULL, &json}};
  int rc = ctl_parse(argc, argv, options, 1, NULL, 0, NULL);
  if (rc) return rc;
  int code = CTL_OK;
  PGconn *conn = ctl_connect(NULL, &code);
  if (!conn) return code;
  if (json) {
    /* capacity null: unlimited. */
    rc = ctl_print_json(conn,
                        "SELECT coalesce(json_agg(json_build_object('venue_id', venue_id, "
                        "'name', name, 'category', category, 'capacity', capacity, "
                        "'occupancy', occupancy) ORDER BY venue_id), '[]') FROM venues",
                        "venue list", "no answer");
    PQfinish(conn);
    return rc;
  }
  PGresult *res = PQexec(conn,
                         "SELECT venue_id, category, COALESCE(capacity::text, 'unlimited'), "
                         "occupancy, name FROM venues ORDER BY venue_id");
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = ctl_fail(CTL_RUNTIME, "venue list: %s", ctl_result_reason(res));
  } else {
    for (int i = 0; i < PQntuples(res); i++)
      printf("%s\t%s\t%s\t%s\t%s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
             PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
  }
  PQclear(res);
  PQfinish(conn);
  return rc;
}
