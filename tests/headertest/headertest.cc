/*
 * headertest.cc -- statestore.h from one C++ translation unit.
 */
#include "statestore.h"

extern "C" int headertest_cxx(void);

int
headertest_cxx(void)
{
    ss_slice s = SS_STR("key");
    ss_metrics m = ss_metrics();
    ss_provider *p = nullptr;

    m.version = SS_METRICS_VERSION;
    ss_provider_close(p);
    if (s.len != 3 || m.version != SS_METRICS_VERSION)
        return 1;
    return ss_strerror(SS_ECORRUPT) == nullptr ? 1 : 0;
}
