/* lindungctl internals: what the command files share (argument parsing,
 * errors, the database connection, secret files, storing subjects).
 *
 * Exit codes: 0 success, 2 bad usage (an argument that is wrong on its own
 * face, a missing variable), 1 runtime failure (the database refused, a
 * duplicate, an unknown category, a bad line in an import file, I/O). Every
 * failure prints exactly one line "lindungctl: <reason>" on stderr; no NIK
 * and no secret ever appears in it. Prefix ctl_. */
#ifndef LINDUNG_CTL_H
#define LINDUNG_CTL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "health_rules.h"
#include "registry_rules.h"

enum { CTL_OK = 0, CTL_RUNTIME = 1, CTL_USAGE = 2 };

/* Prints "lindungctl: <reason>" and returns code. */
int ctl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A command: argv[0] is the sub-command name. */
typedef int (*ctl_command_fn)(int argc, char **argv);

typedef struct ctl_command {
  const char *group; /* "partner", or NULL for a top-level command */
  const char *name;
  ctl_command_fn run;
  const char *usage;   /* "partner add <partner_id> --name <text> ..." */
  const char *summary; /* one line */
} ctl_command;

/* The commands main.c wires, and the help text on the environment. */
typedef struct ctl_table {
  const ctl_command *commands;
  size_t count;
  const char *environment_help;
} ctl_table;

/* Runs the command argv names (ctl_dispatch.c); returns the exit status. */
int ctl_dispatch(const ctl_table *table, int argc, char **argv);

/* Options of one command; "--name value" or "--name=value". */
typedef struct ctl_option {
  const char *name;   /* without the dashes */
  const char **value; /* for options that take a value */
  bool *flag;         /* for flags */
} ctl_option;

/* Fills options and up to max_positional positional arguments. Returns
 * CTL_OK, or CTL_USAGE after printing the reason. --help is not handled
 * here: main answers it before a command runs. */
int ctl_parse(int argc, char **argv, const ctl_option *options, size_t option_count,
              const char **positional, size_t max_positional, size_t *positional_count);

/* An environment variable or NULL when unset or empty. */
const char *ctl_env(const char *name);
/* $LINDUNG_RUN_DIR, default ".run". */
const char *ctl_run_dir(void);

/* Connects to LINDUNG_DB_URL; with dbname set, to that database on the same
 * server with the same credentials. Returns NULL after printing a reason;
 * *code says which exit code to use. */
PGconn *ctl_connect(const char *dbname, int *code);
/* The same with another URL (the audit database's owner). */
PGconn *ctl_connect_url(const char *url, const char *dbname, int *code);

/* Runs sql (no parameters); returns 0, or -1 after printing the server's
 * one-line reason with context prefixed. */
int ctl_exec(PGconn *conn, const char *sql, const char *context);
/* --json of the commands that read: runs sql, which returns one row of one
 * json column (PostgreSQL builds the document: json_agg,
 * json_build_object), and prints it. Returns a CTL_* code; a query that
 * returns no row fails with "<context>: <empty_reason>". */
int ctl_print_json(PGconn *conn, const char *sql, const char *context, const char *empty_reason);

/* Rolls back quietly (used on error paths). */
void ctl_rollback(PGconn *conn);

/* The primary message of a failed result, one line, or a fallback. */
const char *ctl_result_reason(const PGresult *res);
/* The SQLSTATE of a failed result or "". */
const char *ctl_result_state(const PGresult *res);

/* Creates dir and its parents, mode 0700 for new directories. */
int ctl_mkdirs(const char *path);

/* Writes content to path with mode, refusing to replace an existing file
 * (O_EXCL) when exclusive is set; the data is synced before close.
 * Returns 0 or -errno. */
int ctl_write_file(const char *path, const char *content, unsigned mode, bool exclusive);

/* Reads a whole file into a NUL-terminated buffer (caller frees); NULL
 * with *err an errno value. */
char *ctl_read_all(const char *path, size_t *len, int *err);

/* Walks a CSV text (LF or CRLF line ends) in place: the next line that is
 * not blank, NUL-terminated, with its 1-based number and length (to wipe it
 * after use); NULL at the end. *cursor starts at the text. */
char *ctl_next_line(char **cursor, uint32_t *number, size_t *len);

/* Reads the 32-byte NIK key from LINDUNG_NIK_KEY_FILE (64 hex characters,
 * file not readable by group or others). Returns a CTL_* code after
 * printing the reason on failure. */
int ctl_read_nik_key(uint8_t key[REG_KEY_BYTES]);

/* A NIK is never taken from argv: true (after printing one line that does
 * not quote it) when argv holds --nik or --nik=... . */
bool ctl_refuse_nik_argument(const char *what, int argc, char **argv);

/* Reads one NIK (16 digits, one optional line end) from path, or stdin for
 * "-", into nik (NUL-terminated). Returns a CTL_* code after printing a
 * reason that never quotes the input; the caller wipes nik after use. */
#define CTL_NIK_BUFFER 64
int ctl_read_nik(const char *what, const char *path, char nik[CTL_NIK_BUFFER]);

/* One subject ready to store: only the NIK's hash, never the NIK. */
typedef struct ctl_subject {
  uint8_t nik_hash[REG_NIK_HASH_BYTES];
  reg_colour colour;
  bool has_birth_date;
  reg_date birth_date;
  uint32_t line; /* position in the input; the last occurrence of a NIK wins */
} ctl_subject;

/* The birth date of a NIK (digits 7-12), its century the latest that puts
 * it before today; -1 when the NIK holds no calendar date. */
int ctl_birth_from_nik(const char *nik, reg_date *out);

/* Stores, inside the caller's transaction, people and the health facts that
 * give each subject its colour under the rule set in force (variants by
 * line, so seed data exercises every rule): a subject's earlier facts
 * recorded by lindungctl are replaced, facts from labs and centres stay.
 * Then checks with health_colour() that every subject has its colour; a
 * fact of another source that overrides it (e.g. a lab's positive) fails
 * the whole call. Returns 0, or -1 after printing the reason. */
int ctl_store_subjects(PGconn *conn, const ctl_subject *subjects, size_t count);

/* The rule set in force at now_ms (rule_sets); -1 after printing a reason. */
int ctl_rule_set_in_force(PGconn *conn, int64_t now_ms, health_rule_set *out);

/* Runs "COPY <table> FROM STDIN" with rows in COPY text format. 0 or -1
 * after printing the reason with context. */
int ctl_copy_rows(PGconn *conn, const char *copy_sql, const char *rows, size_t len,
                  const char *context);

/* Milliseconds since the Unix epoch. */
int64_t ctl_now_ms(void);

/* Commands, one file per group. */
int ctl_cmd_db_migrate(int argc, char **argv);
int ctl_cmd_system_key_create(int argc, char **argv);
int ctl_cmd_system_key_show(int argc, char **argv);
int ctl_cmd_inner_key_create(int argc, char **argv);
int ctl_cmd_partner_add(int argc, char **argv);
int ctl_cmd_partner_list(int argc, char **argv);
int ctl_cmd_subject_upsert(int argc, char **argv);
int ctl_cmd_subject_import(int argc, char **argv);
int ctl_cmd_venue_add(int argc, char **argv);
int ctl_cmd_venue_list(int argc, char **argv);
int ctl_cmd_seed(int argc, char **argv);
int ctl_cmd_facts_import(int argc, char **argv);
int ctl_cmd_facts_publish(int argc, char **argv);
int ctl_cmd_rules_list(int argc, char **argv);
int ctl_cmd_rules_add(int argc, char **argv);
int ctl_cmd_rules_region(int argc, char **argv);
int ctl_cmd_kafka_apply(int argc, char **argv);

/* $LINDUNG_RUN_DIR/partners/<id>: where a partner's local files go. */
const char *ctl_partner_dir(const char *partner_id);
/* The partner's topics and ACLs from the access table and, on the embedded
 * stack, its client certificate in dir; nothing unless lindungctl manages
 * Kafka (LINDUNG_KAFKA_BROKERS set and LINDUNG_KAFKA_MANAGE=1). */
int ctl_kafka_partner_setup(const char *partner_id, const char *dir);
/* Deletes the partner's write ACLs (revocation): the broker refuses its requests. */
int ctl_kafka_partner_cut(const char *partner_id);
/* Through the revocation service's admin API (cmd_admin.c). */
int ctl_cmd_partner_revoke(int argc, char **argv);
int ctl_cmd_partner_reinstate(int argc, char **argv);
int ctl_cmd_partner_quota(int argc, char **argv);
int ctl_cmd_key_add(int argc, char **argv);
int ctl_cmd_key_revoke(int argc, char **argv);
int ctl_cmd_system_key_rotate(int argc, char **argv);
/* Who may use the admin API (cmd_operator.c). */
int ctl_cmd_operator_add(int argc, char **argv);
int ctl_cmd_operator_remove(int argc, char **argv);
int ctl_cmd_operator_list(int argc, char **argv);
/* --cacert FILE (any position), else LINDUNG_ADMIN_CACERT; NULL if neither. */
extern const char *ctl_admin_cacert;
/* partner add's API half, with validated arguments. */
int ctl_cmd_partner_add_api(const char *partner_id, const char *name, uint32_t key_id,
                            const char *pk_hex);

#endif
