/* loadgen_seed: what the tools that drive a running stack (lindung-loadgen,
 * lindung-faults, lindung-positive-bench) read before they start: the
 * stack's environment (stack.env), the seeded people (seed/people.csv),
 * the venues and what each admits now (PostgreSQL), and each partner's keys
 * (partners/<id>/, as `lindungctl seed` writes them). Errors go to a
 * caller's buffer; each tool decides how to die. Prefix loadgen_. */
#ifndef LINDUNG_LOADGEN_SEED_H
#define LINDUNG_LOADGEN_SEED_H

#include <stddef.h>
#include <stdint.h>

#include "kafka_security.h"
#include "loadgen_expect.h"
#include "partner_sdk.h"

typedef struct loadgen_env {
  const char *run_dir; /* LINDUNG_RUN_DIR, default .run */
  const char *brokers, *db_url, *system_pk;
  uint32_t system_key_id;
  kafka_security security; /* LINDUNG_KAFKA_SSL_*: the stack's own principal */
} loadgen_env;

typedef struct loadgen_person {
  char nik[17];
  loadgen_colour colour;
} loadgen_person;

/* The eleven launch partners `lindungctl seed` creates. */
extern const char *const loadgen_launch_partners[];
extern const size_t loadgen_launch_partner_count;

int loadgen_env_load(loadgen_env *env, char *err, size_t err_len);
/* The people of run_dir/seed/people.csv (caller wipes and frees). */
int loadgen_seed_people(const char *run_dir, loadgen_person **people, size_t *count, char *err,
                        size_t err_len);
/* Every venue (caller frees). */
int loadgen_seed_venues(const char *db_url, loadgen_venue **venues, size_t *count, char *err,
                        size_t err_len);
/* Opens the SDK of partner id with its keys under run_dir/partners/id/. */
int loadgen_seed_partner(const loadgen_env *env, const char *id, partner_sdk **sdk, char *err,
                         size_t err_len);

#endif
