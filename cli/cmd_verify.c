/*
 * cmd_verify.c -- `statestore verify DIR`: load every version present
 * from the files alone, which checks every header, block and file
 * checksum on the way.
 */
#include "checkpoint_dir.h"
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void
verify_usage(FILE *f)
{
    fprintf(f, "usage: statestore verify DIR [-o key=value]...\n"
               "\n"
               "Load every version present in the checkpoint folder DIR "
               "read-only from\n"
               "its files, checking each file's header, block and whole-file "
               "checksums.\n"
               "Prints one line per version; exits 1 at the first version that "
               "fails,\n"
               "naming the file and what is wrong.  A folder with .meta files "
               "(rocksdb SST\n"
               "snapshot mode) is read with -o provider=rocksdb unless another "
               "provider is\n"
               "given; its SST objects are checked against the sizes and CRCs "
               "the metas list.\n");
}

int
cmd_verify(int argc, char **argv)
{
    const char *dir = NULL;
    cli_dir_args args;
    ckpt_dir cd;
    ss_provider *p = NULL;
    ss_store *s;
    ss_iter *it;
    uint64_t last = 0, keys, checked = 0;
    int rc = 0;
    size_t f;

    if ((rc = cli_parse_dir_args(&args, argc, argv, 0, verify_usage)) != 0)
        return rc < 0 ? 0 : rc;
    dir = args.dir;
    if (ckpt_dir_read(&cd, "verify", dir) < 0)
        return 1;
    ckpt_dir_pick_provider(&cd, &args.opts);
    if ((rc = ss_provider_open(&p, dir, args.opts.items, args.opts.n)) < 0) {
        ckpt_dir_free(&cd);
        return cli_fail("verify", "open", rc);
    }
    for (f = 0; f < cd.n && rc == 0; f++) {
        if (cd.files[f].version == last)
            continue;
        last = cd.files[f].version;
        if ((rc = ss_provider_load_readonly(&s, p, last)) < 0) {
            printf("version %" PRIu64 ": FAILED\n", last);
            rc = cli_fail("verify", "load", rc);
            break;
        }
        keys = 0;
        if ((rc = ss_store_iter(&it, s, SS_CF_DEFAULT)) == 0) {
            while ((rc = ss_iter_next(it, NULL, NULL)) == 0)
                keys++;
            ss_iter_free(it);
            rc = rc == SS_EDONE ? 0 : rc;
        }
        ss_store_free(s);
        if (rc < 0) {
            rc = cli_fail("verify", "iterate", rc);
            break;
        }
        printf("version %" PRIu64 ": ok, %" PRIu64 " keys\n", last, keys);
        checked++;
    }
    if (rc == 0)
        printf("%s: %" PRIu64 " versions verified\n", dir, checked);
    ckpt_dir_free(&cd);
    ss_provider_close(p);
    return rc;
}
