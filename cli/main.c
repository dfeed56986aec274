/*
 * main.c -- the statestore command: dispatch to subcommands.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"run", cmd_run,
     "run a windowed aggregation / dedup query over input files in "
     "micro-batches (the main job)"},
    {"demo", cmd_demo,
     "commit batches of random updates, then reload and "
     "check them"},
    {"inspect", cmd_inspect, "list the versions and files of a checkpoint"},
    {"verify", cmd_verify,
     "load every retained version and check every "
     "file's checksums"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

int
cli_opts_add(cli_opts *o, const char *kv)
{
    if (o->n == sizeof(o->items) / sizeof(o->items[0])) {
        fprintf(stderr, "statestore: too many -o options\n");
        return -1;
    }
    o->items[o->n++] = kv;
    return 0;
}

int
cli_parse_dir_args(cli_dir_args *a, int argc, char **argv, unsigned allowed,
                   void (*usage)(FILE *f))
{
    char *end;
    int i;

    memset(a, 0, sizeof(*a));
    for (i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
            usage(stdout);
            return -1;
        } else if ((allowed & CLI_DUMP) && strcmp(f, "--dump") == 0) {
            a->dump = 1;
        } else if ((allowed & CLI_VERSION) && strcmp(f, "--version") == 0 &&
                   v) {
            a->version = strtoull(v, &end, 10);
            if (!v[0] || *end) {
                fprintf(stderr,
                        "statestore: --version: '%s' is not a "
                        "version number\n",
                        v);
                return 2;
            }
            i++;
        } else if (strcmp(f, "-o") == 0 && v) {
            if (cli_opts_add(&a->opts, v) < 0)
                return 2;
            i++;
        } else if (f[0] != '-' && !a->dir) {
            a->dir = f;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!a->dir) {
        usage(stderr);
        return 2;
    }
    return 0;
}

int
cli_fail(const char *cmd, const char *what, int rc)
{
    fprintf(stderr, "statestore %s: %s failed (%s): %s\n", cmd, what,
            ss_strerror(rc), ss_error_last());
    return 1;
}

static void
usage(FILE *f)
{
    size_t i;

    fprintf(f,
            "usage: statestore <command> [options]\n\n"
            "Versioned, checkpointed key-value state stores "
            "(libstatestore %s).\n\ncommands:\n",
            SS_VERSION_STRING);
    for (i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'statestore <command> --help' describes each command.\n"
               "With no command, 'statestore demo' runs.\n");
}

int
main(int argc, char **argv)
{
    size_t i;

    if (argc < 2)
        return cmd_demo(argc, argv);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("statestore %s\n", SS_VERSION_STRING);
        return 0;
    }
    for (i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "statestore: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
