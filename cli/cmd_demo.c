/*
 * cmd_demo.c -- `statestore demo`: the default main job until the
 * micro-batch runner exists (issue 5).
 *
 * It commits batches of random puts and removes to a checkpoint folder,
 * printing one line of metrics per batch and running maintenance, then
 * opens a fresh provider, loads the last version from the files alone and
 * checks every key against the reference it kept in a plain array.
 * Running it again on the same folder resumes from the newest version.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_MAX 48

typedef struct ref_value {
    int len; /* -1 = absent */
    char data[VALUE_MAX];
} ref_value;

typedef struct demo_args {
    const char *dir;
    unsigned batches;
    unsigned keys;
    unsigned updates;
    unsigned remove_pct;
    uint64_t seed;
    int quiet;
    cli_opts opts;
} demo_args;

static void
demo_usage(FILE *f)
{
    fprintf(
        f,
        "usage: statestore demo [--dir DIR] [--batches N] [--keys N] "
        "[--updates N]\n"
        "                       [--remove-pct P] [--seed S] [-o key=value]... "
        "[-q]\n"
        "\n"
        "Commit N batches of random updates to the checkpoint folder DIR with "
        "the\n"
        "memory provider (or -o provider=...), printing one line of metrics "
        "per\n"
        "batch and running maintenance after each commit.  Then load the last\n"
        "version in a fresh provider from the files alone and check every "
        "key.\n"
        "Running it again on DIR resumes from the newest version there.\n"
        "\n"
        "  --dir DIR       checkpoint folder (default: statestore-demo)\n"
        "  --batches N     batches to commit (default 50)\n"
        "  --keys N        size of the key space (default 100000)\n"
        "  --updates N     puts/removes per batch (default 10000)\n"
        "  --remove-pct P  share of updates that are removes (default 10)\n"
        "  --seed S        random seed (default 1)\n"
        "  -o key=value    store option, e.g. -o compression=zstd (README "
        "lists\n"
        "                  them); repeatable\n"
        "  -q              only the summary lines\n"
        "\n"
        "Exit status: 0 if the reloaded state equals what was written, 1 if "
        "not\n"
        "or on any error (the message names the file or option at fault).\n");
}

static uint64_t
rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int
parse_uint(unsigned *out, const char *flag, const char *val)
{
    char *end;
    unsigned long v;

    if (!val) {
        fprintf(stderr, "statestore demo: %s needs a value\n", flag);
        return -1;
    }
    v = strtoul(val, &end, 10);
    if (!val[0] || *end || v > 100000000ul) {
        fprintf(stderr,
                "statestore demo: %s: '%s' is not a number in "
                "0..100000000\n",
                flag, val);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static int
parse_args(demo_args *a, int argc, char **argv)
{
    unsigned seed;
    int i;

    memset(a, 0, sizeof(*a));
    a->dir = "statestore-demo";
    a->batches = 50;
    a->keys = 100000;
    a->updates = 10000;
    a->remove_pct = 10;
    a->seed = 1;
    for (i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;

        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
            demo_usage(stdout);
            return 1;
        } else if (strcmp(f, "-q") == 0) {
            a->quiet = 1;
            continue;
        } else if (strcmp(f, "--dir") == 0 && v) {
            a->dir = v;
        } else if (strcmp(f, "--batches") == 0) {
            rc = parse_uint(&a->batches, f, v);
        } else if (strcmp(f, "--keys") == 0) {
            rc = parse_uint(&a->keys, f, v);
        } else if (strcmp(f, "--updates") == 0) {
            rc = parse_uint(&a->updates, f, v);
        } else if (strcmp(f, "--remove-pct") == 0) {
            rc = parse_uint(&a->remove_pct, f, v);
        } else if (strcmp(f, "--seed") == 0) {
            rc = parse_uint(&seed, f, v);
            a->seed = seed;
        } else if (strcmp(f, "-o") == 0 && v) {
            rc = cli_opts_add(&a->opts, v);
        } else {
            fprintf(stderr,
                    "statestore demo: unknown or incomplete option "
                    "'%s'\n\n",
                    f);
            demo_usage(stderr);
            return -1;
        }
        if (rc < 0)
            return -1;
        i++;
    }
    if (a->keys == 0 || a->remove_pct > 100) {
        fprintf(stderr, "statestore demo: --keys must be > 0 and "
                        "--remove-pct <= 100\n");
        return -1;
    }
    return 0;
}

static void
key_of(char *buf, size_t len, unsigned i)
{
    snprintf(buf, len, "user:%08u", i);
}

/* Resume: fill the reference from the newest version in the folder. */
static int
load_reference(ref_value *ref, demo_args *a, ss_provider *p, uint64_t v)
{
    ss_store *s = NULL;
    ss_iter *it = NULL;
    ss_slice k, val;
    unsigned idx;
    char kb[32];
    int rc;

    if ((rc = ss_provider_load_readonly(&s, p, v)) < 0)
        return cli_fail("demo", "loading the newest version to resume", rc);
    if ((rc = ss_store_iter(&it, s, SS_CF_DEFAULT)) < 0)
        goto out;
    while ((rc = ss_iter_next(it, &k, &val)) == 0) {
        if (k.len >= sizeof(kb) || val.len > VALUE_MAX)
            break;
        memcpy(kb, k.data, k.len);
        kb[k.len] = '\0';
        if (sscanf(kb, "user:%8u", &idx) != 1 || idx >= a->keys)
            break;
        ref[idx].len = (int)val.len;
        memcpy(ref[idx].data, val.data, val.len);
    }
    if (rc == 0) {
        fprintf(stderr,
                "statestore demo: %s holds keys the demo did not "
                "write (or --keys is smaller than before); use an "
                "empty --dir\n",
                a->dir);
        rc = 1;
    } else if (rc == SS_EDONE) {
        rc = 0;
    } else {
        rc = cli_fail("demo", "reading the newest version", rc);
    }
out:
    ss_iter_free(it);
    ss_store_free(s);
    return rc;
}

static int
run_batch(ss_provider *p, demo_args *a, ref_value *ref, uint64_t *rng,
          uint64_t *version, unsigned *puts, unsigned *removes)
{
    ss_store *s = NULL;
    char kb[32];
    unsigned u, idx;
    int rc;

    *puts = *removes = 0;
    if ((rc = ss_provider_load(&s, p, *version)) < 0)
        return cli_fail("demo", "load", rc);
    for (u = 0; u < a->updates; u++) {
        uint64_t r = rng_next(rng);

        idx = (unsigned)(r % a->keys);
        key_of(kb, sizeof(kb), idx);
        if ((r >> 32) % 100 < a->remove_pct) {
            rc = ss_store_remove(s, SS_CF_DEFAULT, SS_STR(kb));
            ref[idx].len = -1;
            (*removes)++;
        } else {
            ref_value *rv = &ref[idx];

            rv->len =
                snprintf(rv->data, VALUE_MAX, "v%" PRIu64 ".%u.%016" PRIx64,
                         *version + 1, u, rng_next(rng));
            rc = ss_store_put(s, SS_CF_DEFAULT, SS_STR(kb),
                              (ss_slice){rv->data, (size_t)rv->len});
            (*puts)++;
        }
        if (rc < 0) {
            rc = cli_fail("demo", "write", rc);
            goto out;
        }
    }
    if ((rc = ss_store_commit(version, s)) < 0)
        rc = cli_fail("demo", "commit", rc);
out:
    ss_store_free(s);
    return rc;
}

static void
print_metrics(const ss_metrics *m, unsigned batch, uint64_t version,
              unsigned puts, unsigned removes)
{
    printf(
        "batch %3u  v%-5" PRIu64 " puts %6u removes %5u  keys %8" PRIu64
        "  mem %7.1f MiB  delta %7.1f KiB  commit %6.2f ms "
        "(sort %.2f encode %.2f write %.2f sync %.2f)  snapshot v%" PRIu64 "\n",
        batch, version, puts, removes, m->num_keys,
        (double)m->memory_bytes / 1048576.0, (double)m->commit_bytes / 1024.0,
        m->commit_total_ns / 1e6, m->commit_collect_ns / 1e6,
        m->commit_encode_ns / 1e6, m->commit_write_ns / 1e6,
        m->commit_sync_ns / 1e6, m->last_snapshot_version);
}

/* Reload from files in a fresh provider and compare with the reference. */
static int
verify_reload(demo_args *a, const ref_value *ref, uint64_t version)
{
    ss_provider *p = NULL;
    ss_store *s = NULL;
    ss_metrics m;
    ss_slice v;
    char kb[32];
    unsigned i, present = 0, bad = 0;
    int rc;

    if ((rc = ss_provider_open(&p, a->dir, a->opts.items, a->opts.n)) < 0)
        return cli_fail("demo", "reopening the checkpoint", rc);
    if ((rc = ss_provider_load(&s, p, version)) < 0) {
        rc = cli_fail("demo", "reloading from files", rc);
        goto out;
    }
    for (i = 0; i < a->keys; i++) {
        key_of(kb, sizeof(kb), i);
        rc = ss_store_get(&v, s, SS_CF_DEFAULT, SS_STR(kb));
        if (ref[i].len < 0) {
            bad += rc != SS_ENOTFOUND;
            continue;
        }
        present++;
        if (rc < 0 || v.len != (size_t)ref[i].len ||
            memcmp(v.data, ref[i].data, v.len) != 0)
            bad++;
    }
    m.version = SS_METRICS_VERSION;
    ss_provider_metrics(&m, p);
    if (bad || m.num_keys != present) {
        fprintf(stderr,
                "statestore demo: MISMATCH after reload of version "
                "%" PRIu64 ": %u keys differ, %" PRIu64 " keys "
                "loaded, %u expected\n",
                version, bad, m.num_keys, present);
        rc = 1;
        goto out;
    }
    printf("verified: version %" PRIu64 " reloaded from %s in a fresh "
           "provider in %.1f ms; all %u keys match what was written\n",
           version, a->dir, m.load_ns / 1e6, present);
    rc = 0;
out:
    ss_store_free(s);
    ss_provider_close(p);
    return rc;
}

int
cmd_demo(int argc, char **argv)
{
    demo_args a;
    ss_provider *p = NULL;
    ss_metrics m;
    ref_value *ref = NULL;
    uint64_t version = 0, rng, first;
    unsigned b, i, puts, removes;
    int rc;

    memset(&m, 0, sizeof(m));
    if ((rc = parse_args(&a, argc, argv)) != 0)
        return rc > 0 ? 0 : 2;
    ref = malloc((size_t)a.keys * sizeof(*ref));
    if (!ref) {
        fprintf(stderr, "statestore demo: out of memory\n");
        return 1;
    }
    for (i = 0; i < a.keys; i++)
        ref[i].len = -1;
    if ((rc = ss_provider_open(&p, a.dir, a.opts.items, a.opts.n)) < 0) {
        rc = cli_fail("demo", "opening the checkpoint", rc);
        goto out;
    }
    if ((rc = ss_provider_latest(&version, p)) < 0) {
        rc = cli_fail("demo", "listing versions", rc);
        goto out;
    }
    if (version > 0 && (rc = load_reference(ref, &a, p, version)) != 0)
        goto out;
    first = version;
    printf("statestore demo: %s, %u batches of %u updates over %u keys, "
           "starting at version %" PRIu64 "%s\n",
           a.dir, a.batches, a.updates, a.keys, version,
           version ? " (resumed)" : "");
    rng = a.seed ^ (version * 0x9E3779B97F4A7C15ull);
    for (b = 1; b <= a.batches; b++) {
        if ((rc = run_batch(p, &a, ref, &rng, &version, &puts, &removes)))
            goto out;
        if ((rc = ss_provider_maintenance(p)) < 0) {
            rc = cli_fail("demo", "maintenance", rc);
            goto out;
        }
        m.version = SS_METRICS_VERSION;
        ss_provider_metrics(&m, p);
        if (!a.quiet || b == a.batches)
            print_metrics(&m, b, version, puts, removes);
    }
    printf("committed versions %" PRIu64 "..%" PRIu64 "; files written %" PRIu64
           " (%.1f MiB), snapshots %" PRIu64 ", files deleted by "
           "retention %" PRIu64 "\n",
           first + 1, version, m.files_written,
           (double)m.bytes_written / 1048576.0, m.snapshots_written,
           m.files_deleted);
    ss_provider_close(p);
    p = NULL;
    rc = verify_reload(&a, ref, version);
out:
    ss_provider_close(p);
    free(ref);
    return rc;
}
