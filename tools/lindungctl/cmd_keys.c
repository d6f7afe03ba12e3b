/* lindungctl system-key and partner commands: the keys of the scan path.
 * Secret keys only ever go to files created with mode 0400; the database
 * holds public keys. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "hex.h"

static int ctl_parent_dir(const char *path) {
  char dir[4096];
  if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) return -ENAMETOOLONG;
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return 0;
  *slash = '\0';
  return ctl_mkdirs(dir);
}

int ctl_cmd_system_key_create(int argc, char **argv) {
  const char *secret_out = NULL;
  const ctl_option options[] = {{"secret-out", &secret_out, NULL}};
  int rc = ctl_parse(argc, argv, options, 1, NULL, 0, NULL);
  if (rc) return rc;
  if (secret_out && !*secret_out)
    return ctl_fail(CTL_USAGE, "system-key create: --secret-out is empty");
  int code = CTL_OK;
  PGconn *conn = ctl_connect(NULL, &code);
  if (!conn) return code;
  /* The lock makes max+1 safe against a concurrent create. */
  if (ctl_exec(conn, "BEGIN", "system-key create") != 0 ||
      ctl_exec(conn, "LOCK TABLE system_keys IN SHARE ROW EXCLUSIVE MODE", "system-key create") !=
          0) {
    PQfinish(conn);
    return CTL_RUNTIME;
  }
  PGresult *res = PQexec(conn, "SELECT COALESCE(max(key_id), 0) + 1 FROM system_keys");
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    ctl_fail(CTL_RUNTIME, "system-key create: %s", ctl_result_reason(res));
    PQclear(res);
    PQfinish(conn);
    return CTL_RUNTIME;
  }
  uint64_t key_id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  if (key_id > UINT32_MAX) {
    PQfinish(conn);
    return ctl_fail(CTL_RUNTIME, "system-key create: key ids are exhausted");
  }
  char path[4096];
  if (secret_out)
    snprintf(path, sizeof path, "%s", secret_out);
  else
    snprintf(path, sizeof path, "%s/secrets/system-%" PRIu64 ".key", ctl_run_dir(), key_id);

  uint8_t pk[crypto_kx_PUBLICKEYBYTES], sk[crypto_kx_SECRETKEYBYTES];
  char sk_text[2 * crypto_kx_SECRETKEYBYTES + 2], pk_hex[2 * crypto_kx_PUBLICKEYBYTES + 1];
  /* Never swapped while they hold the key; munlock wipes them. */
  (void)sodium_mlock(sk, sizeof sk);
  (void)sodium_mlock(sk_text, sizeof sk_text);
  crypto_kx_keypair(pk, sk);
  hex_encode(sk, sizeof sk, sk_text);
  strcat(sk_text, "\n");
  hex_encode(pk, sizeof pk, pk_hex);
  int err = ctl_parent_dir(path);
  if (!err) err = ctl_write_file(path, sk_text, 0400, true);
  sodium_munlock(sk, sizeof sk);
  sodium_munlock(sk_text, sizeof sk_text);
  if (err) {
    PQfinish(conn);
    if (err == -EEXIST)
      return ctl_fail(CTL_RUNTIME, "system-key create: %s exists; refusing to overwrite", path);
    return ctl_fail(CTL_RUNTIME, "system-key create: cannot write %s: %s", path, strerror(-err));
  }
  char id_text[24];
  snprintf(id_text, sizeof id_text, "%" PRIu64, key_id);
  const char *params[2] = {id_text, pk_hex};
  res = PQexecParams(conn,
                     "INSERT INTO system_keys (key_id, public_key, status) "
                     "VALUES ($1, decode($2, 'hex'), 'active')",
                     2, NULL, params, NULL, NULL, 0);
  bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  if (!ok) ctl_fail(CTL_RUNTIME, "system-key create: %s", ctl_result_reason(res));
  PQclear(res);
  if (ok) ok = ctl_exec(conn, "COMMIT", "system-key create") == 0;
  PQfinish(conn);
  if (!ok) {
    /* A secret without its public half in the registry is of no use. */
    unlink(path);
    return CTL_RUNTIME;
  }
  printf("%s %s\n", id_text, pk_hex);
  return CTL_OK;
}

int ctl_cmd_system_key_show(int argc, char **argv) {
  bool json = false;
  const ctl_option options[] = {{"json", NULL, &json}};
  int rc = ctl_parse(argc, argv, options, 1, NULL, 0, NULL);
  if (rc) return rc;
  int code = CTL_OK;
  PGconn *conn = ctl_connect(NULL, &code);
  if (!conn) return code;
  if (json) {
    rc = ctl_print_json(conn,
                        "SELECT json_build_object('key_id', key_id, 'public_key', "
                        "encode(public_key, 'hex')) FROM system_keys "
                        "WHERE status = 'active' ORDER BY key_id DESC LIMIT 1",
                        "system-key show", "no active system key");
    PQfinish(conn);
    return rc;
  }
  PGresult *res = PQexec(conn,
                         "SELECT key_id, encode(public_key, 'hex') FROM system_keys "
                         "WHERE status = 'active' ORDER BY key_id DESC LIMIT 1");
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = ctl_fail(CTL_RUNTIME, "system-key show: %s", ctl_result_reason(res));
  } else if (PQntuples(res) == 0) {
    rc = ctl_fail(CTL_RUNTIME, "system-key show: no active system key");
  } else {
    printf("%s %s\n", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    rc = CTL_OK;
  }
  PQclear(res);
  PQfinish(conn);
  return rc;
}

int ctl_cmd_partner_add(int argc, char **argv) {
  const char *name = NULL, *key_id_text = NULL, *public_key = NULL;
  bool direct = false;
  const ctl_option options[] = {{"name", &name, NULL},
                                {"key-id", &key_id_text, NULL},
                                {"public-key", &public_key, NULL},
                                {"direct", NULL, &direct}};
  const char *positional[1];
  size_t npos = 0;
  int rc = ctl_parse(argc, argv, options, 4, positional, 1, &npos);
  if (rc) return rc;
  if (npos != 1) return ctl_fail(CTL_USAGE, "partner add: missing <partner_id>");
  const char *partner_id = positional[0];
  if (!reg_partner_id_valid(partner_id))
    return ctl_fail(CTL_USAGE,
                    "partner add: invalid partner id (2 to 32 characters of a-z, 0-9, -)");
  if (!name) return ctl_fail(CTL_USAGE, "partner add: missing --name");
  if (!reg_name_valid(name))
    return ctl_fail(CTL_USAGE, "partner add: invalid name (1 to 200 bytes, no control characters)");
  uint32_t key_id;
  if (!key_id_text) return ctl_fail(CTL_USAGE, "partner add: missing --key-id");
  if (reg_key_id_parse(key_id_text, &key_id) != 0)
    return ctl_fail(CTL_USAGE, "partner add: invalid key id (1 to 4294967295)");
  uint8_t pk[REG_KEY_BYTES];
  if (!public_key) return ctl_fail(CTL_USAGE, "partner add: missing --public-key");
  if (reg_key_hex_parse(public_key, pk) != 0)
    return ctl_fail(CTL_USAGE, "partner add: invalid public key (64 hex characters)");
  char pk_hex[2 * REG_KEY_BYTES + 1], id_text[16];
  hex_encode(pk, sizeof pk, pk_hex);
  snprintf(id_text, sizeof id_text, "%" PRIu32, key_id);
  /* Onboarding goes through the revocation service (published and
   * audited); --direct writes the database itself, for bootstrapping a
   * registry before that service runs. */
  if (!direct) {
    if (!ctl_env("LINDUNG_ADMIN_URL"))
      return ctl_fail(CTL_USAGE,
                      "partner add: LINDUNG_ADMIN_URL is not set (--direct writes the database "
                      "without the revocation service, for bootstrapping only)");
    rc = ctl_cmd_partner_add_api(partner_id, name, key_id, pk_hex);
    return rc == CTL_OK ? ctl_kafka_partner_setup(partner_id, ctl_partner_dir(partner_id)) : rc;
  }

  int code = CTL_OK;
  PGconn *conn = ctl_connect(NULL, &code);
  if (!conn) return code;
  if (ctl_exec(conn, "BEGIN", "partner add") != 0) {
    PQfinish(conn);
    return CTL_RUNTIME;
  }
  const char *p1[2] = {partner_id, name};
  PGresult *res = PQexecParams(conn,
                               "INSERT INTO partners (partner_id, name, status) "
                               "VALUES ($1, $2, 'active')",
                               2, NULL, p1, NULL, NULL, 0);
  rc = CTL_OK;
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    if (strcmp(ctl_result_state(res), "23505") == 0)
      rc = ctl_fail(CTL_RUNTIME, "partner add: partner %s already exists", partner_id);
    else
      rc = ctl_fail(CTL_RUNTIME, "partner add: %s", ctl_result_reason(res));
  }
  PQclear(res);
  if (rc == CTL_OK) {
    const char *p2[3] = {partner_id, id_text, pk_hex};
    res = PQexecParams(conn,
                       "INSERT INTO partner_keys (partner_id, key_id, public_key, status) "
                       "VALUES ($1, $2, decode($3, 'hex'), 'active')",
                       3, NULL, p2, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
      rc = ctl_fail(CTL_RUNTIME, "partner add: %s", ctl_result_reason(res));
    PQclear(res);
  }
  if (rc == CTL_OK && ctl_exec(conn, "COMMIT", "partner add") != 0) rc = CTL_RUNTIME;
  if (rc != CTL_OK) ctl_rollback(conn);
  PQfinish(conn);
  if (rc == CTL_OK) printf("partner %s added with key %s\n", partner_id, id_text);
  if (rc == CTL_OK) rc = ctl_kafka_partner_setup(partner_id, ctl_partner_dir(partner_id));
  return rc;
}

int ctl_cmd_partner_list(int argc, char **argv) {
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
        "SELECT coalesce(json_agg(json_build_object('partner_id', p.partner_id, 'name', p.name, "
        "'status', p.status, 'keys', (SELECT coalesce(json_agg(json_build_object('key_id', "
        "k.key_id, 'status', k.status, 'public_key', encode(k.public_key, 'hex')) ORDER BY "
        "k.key_id), '[]') FROM partner_keys k WHERE k.partner_id = p.partner_id)) ORDER BY "
        "p.partner_id), '[]') FROM partners p",
        "partner list", "no answer");
    PQfinish(conn);
    return rc;
  }
  PGresult *res =
      PQexec(conn,
             "SELECT p.partner_id, p.status, COALESCE(string_agg(k.key_id::text || "
             "CASE WHEN k.status = 'revoked' THEN '(revoked)' ELSE '' END, ',' ORDER BY k.key_id), "
             "'-'), p.name FROM partners p LEFT JOIN partner_keys k USING (partner_id) "
             "GROUP BY p.partner_id ORDER BY p.partner_id");
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    rc = ctl_fail(CTL_RUNTIME, "partner list: %s", ctl_result_reason(res));
  } else {
    for (int i = 0; i < PQntuples(res); i++)
      printf("%s\t%s\t%s\t%s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
             PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
  }
  PQclear(res);
  PQfinish(conn);
  return rc;
}
