/*
 * headertest.c -- statestore.h compiles alone as C99 with -pedantic
 * -Wall -Wextra -Werror (STYLE.md "Public header"), and its declarations
 * link against the library.  headertest.cc does the same from C++.
 */
#include "statestore.h"

#include <stdio.h>

int headertest_cxx(void);

static int
headertest_c(void)
{
    ss_slice s = SS_STR("key");
    ss_metrics m;
    ss_provider *p = NULL;
    ss_store *st = NULL;
    ss_iter *it = NULL;
    unsigned cf = SS_CF_DEFAULT;
    int codes[] = {SS_OK,        SS_EINVAL,  SS_ENOMEM,   SS_EIO,
                   SS_ENOTFOUND, SS_EEXISTS, SS_ECORRUPT, SS_EVERSION,
                   SS_ELIMIT,    SS_EBUSY,   SS_EFATAL,   SS_EDONE};
    size_t i;

    m.version = SS_METRICS_VERSION;
    if (s.len != 3 || SS_MAX_KEY_LEN != 65535u || SS_CF_ORDERED != 1u)
        return 1;
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (ss_strerror(codes[i]) == NULL)
            return 1;
    /* Destructors accept NULL (convention 5). */
    ss_iter_free(it);
    ss_store_free(st);
    ss_provider_close(p);
    ss_free(NULL);
    /* Asking does not switch (convention 9). */
    if (ss_handle_checks(-1) != 0)
        return 1;
    (void)cf;
    (void)m;
    return 0;
}

int
main(void)
{
    if (headertest_c() != 0 || headertest_cxx() != 0) {
        printf("headertest failed\n");
        return 1;
    }
    printf("headertest ok (%s)\n", SS_VERSION_STRING);
    return 0;
}
