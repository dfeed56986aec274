/*
 * cli.h -- shared pieces of the statestore command.
 */
#ifndef SS_CLI_H
#define SS_CLI_H

#include "statestore.h"

#include <stddef.h>

/* Options collected from repeated -o key=value flags. */
typedef struct cli_opts {
    const char *items[64];
    size_t n;
} cli_opts;

int cli_opts_add(cli_opts *o, const char *kv);
/* Print "statestore <cmd>: <what>: <ss_error_last()>" and return 1. */
int cli_fail(const char *cmd, const char *what, int rc);

int cmd_demo(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
