/*
 * random.c -- see random.h.
 */
#include "util/random.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static atomic_uint_fast64_t fallback_seq;

/* splitmix64: spreads the fallback's weak inputs over every bit. */
static uint64_t
mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void
ss_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    struct timespec ts;
    uint64_t x;
    ssize_t got;
    size_t k;

    while (n > 0) {
        got = getrandom(p, n, 0);
        if (got <= 0)
            break;
        p += got;
        n -= (size_t)got;
    }
    while (n > 0) {
        clock_gettime(CLOCK_REALTIME, &ts);
        x = mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                ((uint64_t)getpid() << 48) ^
                atomic_fetch_add(&fallback_seq, 1));
        k = n < sizeof(x) ? n : sizeof(x);
        memcpy(p, &x, k);
        p += k;
        n -= k;
    }
}

uint64_t
ss_random_u64(void)
{
    uint64_t x;

    ss_random_bytes(&x, sizeof(x));
    return x;
}
