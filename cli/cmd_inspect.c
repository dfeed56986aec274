/*
 * cmd_inspect.c -- `statestore inspect DIR`: versions, files and the
 * newest version's contents summary.
 */
#include "checkpoint_dir.h"
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
inspect_usage(FILE *f)
{
    fprintf(
        f,
        "usage: statestore inspect DIR [--version V] [--dump] [-o "
        "key=value]...\n"
        "\n"
        "List the delta, snapshot and meta files of the checkpoint folder DIR, "
        "then\n"
        "load version V (default: the newest) read-only from the files and "
        "print\n"
        "its key count per column family; --dump prints every key and value\n"
        "(non-printable bytes as \\xNN).  Nothing is written.\n");
}

static void
print_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i;

    for (i = 0; i < len; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            putchar(p[i]);
        else
            printf("\\x%02x", p[i]);
    }
}

int
cmd_inspect(int argc, char **argv)
{
    const char *dir = NULL;
    cli_dir_args args;
    ckpt_dir cd;
    ss_provider *p = NULL;
    ss_store *s = NULL;
    ss_iter *it = NULL;
    ss_slice k, v;
    uint64_t version = 0, keys = 0, total = 0;
    int dump, rc;
    size_t f;

    if ((rc = cli_parse_dir_args(&args, argc, argv, CLI_DUMP | CLI_VERSION,
                                 inspect_usage)) != 0)
        return rc < 0 ? 0 : rc;
    dir = args.dir;
    dump = args.dump;
    version = args.version;
    if (ckpt_dir_read(&cd, "inspect", dir) < 0)
        return 1;
    printf("%s: %zu files\n", dir, cd.n);
    for (f = 0; f < cd.n; f++) {
        printf("  %10" PRIu64 ".%-8s %12" PRIu64 " bytes\n",
               cd.files[f].version, ckpt_kind_name(cd.files[f].kind),
               cd.files[f].bytes);
        total += cd.files[f].bytes;
    }
    if (cd.objects)
        printf("  %" PRIu64 " SST objects shared by the metas, %" PRIu64
               " bytes\n",
               cd.objects, cd.object_bytes);
    printf("  total %" PRIu64 " bytes\n", total + cd.object_bytes);
    ckpt_dir_pick_provider(&cd, &args.opts);
    ckpt_dir_free(&cd);
    if ((rc = ss_provider_open(&p, dir, args.opts.items, args.opts.n)) < 0)
        return cli_fail("inspect", "open", rc);
    if (version == 0 && (rc = ss_provider_latest(&version, p)) < 0) {
        rc = cli_fail("inspect", "listing versions", rc);
        goto out;
    }
    if ((rc = ss_provider_load_readonly(&s, p, version)) < 0) {
        rc = cli_fail("inspect", "load", rc);
        goto out;
    }
    if ((rc = ss_store_iter(&it, s, SS_CF_DEFAULT)) < 0) {
        rc = cli_fail("inspect", "iterate", rc);
        goto out;
    }
    while ((rc = ss_iter_next(it, &k, &v)) == 0) {
        keys++;
        if (dump) {
            print_bytes(k.data, k.len);
            putchar('\t');
            print_bytes(v.data, v.len);
            putchar('\n');
        }
    }
    if (rc != SS_EDONE) {
        rc = cli_fail("inspect", "iterate", rc);
        goto out;
    }
    printf("version %" PRIu64 ": %" PRIu64 " keys in family 'default'\n",
           version, keys);
    rc = 0;
out:
    ss_iter_free(it);
    ss_store_free(s);
    ss_provider_close(p);
    return rc;
}
