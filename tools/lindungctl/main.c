/* lindungctl: the operator's tool for the Lindung registry. This file holds
 * the command table and the help on the environment; ctl_dispatch.c reads
 * the command line, and each command group lives in its own file (cmd_*.c). */
#include <stdio.h>

#include "config.h"
#include "ctl.h"

static const ctl_command ctl_commands[] = {
    {"db", "migrate", ctl_cmd_db_migrate, "db migrate",
     "apply the pending SQL migrations to lindung, then to lindung_audit"},
    {"system-key", "create", ctl_cmd_system_key_create, "system-key create [--secret-out PATH]",
     "create a system key pair; the secret goes to PATH (default "
     "$LINDUNG_RUN_DIR/secrets/system-<id>.key, never overwritten); prints <id> <public key>"},
    {"system-key", "show", ctl_cmd_system_key_show, "system-key show [--json]",
     "print <id> <public key hex> of the newest active system key"},
    {"inner-key", "create", ctl_cmd_inner_key_create, "inner-key create [--dir DIR]",
     "create the next inner key, DIR/inner-<id>.key (default $LINDUNG_INNER_KEY_DIR, else "
     "$LINDUNG_RUN_DIR/secrets/inner-keys), which decrypt and the status-resolver alone hold; "
     "prints <id>. The highest id seals: give it to the resolver before decrypt, and remove the "
     "previous key once scan.decrypted's retention has passed"},
    {"system-key", "rotate", ctl_cmd_system_key_rotate, "system-key rotate --grace <seconds>",
     "through the admin API: the newest active system key (made with system-key create) "
     "becomes the only active one; older active keys keep opening requests for the grace "
     "period, then stop"},
    {"partner", "add", ctl_cmd_partner_add,
     "partner add <partner_id> --name <text> --key-id <n> --public-key <64 hex> [--direct]",
     "register a partner with its first public key, through the admin API (--direct: write "
     "the database itself, only to bootstrap before the revocation service runs)"},
    {"partner", "revoke", ctl_cmd_partner_revoke, "partner revoke <partner_id> --reason <text>",
     "through the admin API: cut the partner off at once; every token issued to it stops "
     "working for good"},
    {"partner", "reinstate", ctl_cmd_partner_reinstate,
     "partner reinstate <partner_id> [--reason <text>]",
     "through the admin API: let a revoked partner send again (its users must link again)"},
    {"partner", "quota", ctl_cmd_partner_quota, "partner quota <partner_id> --rate <n> [--burst <n>]",
     "through the admin API: requests per second and burst at ingest (--rate 0: no quota; "
     "no --burst: one second's rate)"},
    {"key", "add", ctl_cmd_key_add, "key add <partner_id> --key-id <n> --public-key <64 hex>",
     "through the admin API: add a partner key (both keys work until one is revoked)"},
    {"key", "revoke", ctl_cmd_key_revoke, "key revoke <partner_id> --key-id <n> [--reason <text>]",
     "through the admin API: revoke one partner key for good"},
    {"operator", "add", ctl_cmd_operator_add,
     "operator add <name> --token-file <new file> [--operators-file <file>]",
     "let one more operator use the admin API: a random token of their own goes to the new "
     "file (0600), its SHA-256 and the name to the operators file (default "
     "LINDUNG_ADMIN_OPERATORS_FILE), which lindung-revocation re-reads; the name is the actor "
     "of every change made with that token"},
    {"operator", "remove", ctl_cmd_operator_remove, "operator remove <name> [--operators-file <file>]",
     "the operator's token stops working (the last operator cannot be removed)"},
    {"operator", "list", ctl_cmd_operator_list, "operator list [--operators-file <file>] [--json]",
     "the operators' names, one a line"},
    {"partner", "list", ctl_cmd_partner_list, "partner list [--json]",
     "one line per partner: id, status, key ids (revoked ones marked), name; tab-separated"},
    {"subject", "upsert", ctl_cmd_subject_upsert,
     "subject upsert --nik-file <file>|- --status green|yellow|red|black [--birth-date YYYY-MM-DD]",
     "record health facts that give one person this colour under the rule set in force; "
     "the NIK (16 digits) is read from the file or, for -, stdin, never from the command line "
     "(earlier facts lindungctl recorded for the person are replaced; reads "
     "LINDUNG_NIK_KEY_FILE)"},
    {"subject", "import", ctl_cmd_subject_import, "subject import <file.csv>",
     "like subject upsert for every line nik,status[,birth_date] (optional header) in one "
     "transaction; a bad line imports nothing"},
    {"facts", "import", ctl_cmd_facts_import, "facts import <file.csv> [--source <id>]",
     "apply every line nik,fact,at,until,detail (header optional) in one transaction, each "
     "fact once, positives flagging their close contacts; every bad line is reported and "
     "nothing is applied (reads LINDUNG_NIK_KEY_FILE; source default lindungctl)"},
    {"facts", "publish", ctl_cmd_facts_publish, "facts publish <file.csv> --source <id>",
     "publish every line as a HealthFact on health.facts (key: the keyed NIK hash), as a "
     "lab or vaccination centre does; every bad line is reported and nothing is published "
     "(reads LINDUNG_NIK_KEY_FILE, LINDUNG_KAFKA_BROKERS)"},
    {"rules", "list", ctl_cmd_rules_list, "rules list [--json]",
     "one line per rule set: id, effective from, scheme, in-force|future|past, its numbers, "
     "how many region rules; tab-separated"},
    {"rules", "add", ctl_cmd_rules_add,
     "rules add <rule_set_id> --from <ISO-8601> --scheme sept2021|jul2022 [--antigen-hours N] "
     "[--pcr-hours N] [--recovered-days N] [--positive-days N] [--contact-days N] "
     "[--contact-pcr-day N] [--contact-clear-day N] [--adult-age N] [--source <text>]",
     "a rule set that is in force from its date until a later one's (numbers default to "
     "STATUS-RULES.md's); recorded in rule_changes under LINDUNG_ADMIN_ACTOR"},
    {"rules", "region", ctl_cmd_rules_region,
     "rules region <rule_set_id> <region> [--ppkm 1-4] [--category <c> --admits "
     "green|yellow|green,yellow|none]",
     "under a rule set, a region's PPKM level and/or which colours a venue category admits "
     "there (region: province code 31, or 31.74 with the regency)"},
    {"venue", "add", ctl_cmd_venue_add,
     "venue add <venue_id> --name <text> --category <category> [--capacity <n>]",
     "register a venue (no --capacity: unlimited)"},
    {"venue", "list", ctl_cmd_venue_list, "venue list [--json]",
     "one line per venue: id, category, capacity (or unlimited), occupancy, name; tab-separated"},
    {NULL, "seed", ctl_cmd_seed, "seed --people <n> [--out-dir DIR] [--reuse]",
     "create the eleven launch partners (keys in DIR/partners/<id>/), venues of every "
     "category and n synthetic people (DIR/seed/people.csv); DIR defaults to $LINDUNG_RUN_DIR. "
     "Fails if a launch partner exists, unless --reuse (then existing partners are kept, "
     "their key files untouched, and people.csv holds this run's people only); with Kafka "
     "configured, also each partner's topics, ACLs and (embedded stack) client certificate"},
    {"kafka", "apply", ctl_cmd_kafka_apply, "kafka apply [--partner <partner_id>]",
     "create Lindung's topics and ACLs from the access table compiled in (deploy/kafka/access) "
     "and, with LINDUNG_DB_URL, every registered partner's (a revoked one without its write "
     "ACL); or one partner's; on the embedded stack also partners' client certificates; "
     "existing topics and ACLs are kept"},
};

static const char ctl_environment_help[] =
    "Environment:\n"
    "  LINDUNG_DB_URL        libpq URL of the lindung database (role lindung_admin)\n"
    "  LINDUNG_KAFKA_BROKERS, LINDUNG_KAFKA_SECURITY_PROTOCOL, LINDUNG_KAFKA_SSL_CA_FILE,\n"
    "  LINDUNG_KAFKA_SSL_CERT_FILE, LINDUNG_KAFKA_SSL_KEY_FILE\n"
    "                        the cluster and an admin principal (partner add/revoke/\n"
    "                        reinstate, seed, kafka apply)\n"
    "  LINDUNG_KAFKA_MANAGE  1: partner add/revoke/reinstate and seed also change topics\n"
    "                        and ACLs (embedded stack, compose; not where Strimzi does)\n"
    "  LINDUNG_KAFKA_CA_KEY_FILE  the embedded stack's CA key: partner certificates\n"
    "  LINDUNG_AUDIT_ADMIN_DB_URL  lindung_audit as its own owner (db migrate)\n"
    "  LINDUNG_AUDIT_DB_NAME another audit database there (default: the URL's)\n"
    "  LINDUNG_NIK_KEY_FILE  file holding the 32-byte NIK hash key as 64 hex characters\n"
    "  LINDUNG_RUN_DIR       where secrets and seed files go (default .run)\n"
    "  LINDUNG_ADMIN_URL     admin API of lindung-revocation: https://host:port (http:// only\n"
    "                        to a loopback address)\n"
    "  LINDUNG_ADMIN_CACERT  CA file that the admin API's certificate must chain to (or\n"
    "                        --cacert <file> anywhere on the command line)\n"
    "  LINDUNG_ADMIN_TOKEN_FILE  file holding your own operator token (operator add); the\n"
    "                        audit trail names the operator the token belongs to\n"
    "  LINDUNG_ADMIN_OPERATORS_FILE  the service's operators file (operator add/remove/list)\n"
    "  LINDUNG_ADMIN_ACTOR   your name in rule_changes for rules commands (which write the\n"
    "                        database directly; the admin API takes it from your token)\n"
    "  LINDUNG_KAFKA_BROKERS Kafka bootstrap servers (facts publish)\n"
    "Exit status: 0 success, 1 runtime failure, 2 bad usage.\n";

int main(int argc, char **argv) {
  if (cfg_answer_version(argc, argv, stdout)) return 0;
  static const ctl_table table = {ctl_commands, sizeof ctl_commands / sizeof ctl_commands[0],
                                  ctl_environment_help};
  return ctl_dispatch(&table, argc, argv);
}
