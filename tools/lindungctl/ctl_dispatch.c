/* ctl_dispatch: lindungctl's command line around the command table of
 * main.c: --help (whole, per group, per command), --cacert anywhere, and
 * finding the command that argv names. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static bool ctl_is_help(const char *arg) {
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

static void ctl_print_command(FILE *out, const ctl_command *cmd) {
  fprintf(out, "  lindungctl %s\n      %s\n", cmd->usage, cmd->summary);
}

static void ctl_print_help(FILE *out, const ctl_table *table, const char *group) {
  fprintf(out,
          "Usage: lindungctl [--cacert <file>] <command> [arguments]\n\n"
          "Operator tool for the Lindung registry: database migrations, system keys,\n"
          "partners, subjects (health status), venues and development seed data.\n\n"
          "Commands:\n");
  for (size_t i = 0; i < table->count; i++) {
    const ctl_command *cmd = &table->commands[i];
    const char *cmd_group = cmd->group ? cmd->group : cmd->name;
    if (!group || strcmp(group, cmd_group) == 0) ctl_print_command(out, cmd);
  }
  fprintf(out, "\n%s", table->environment_help);
}

static bool ctl_group_exists(const ctl_table *table, const char *group) {
  for (size_t i = 0; i < table->count; i++)
    if (table->commands[i].group && strcmp(table->commands[i].group, group) == 0) return true;
  return false;
}

/* Finds the command for argv; sets *consumed to the words it took. */
static const ctl_command *ctl_find(const ctl_table *table, int argc, char **argv, int *consumed) {
  for (size_t i = 0; i < table->count; i++) {
    const ctl_command *cmd = &table->commands[i];
    if (!cmd->group && strcmp(argv[0], cmd->name) == 0) {
      *consumed = 1;
      return cmd;
    }
    if (cmd->group && argc >= 2 && strcmp(argv[0], cmd->group) == 0 &&
        strcmp(argv[1], cmd->name) == 0) {
      *consumed = 2;
      return cmd;
    }
  }
  return NULL;
}

const char *ctl_admin_cacert;

/* Takes --cacert FILE / --cacert=FILE out of argv (before any "--"); 1
 * after printing a reason when it has no value. */
static int ctl_take_cacert(int *argc, char **argv) {
  ctl_admin_cacert = ctl_env("LINDUNG_ADMIN_CACERT");
  int out = 1;
  bool literal = false;
  for (int i = 1; i < *argc; i++) {
    if (!literal && strcmp(argv[i], "--") == 0) literal = true;
    if (!literal && strncmp(argv[i], "--cacert=", 9) == 0) {
      ctl_admin_cacert = argv[i] + 9;
    } else if (!literal && strcmp(argv[i], "--cacert") == 0) {
      if (i + 1 >= *argc) return ctl_fail(CTL_USAGE, "--cacert needs a file"), 1;
      ctl_admin_cacert = argv[++i];
    } else {
      argv[out++] = argv[i];
    }
  }
  *argc = out;
  argv[out] = NULL;
  if (ctl_admin_cacert && !*ctl_admin_cacert) return ctl_fail(CTL_USAGE, "--cacert is empty"), 1;
  return 0;
}

int ctl_dispatch(const ctl_table *table, int argc, char **argv) {
  if (ctl_take_cacert(&argc, argv)) return CTL_USAGE;
  if (argc < 2) return ctl_fail(CTL_USAGE, "missing command (see lindungctl --help)");
  if (ctl_is_help(argv[1])) {
    ctl_print_help(stdout, table, NULL);
    return CTL_OK;
  }
  int consumed = 0;
  const ctl_command *cmd = ctl_find(table, argc - 1, argv + 1, &consumed);
  if (!cmd) {
    if (ctl_group_exists(table, argv[1])) {
      if (argc >= 3 && ctl_is_help(argv[2])) {
        ctl_print_help(stdout, table, argv[1]);
        return CTL_OK;
      }
      if (argc < 3)
        return ctl_fail(CTL_USAGE, "%s: missing sub-command (see lindungctl %s --help)", argv[1],
                        argv[1]);
      return ctl_fail(CTL_USAGE, "%s: unknown sub-command (see lindungctl %s --help)", argv[1],
                      argv[1]);
    }
    return ctl_fail(CTL_USAGE, "unknown command (see lindungctl --help)");
  }
  /* Sub-command arguments: argv[0] is the command word. */
  int sub_argc = argc - consumed;
  char **sub_argv = argv + consumed;
  for (int i = 1; i < sub_argc; i++) {
    if (strcmp(sub_argv[i], "--help") == 0 || strcmp(sub_argv[i], "-h") == 0) {
      printf("Usage: lindungctl %s\n\n%s\n\n%s", cmd->usage, cmd->summary,
             table->environment_help);
      return CTL_OK;
    }
  }
  /* Errors from option parsing name the whole command ("partner add"). */
  char label[64];
  snprintf(label, sizeof label, "%s%s%s", cmd->group ? cmd->group : "", cmd->group ? " " : "",
           cmd->name);
  sub_argv[0] = label;
  if (sodium_init() < 0) return ctl_fail(CTL_RUNTIME, "libsodium failed to initialise");
  return cmd->run(sub_argc, sub_argv);
}
