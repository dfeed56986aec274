/*
 * options.h -- parsing "key=value" options into an ss_config.
 */
#ifndef SS_STORE_OPTIONS_H
#define SS_STORE_OPTIONS_H

#include "providers/provider.h"

void ss_config_defaults(ss_config *c);
/* Apply options in order (a later key overrides an earlier one).
 * SS_EINVAL naming the key for an unknown key or a bad value. */
int ss_config_parse(ss_config *c, const char *const *options, size_t n);

#endif
