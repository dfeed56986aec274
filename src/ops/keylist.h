/*
 * keylist.h -- keys gathered during a scan and removed after it, since a
 * remove invalidates the store's iterators (statestore.h).  Each key is
 * stored length-prefixed (u32) in one growing buffer.
 */
#ifndef SS_OPS_KEYLIST_H
#define SS_OPS_KEYLIST_H

#include "statestore.h"
#include "util/buf.h"

#include <stdbool.h>

static inline int
ss_keylist_add(ss_buf *list, ss_slice key)
{
    unsigned char len[4];
    int rc;

    ss_store_le32(len, (uint32_t)key.len);
    if ((rc = ss_buf_append(list, len, 4)) < 0)
        return rc;
    return ss_buf_append(list, key.data, key.len);
}

/* The key at *off, advancing *off; false at the end. */
static inline bool
ss_keylist_next(const ss_buf *list, size_t *off, ss_slice *key)
{
    if (*off >= list->len)
        return false;
    key->len = ss_load_le32(list->data + *off);
    key->data = list->data + *off + 4;
    *off += 4 + key->len;
    return true;
}

#endif
