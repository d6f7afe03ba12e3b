/* lindungctl seed: development and test data. The eleven launch partners
 * with fresh key pairs, venues of every category, and synthetic people with
 * valid-looking NIKs. Everything goes into the database in one transaction;
 * the files (partner secrets, the clear NIKs the test drivers need) are
 * written under temporary names first and renamed into place only after the
 * commit, so a failed seed leaves neither rows nor files behind. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "hex.h"

static const struct {
  const char *id, *name;
} ctl_launch_partners[] = {
    {"gojek", "Gojek"},         {"grab", "Grab"},
    {"tokopedia", "Tokopedia"}, {"tiketcom", "tiket.com"},
    {"dana", "DANA"},           {"livin-mandiri", "Livin' by Mandiri"},
    {"traveloka", "Traveloka"}, {"cinema-xxi", "Cinema XXI"},
    {"linkaja", "LinkAja"},     {"goers", "Goers"},
    {"jaki", "JAKI"},
};
enum { CTL_PARTNERS = sizeof ctl_launch_partners / sizeof ctl_launch_partners[0] };

/* capacity 0 here means unlimited (NULL). */
static const struct {
  const char *id, *name, *category;
  uint32_t capacity;
} ctl_seed_venues[] = {
    {"QR-MALL-0001", "Grand Indonesia, Jakarta Pusat", "mall", 8000},
    {"QR-MALL-0002", "Tunjungan Plaza, Surabaya", "mall", 6000},
    {"QR-MALL-0003", "Paris Van Java, Bandung", "mall", 4000},
    {"QR-CINEMA-0001", "XXI Plaza Senayan", "cinema", 600},
    {"QR-CINEMA-0002", "CGV Grand Indonesia", "cinema", 900},
    {"QR-CINEMA-0003", "Cinepolis Lippo Mall Puri", "cinema", 500},
    {"QR-CINEMA-TINY", "Bioskop Mini Kemang", "cinema", 1},
    {"QR-RESTAURANT-0001", "Sate Khas Senayan Kebon Sirih", "restaurant", 120},
    {"QR-RESTAURANT-0002", "Bakmi GM Gajah Mada", "restaurant", 150},
    {"QR-RESTAURANT-0003", "RM Sederhana Bendungan Hilir", "restaurant", 80},
    {"QR-TRANSPORT-0001", "Stasiun Gambir", "transport", 0},
    {"QR-TRANSPORT-0002", "Bandara Soekarno-Hatta Terminal 3", "transport", 20000},
    {"QR-TRANSPORT-0003", "Stasiun Tugu Yogyakarta", "transport", 3000},
    {"QR-OFFICE-0001", "Wisma 46 Kota BNI", "office", 2500},
    {"QR-OFFICE-0002", "Menara BCA", "office", 2000},
    {"QR-OFFICE-0003", "Gedung Sate, Bandung", "office", 800},
    {"QR-WORSHIP-0001", "Masjid Istiqlal", "worship", 200000},
    {"QR-WORSHIP-0002", "Gereja Katedral Jakarta", "worship", 1500},
    {"QR-WORSHIP-0003", "Pura Agung Jagatnatha, Denpasar", "worship", 3000},
    {"QR-TOURISM-0001", "Taman Mini Indonesia Indah", "tourism", 30000},
    {"QR-TOURISM-0002", "Candi Borobudur", "tourism", 10000},
    {"QR-TOURISM-0003", "Ancol Dreamland", "tourism", 25000},
};
enum { CTL_VENUES = sizeof ctl_seed_venues / sizeof ctl_seed_venues[0] };

/* Province codes in use by Dukcapil (Aceh 11 ... Papua Barat 92/94). */
static const int ctl_provinces[] = {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32,
                                    33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65,
                                    71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94};

#define CTL_MAX_PEOPLE 5000000u
#define CTL_MAX_FILES (3 * CTL_PARTNERS + 1)

/* Files written under "<final>.tmp", renamed after the commit. */
typedef struct ctl_pending_files {
  char final_path[CTL_MAX_FILES][4096];
  size_t count;
} ctl_pending_files;

/* "<path>.tmp": room for the longest final path and the suffix. */
typedef char ctl_pending_tmp[sizeof((ctl_pending_files *)0)->final_path[0] + 4];

static int ctl_pending_write(ctl_pending_files *files, const char *path, const char *content,
                             unsigned mode) {
  ctl_pending_tmp tmp;
  if (strlen(path) >= sizeof files->final_path[0] ||
      snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return ctl_fail(CTL_RUNTIME, "seed: path too long: %s", path);
  unlink(tmp);
  int err = ctl_write_file(tmp, content, mode, true);
  if (err) return ctl_fail(CTL_RUNTIME, "seed: cannot write %s: %s", tmp, strerror(-err));
  snprintf(files->final_path[files->count++], sizeof files->final_path[0], "%s", path);
  return CTL_OK;
}

static void ctl_pending_finish(ctl_pending_files *files, bool commit, int *rc) {
  for (size_t i = 0; i < files->count; i++) {
    ctl_pending_tmp tmp;
    snprintf(tmp, sizeof tmp, "%s.tmp", files->final_path[i]);
    if (!commit) {
      unlink(tmp);
    } else if (rename(tmp, files->final_path[i]) != 0 && *rc == CTL_OK) {
      *rc = ctl_fail(CTL_RUNTIME, "seed: cannot rename %s: %s", tmp, strerror(errno));
    }
  }
}

static uint64_t ctl_mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

/* Open addressing over NIKs as numbers (never 0: provinces start at 11). */
static bool ctl_set_insert(uint64_t *table, size_t mask, uint64_t value) {
  for (size_t i = ctl_mix(value) & mask;; i = (i + 1) & mask) {
    if (table[i] == value) return false;
    if (table[i] == 0) {
      table[i] = value;
      return true;
    }
  }
}

static reg_colour ctl_random_colour(void) {
  uint32_t r = randombytes_uniform(100);
  return r < 70   ? REG_COLOUR_GREEN
         : r < 85 ? REG_COLOUR_YELLOW
         : r < 95 ? REG_COLOUR_RED
                  : REG_COLOUR_BLACK;
}

/* Fills subjects with n unique synthetic people and writes their clear NIKs
 * as CSV into *csv (caller frees). */
static int ctl_make_people(uint32_t n, const uint8_t key[REG_KEY_BYTES], ctl_subject *subjects,
                           char **csv) {
  size_t slots = 16;
  while (slots < 2 * (size_t)n + 16) slots *= 2;
  uint64_t *seen = calloc(slots, sizeof *seen);
  char *text = malloc((size_t)n * 40 + 64);
  if (!seen || !text) {
    free(seen);
    free(text);
    return ctl_fail(CTL_RUNTIME, "out of memory");
  }
  size_t used = (size_t)sprintf(text, "nik,status,birth_date\n");
  int province_count = (int)(sizeof ctl_provinces / sizeof ctl_provinces[0]);
  for (uint32_t i = 0; i < n;) {
    reg_date birth = {1945 + (int)randombytes_uniform(71), 1 + (int)randombytes_uniform(12),
                      1 + (int)randombytes_uniform(31)};
    if (!reg_date_valid(birth)) continue;
    char nik[REG_NIK_LEN + 1];
    if (reg_nik_compose(ctl_provinces[randombytes_uniform((uint32_t)province_count)],
                        1 + (int)randombytes_uniform(30), 1 + (int)randombytes_uniform(40), birth,
                        randombytes_uniform(2) == 1, 1 + (int)randombytes_uniform(9999), nik) != 0)
      continue;
    if (!ctl_set_insert(seen, slots - 1, strtoull(nik, NULL, 10))) continue;
    ctl_subject *s = &subjects[i];
    reg_nik_hash(key, nik, s->nik_hash);
    s->colour = ctl_random_colour();
    s->has_birth_date = true;
    s->birth_date = birth;
    s->line = i + 1;
    used += (size_t)sprintf(text + used, "%s,%s,%04d-%02d-%02d\n", nik, reg_colour_name(s->colour),
                            birth.year, birth.month, birth.day);
    sodium_memzero(nik, sizeof nik);
    i++;
  }
  free(seen);
  *csv = text;
  return CTL_OK;
}

/* Inserts the launch partners not already present; writes their key files. */
static int ctl_seed_partners(PGconn *conn, const char *dir, bool reuse, ctl_pending_files *files,
                             int *added) {
  for (size_t i = 0; i < CTL_PARTNERS; i++) {
    const char *id = ctl_launch_partners[i].id;
    const char *p1[2] = {id, ctl_launch_partners[i].name};
    PGresult *res = PQexecParams(conn,
                                 "INSERT INTO partners (partner_id, name, status) "
                                 "VALUES ($1, $2, 'active') ON CONFLICT (partner_id) DO NOTHING",
                                 2, NULL, p1, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      int rc = ctl_fail(CTL_RUNTIME, "seed: %s", ctl_result_reason(res));
      PQclear(res);
      return rc;
    }
    bool inserted = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!inserted) {
      if (!reuse)
        return ctl_fail(CTL_RUNTIME, "seed: partner %s already exists (use --reuse to keep it)",
                        id);
      continue;
    }
    uint8_t pk[crypto_kx_PUBLICKEYBYTES], sk[crypto_kx_SECRETKEYBYTES];
    char pk_hex[2 * sizeof pk + 2], sk_hex[2 * sizeof sk + 2], path[4096];
    crypto_kx_keypair(pk, sk);
    hex_encode(pk, sizeof pk, pk_hex);
    hex_encode(sk, sizeof sk, sk_hex);
    sodium_memzero(sk, sizeof sk);
    const char *p2[2] = {id, pk_hex};
    res = PQexecParams(conn,
                       "INSERT INTO partner_keys (partner_id, key_id, public_key, status) "
                       "VALUES ($1, 1, decode($2, 'hex'), 'active')",
                       2, NULL, p2, NULL, NULL, 0);
    int rc = CTL_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
      rc = ctl_fail(CTL_RUNTIME, "seed: %s", ctl_result_reason(res));
    PQclear(res);
    strcat(pk_hex, "\n");
    strcat(sk_hex, "\n");
    snprintf(path, sizeof path, "%s/partners/%s", dir, id);
    if (rc == CTL_OK && ctl_mkdirs(path) != 0)
      rc = ctl_fail(CTL_RUNTIME, "seed: cannot create %s", path);
    if (rc == CTL_OK) {
      snprintf(path, sizeof path, "%s/partners/%s/secret.key", dir, id);
      rc = ctl_pending_write(files, path, sk_hex, 0400);
    }
    sodium_memzero(sk_hex, sizeof sk_hex);
    if (rc == CTL_OK) {
      snprintf(path, sizeof path, "%s/partners/%s/public.hex", dir, id);
      rc = ctl_pending_write(files, path, pk_hex, 0644);
    }
    if (rc == CTL_OK) {
      snprintf(path, sizeof path, "%s/partners/%s/key_id", dir, id);
      rc = ctl_pending_write(files, path, "1\n", 0644);
    }
    if (rc != CTL_OK) return rc;
    (*added)++;
  }
  return CTL_OK;
}

static int ctl_seed_venues_insert(PGconn *conn, int *added) {
  for (size_t i = 0; i < CTL_VENUES; i++) {
    char capacity[16];
    snprintf(capacity, sizeof capacity, "%" PRIu32, ctl_seed_venues[i].capacity);
    const char *params[4] = {ctl_seed_venues[i].id, ctl_seed_venues[i].name,
                             ctl_seed_venues[i].category,
                             ctl_seed_venues[i].capacity ? capacity : NULL};
    PGresult *res = PQexecParams(conn,
                                 "INSERT INTO venues (venue_id, name, category, capacity) "
                                 "VALUES ($1, $2, $3, $4::integer) "
                                 "ON CONFLICT (venue_id) DO NOTHING",
                                 4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      int rc = ctl_fail(CTL_RUNTIME, "seed: %s", ctl_result_reason(res));
      PQclear(res);
      return rc;
    }
    *added += strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
  }
  return CTL_OK;
}

int ctl_cmd_seed(int argc, char **argv) {
  const char *people_text = NULL, *out_dir = NULL;
  bool reuse = false;
  const ctl_option options[] = {
      {"people", &people_text, NULL}, {"out-dir", &out_dir, NULL}, {"reuse", NULL, &reuse}};
  int rc = ctl_parse(argc, argv, options, 3, NULL, 0, NULL);
  if (rc) return rc;
  uint32_t people = 0;
  if (!people_text) return ctl_fail(CTL_USAGE, "seed: missing --people");
  if (reg_count_parse(people_text, CTL_MAX_PEOPLE, &people) != 0)
    return ctl_fail(CTL_USAGE, "seed: invalid --people (0 to %u)", CTL_MAX_PEOPLE);
  const char *dir = out_dir ? out_dir : ctl_run_dir();
  if (!*dir) return ctl_fail(CTL_USAGE, "seed: --out-dir is empty");
  uint8_t key[REG_KEY_BYTES];
  rc = ctl_read_nik_key(key);
  if (rc) return rc;

  ctl_subject *subjects = calloc(people ? people : 1, sizeof *subjects);
  char *csv = NULL;
  if (!subjects) {
    sodium_memzero(key, sizeof key);
    return ctl_fail(CTL_RUNTIME, "out of memory");
  }
  rc = ctl_make_people(people, key, subjects, &csv);
  sodium_memzero(key, sizeof key);
  if (rc) {
    free(subjects);
    return rc;
  }

  ctl_pending_files *files = calloc(1, sizeof *files);
  int code = CTL_OK;
  PGconn *conn = files ? ctl_connect(NULL, &code) : NULL;
  if (!conn) {
    if (!files) code = ctl_fail(CTL_RUNTIME, "out of memory");
    free(files);
    free(subjects);
    free(csv);
    return code;
  }
  int partners_added = 0, venues_added = 0;
  char seed_dir[4096], csv_path[4200];
  snprintf(seed_dir, sizeof seed_dir, "%s/seed", dir);
  snprintf(csv_path, sizeof csv_path, "%s/people.csv", seed_dir);
  rc = ctl_exec(conn, "BEGIN", "seed") == 0 ? CTL_OK : CTL_RUNTIME;
  if (rc == CTL_OK) rc = ctl_seed_partners(conn, dir, reuse, files, &partners_added);
  if (rc == CTL_OK) rc = ctl_seed_venues_insert(conn, &venues_added);
  if (rc == CTL_OK && ctl_store_subjects(conn, subjects, people) != 0) rc = CTL_RUNTIME;
  if (rc == CTL_OK && ctl_mkdirs(seed_dir) != 0)
    rc = ctl_fail(CTL_RUNTIME, "seed: cannot create %s", seed_dir);
  if (rc == CTL_OK) rc = ctl_pending_write(files, csv_path, csv, 0600);
  if (rc == CTL_OK && ctl_exec(conn, "COMMIT", "seed") != 0) rc = CTL_RUNTIME;
  if (rc != CTL_OK) ctl_rollback(conn);
  PQfinish(conn);
  ctl_pending_finish(files, rc == CTL_OK, &rc);
  sodium_memzero(csv, strlen(csv));
  free(csv);
  free(subjects);
  free(files);
  if (rc == CTL_OK)
    printf("seeded %d partners (%d kept), %d venues, %" PRIu32 " people; files in %s\n",
           partners_added, CTL_PARTNERS - partners_added, venues_added, people, dir);
  return rc;
}
