/* pcli_creds: who lindung-partner speaks as. An option wins over
 * --partner-dir (DIR/key_id, DIR/secret.key, DIR/kafka.{crt,key}), which
 * wins over the environment. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "hex.h"
#include "partner_cli.h"

typedef struct pcli_env {
  const char *value[OPT_COUNT];
} pcli_env;


static void pcli_load_env(pcli_env *env) {
  cfg_option table[OPT_COUNT];
  size_t n = 0;
  memset(env, 0, sizeof(*env));
  for (int o = 0; o < OPT_COUNT; o++) {
    if (!pcli_specs[o].env) continue;
    table[n++] = (cfg_option)CFG_STRING(pcli_specs[o].env, &env->value[o], "", pcli_specs[o].help);
  }
  char err[256];
  /* With defaults for every variable, loading strings cannot fail. */
  (void)cfg_load(table, n, err, sizeof(err));
  for (int o = 0; o < OPT_COUNT; o++)
    if (env->value[o] && !*env->value[o]) env->value[o] = NULL;
}

/* Reads DIR/key_id: a decimal number and a newline. */
static int pcli_read_key_id_file(const char *dir, char *out, size_t cap) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/key_id", dir);
  FILE *f = fopen(path, "r");
  if (!f) return pcli_failure("cannot read %s: %s", path, strerror(errno));
  char line[32] = "";
  bool ok = fgets(line, sizeof(line), f) != NULL;
  fclose(f);
  line[strcspn(line, "\r\n")] = '\0';
  if (!ok || !*line) return pcli_failure("%s is empty", path);
  snprintf(out, cap, "%s", line);
  return 0;
}

/* The last component of dir, without trailing slashes. */
void pcli_dir_name(const char *dir, char *out, size_t cap) {
  size_t end = strlen(dir);
  while (end > 1 && dir[end - 1] == '/') end--;
  size_t start = end;
  while (start > 0 && dir[start - 1] != '/') start--;
  size_t n = end - start < cap - 1 ? end - start : cap - 1;
  memcpy(out, dir + start, n);
  out[n] = '\0';
}

int pcli_resolve(const char *command, const pcli_args *args, pcli_creds *c) {
  pcli_env env;
  pcli_load_env(&env);
  memset(c, 0, sizeof(*c));
  const char *dir = args->value[OPT_PARTNER_DIR];
  /* A directory named in the environment still loses to options, but wins
   * over the variables for the fields it holds. */
  if (!dir) dir = env.value[OPT_PARTNER_DIR];
  char dir_partner[64] = "", dir_key_id[32] = "", dir_secret[4096] = "";
  if (dir) {
    pcli_dir_name(dir, dir_partner, sizeof(dir_partner));
    if (!args->value[OPT_KEY_ID]) {
      int rc = pcli_read_key_id_file(dir, dir_key_id, sizeof(dir_key_id));
      if (rc) return rc;
    }
    snprintf(dir_secret, sizeof(dir_secret), "%s/secret.key", dir);
  }
#define PICK(o, from_dir) \
  (args->value[o] ? args->value[o] : (dir && *(from_dir) ? (from_dir) : env.value[o]))
  const char *partner = PICK(OPT_PARTNER, dir_partner);
  const char *key_id = PICK(OPT_KEY_ID, dir_key_id);
  const char *secret = PICK(OPT_SECRET_KEY_FILE, dir_secret);
  const char *system_key_id = PICK(OPT_SYSTEM_KEY_ID, "");
  const char *system_pk = PICK(OPT_SYSTEM_PUBLIC_KEY, "");
  const char *brokers = PICK(OPT_BROKERS, "");
#undef PICK
  if (!partner) return pcli_usage_error(command, "no partner id (--partner or LINDUNG_PARTNER_ID)");
  if (!pcli_valid_partner_id(partner))
    return pcli_usage_error(command, "partner id must be 2 to 32 characters of a-z, 0-9, -");
  if (!key_id) return pcli_usage_error(command, "no key id (--key-id or LINDUNG_PARTNER_KEY_ID)");
  if (!pcli_parse_key_id(key_id, &c->key_id))
    return pcli_usage_error(command, "key id must be a number from 1 to 4294967295");
  if (!secret)
    return pcli_usage_error(command,
                            "no secret key file (--secret-key-file or "
                            "LINDUNG_PARTNER_SECRET_KEY_FILE)");
  if (!system_key_id)
    return pcli_usage_error(command, "no system key id (--system-key-id or LINDUNG_SYSTEM_KEY_ID)");
  if (!pcli_parse_key_id(system_key_id, &c->system_key_id))
    return pcli_usage_error(command, "system key id must be a number from 1 to 4294967295");
  if (!system_pk)
    return pcli_usage_error(command,
                            "no system public key (--system-public-key or "
                            "LINDUNG_SYSTEM_PUBLIC_KEY)");
  uint8_t pk[32];
  if (strlen(system_pk) != 64 || hex_decode(system_pk, pk, sizeof(pk)) != 0)
    return pcli_usage_error(command, "system public key must be 64 hex characters");
  if (!brokers) return pcli_usage_error(command, "no brokers (--brokers or LINDUNG_KAFKA_BROKERS)");
  char err[256];
  if (ksec_load_env(&c->security, err, sizeof(err)) != 0)
    return pcli_usage_error(command, "%s", err);
  if (dir) {
    /* A partner directory holding a client certificate speaks as that partner. */
    snprintf(c->cert_file, sizeof(c->cert_file), "%s/kafka.crt", dir);
    snprintf(c->key_file, sizeof(c->key_file), "%s/kafka.key", dir);
    if (access(c->cert_file, R_OK) == 0 && access(c->key_file, R_OK) == 0) {
      c->security.protocol = "ssl";
      c->security.cert_file = c->cert_file;
      c->security.key_file = c->key_file;
      if (ksec_check(&c->security, err, sizeof(err)) != 0) return pcli_usage_error(command, "%s", err);
    }
  }
  /* Validated above: at most 32 characters, so it fits. */
  snprintf(c->partner_id, sizeof(c->partner_id), "%.32s", partner);
  snprintf(c->secret_key_file, sizeof(c->secret_key_file), "%s", secret);
  c->system_public_key = system_pk;
  c->brokers = brokers;
  return 0;
}

int pcli_open_sdk(const pcli_creds *c, partner_sdk **sdk) {
  partner_sdk_credentials credentials = {
      .partner_id = c->partner_id,
      .partner_key_id = c->key_id,
      .system_key_id = c->system_key_id,
      .system_public_key = c->system_public_key,
      .secret_key_file = c->secret_key_file,
  };
  char err[512];
  if (partner_sdk_open(&credentials, sdk, err, sizeof(err)) != 0)
    return pcli_failure("credentials: %s", err);
  return 0;
}
