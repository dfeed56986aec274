/*
 * cli.h -- shared pieces of the statestore command.
 */
#ifndef SS_CLI_H
#define SS_CLI_H

#include "statestore.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Options collected from repeated -o key=value flags. */
typedef struct cli_opts {
    const char *items[64];
    size_t n;
} cli_opts;

int cli_opts_add(cli_opts *o, const char *kv);

/* Arguments of the commands that read a checkpoint folder. */
typedef struct cli_dir_args {
    const char *dir;
    cli_opts opts;
    int dump;         /* --dump, if CLI_DUMP allowed */
    uint64_t version; /* --version V, if CLI_VERSION allowed; 0 = newest */
} cli_dir_args;

enum { CLI_DUMP = 1, CLI_VERSION = 2 };

/* Parse "DIR [-o key=value]... [flags]".  Returns 0 to go on, or the
 * exit status (0 after --help, 2 on a usage error, usage printed). */
int cli_parse_dir_args(cli_dir_args *a, int argc, char **argv, unsigned allowed,
                       void (*usage)(FILE *f));
/* Print "statestore <cmd>: <what>: <ss_error_last()>" and return 1. */
int cli_fail(const char *cmd, const char *what, int rc);

int cmd_demo(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
