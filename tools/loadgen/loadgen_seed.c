/* loadgen_seed: what lindung-loadgen reads before it starts: the seeded
 * people (seed/people.csv), the venues (PostgreSQL) and each partner's keys
 * (partners/<id>/). */
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

void loadgen_load_people(void) {
  char path[4096];
  snprintf(path, sizeof path, "%s/seed/people.csv", lg.opt.run_dir);
  FILE *f = fopen(path, "r");
  if (!f) loadgen_die("cannot read seed/people.csv (run lindungctl seed first)");
  size_t capacity = 1024;
  lg.people = malloc(capacity * sizeof *lg.people);
  char line[256];
  while (fgets(line, sizeof line, f)) {
    char *nik = strtok(line, ",\n"), *status = strtok(NULL, ",\n");
    if (!nik || !status || strlen(nik) != 16 || nik[0] < '0' || nik[0] > '9') continue;
    if (lg.people_count == capacity) lg.people = realloc(lg.people, (capacity *= 2) * sizeof *lg.people);
    memcpy(lg.people[lg.people_count].nik, nik, 17);
    lg.people[lg.people_count].colour = loadgen_colour_parse(status);
    lg.people_count++;
  }
  fclose(f);
  sodium_memzero(line, sizeof line);
  if (!lg.people_count) loadgen_die("seed/people.csv holds no people");
}

void loadgen_load_venues(void) {
  PGconn *db = PQconnectdb(lg.opt.db_url);
  if (PQstatus(db) != CONNECTION_OK) loadgen_die("cannot connect to LINDUNG_DB_URL");
  PGresult *res = PQexec(db,
                         "SELECT v.venue_id, c.admits_green, c.admits_yellow, v.capacity IS NOT NULL, "
                         "CASE s.value WHEN '3' THEN c.share_level3 WHEN '4' THEN c.share_level4 "
                         "ELSE c.share_level2 END = 0 "
                         "FROM venues v JOIN venue_categories c USING (category) "
                         "LEFT JOIN settings s ON s.name = 'ppkm_level' ORDER BY v.venue_id");
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) loadgen_die("no venues (run lindungctl seed first)");
  lg.venue_count = (size_t)PQntuples(res);
  lg.venues = calloc(lg.venue_count, sizeof *lg.venues);
  for (size_t i = 0; i < lg.venue_count; i++) {
    snprintf(lg.venues[i].venue_id, sizeof lg.venues[i].venue_id, "%s", PQgetvalue(res, (int)i, 0));
    lg.venues[i].admits_green = PQgetvalue(res, (int)i, 1)[0] == 't';
    lg.venues[i].admits_yellow = PQgetvalue(res, (int)i, 2)[0] == 't';
    lg.venues[i].capped = PQgetvalue(res, (int)i, 3)[0] == 't';
    lg.venues[i].closed = PQgetvalue(res, (int)i, 4)[0] == 't';
  }
  PQclear(res);
  PQfinish(db);
}

static int read_small_file(const char *path, char *out, size_t cap) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(out, 1, cap - 1, f);
  fclose(f);
  out[n] = '\0';
  while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = '\0';
  return 0;
}

static void add_partner(const char *id) {
  if (lg.partner_count == MAX_PARTNERS) loadgen_die("too many partners");
  partner_state *p = &lg.partners[lg.partner_count];
  char dir[4096], path[4200], key_id[32], err[256];
  snprintf(dir, sizeof dir, "%s/partners/%s", lg.opt.run_dir, id);
  snprintf(path, sizeof path, "%s/key_id", dir);
  if (read_small_file(path, key_id, sizeof key_id)) loadgen_die("cannot read a partner's key_id");
  snprintf(path, sizeof path, "%s/secret.key", dir);
  snprintf(p->id, sizeof p->id, "%s", id);
  snprintf(p->topic, sizeof p->topic, "scan.results.%s", id);
  partner_sdk_credentials credentials = {.partner_id = p->id,
                                         .partner_key_id = (uint32_t)strtoul(key_id, NULL, 10),
                                         .system_key_id = lg.opt.system_key_id,
                                         .system_public_key = lg.opt.system_pk,
                                         .secret_key_file = path};
  if (partner_sdk_open(&credentials, &p->sdk, err, sizeof err)) loadgen_die(err);
  latency_histogram_reset(&p->latency);
  lg.partner_count++;
}

void loadgen_load_partners(void) {
  if (lg.opt.partner_list) {
    char *list = strdup(lg.opt.partner_list);
    for (char *id = strtok(list, ","); id; id = strtok(NULL, ",")) add_partner(id);
    free(list);
    return;
  }
  static const char *const launch[] = {"gojek", "grab", "tokopedia", "tiketcom", "dana",
                                       "livin-mandiri", "traveloka", "cinema-xxi", "linkaja",
                                       "goers", "jaki"};
  for (size_t i = 0; i < sizeof launch / sizeof launch[0]; i++) add_partner(launch[i]);
}

