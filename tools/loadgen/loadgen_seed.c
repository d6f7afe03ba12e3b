/* loadgen_seed: what the tools that drive a running stack read before they
 * start (loadgen_seed.h). */
#include "loadgen_seed.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const loadgen_launch_partners[] = {"gojek",     "grab",       "tokopedia", "tiketcom",
                                               "dana",      "livin-mandiri", "traveloka",
                                               "cinema-xxi", "linkaja",    "goers",     "jaki"};
const size_t loadgen_launch_partner_count =
    sizeof loadgen_launch_partners / sizeof loadgen_launch_partners[0];

static int loadgen_seed_fail(char *err, size_t err_len, const char *why) {
  snprintf(err, err_len, "%s", why);
  return -1;
}

int loadgen_env_load(loadgen_env *env, char *err, size_t err_len) {
  env->run_dir = getenv("LINDUNG_RUN_DIR") ? getenv("LINDUNG_RUN_DIR") : ".run";
  env->brokers = getenv("LINDUNG_KAFKA_BROKERS");
  env->db_url = getenv("LINDUNG_DB_URL");
  env->system_pk = getenv("LINDUNG_SYSTEM_PUBLIC_KEY");
  const char *key_id = getenv("LINDUNG_SYSTEM_KEY_ID");
  if (!env->brokers || !env->db_url || !env->system_pk || !key_id)
    return loadgen_seed_fail(err, err_len,
                             "LINDUNG_KAFKA_BROKERS, LINDUNG_DB_URL, LINDUNG_SYSTEM_KEY_ID and "
                             "LINDUNG_SYSTEM_PUBLIC_KEY are required (source .run/stack.env)");
  env->system_key_id = (uint32_t)strtoul(key_id, NULL, 10);
  return ksec_load_env(&env->security, err, err_len) ? -1 : 0;
}

int loadgen_seed_people(const char *run_dir, loadgen_person **people, size_t *count, char *err,
                        size_t err_len) {
  char path[4096], line[256];
  snprintf(path, sizeof path, "%s/seed/people.csv", run_dir);
  FILE *f = fopen(path, "r");
  if (!f) return loadgen_seed_fail(err, err_len, "cannot read seed/people.csv (run lindungctl seed first)");
  size_t capacity = 1024, n = 0;
  loadgen_person *list = malloc(capacity * sizeof *list);
  while (list && fgets(line, sizeof line, f)) {
    char *nik = strtok(line, ",\n"), *status = strtok(NULL, ",\n");
    if (!nik || !status || strlen(nik) != 16 || nik[0] < '0' || nik[0] > '9') continue;
    if (n == capacity) {
      loadgen_person *grown = realloc(list, (capacity *= 2) * sizeof *list);
      if (!grown) break;
      list = grown;
    }
    memcpy(list[n].nik, nik, 17);
    list[n++].colour = loadgen_colour_parse(status);
  }
  fclose(f);
  sodium_memzero(line, sizeof line);
  if (!list || !n) {
    free(list);
    return loadgen_seed_fail(err, err_len, "seed/people.csv holds no people");
  }
  *people = list;
  *count = n;
  return 0;
}

int loadgen_seed_venues(const char *db_url, loadgen_venue **venues, size_t *count, char *err,
                        size_t err_len) {
  PGconn *db = PQconnectdb(db_url);
  if (PQstatus(db) != CONNECTION_OK) {
    PQfinish(db);
    return loadgen_seed_fail(err, err_len, "cannot connect to LINDUNG_DB_URL");
  }
  /* What each venue admits now: the category's colours, a capacity, and
   * whether the PPKM level in force closes it. */
  PGresult *res = PQexec(db,
                         "SELECT v.venue_id, c.admits_green, c.admits_yellow, v.capacity IS NOT NULL, "
                         "CASE s.value WHEN '3' THEN c.share_level3 WHEN '4' THEN c.share_level4 "
                         "ELSE c.share_level2 END = 0 "
                         "FROM venues v JOIN venue_categories c USING (category) "
                         "LEFT JOIN settings s ON s.name = 'ppkm_level' ORDER BY v.venue_id");
  size_t n = PQresultStatus(res) == PGRES_TUPLES_OK ? (size_t)PQntuples(res) : 0;
  loadgen_venue *list = n ? calloc(n, sizeof *list) : NULL;
  for (size_t i = 0; list && i < n; i++) {
    snprintf(list[i].venue_id, sizeof list[i].venue_id, "%s", PQgetvalue(res, (int)i, 0));
    list[i].admits_green = PQgetvalue(res, (int)i, 1)[0] == 't';
    list[i].admits_yellow = PQgetvalue(res, (int)i, 2)[0] == 't';
    list[i].capped = PQgetvalue(res, (int)i, 3)[0] == 't';
    list[i].closed = PQgetvalue(res, (int)i, 4)[0] == 't';
  }
  PQclear(res);
  PQfinish(db);
  if (!list) return loadgen_seed_fail(err, err_len, "no venues (run lindungctl seed first)");
  *venues = list;
  *count = n;
  return 0;
}

int loadgen_seed_partner(const loadgen_env *env, const char *id, partner_sdk **sdk, char *err,
                         size_t err_len) {
  char path[4200], key_id[32] = "";
  snprintf(path, sizeof path, "%s/partners/%s/key_id", env->run_dir, id);
  FILE *f = fopen(path, "r");
  bool read = f && fgets(key_id, sizeof key_id, f);
  if (f) fclose(f);
  if (!read) return loadgen_seed_fail(err, err_len, "cannot read a partner's key_id (run lindungctl seed first)");
  snprintf(path, sizeof path, "%s/partners/%s/secret.key", env->run_dir, id);
  partner_sdk_credentials credentials = {.partner_id = id,
                                         .partner_key_id = (uint32_t)strtoul(key_id, NULL, 10),
                                         .system_key_id = env->system_key_id,
                                         .system_public_key = env->system_pk,
                                         .secret_key_file = path};
  return partner_sdk_open(&credentials, sdk, err, err_len) ? -1 : 0;
}
