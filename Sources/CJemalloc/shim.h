#ifndef WAQITI_CJEMALLOC_SHIM_H
#define WAQITI_CJEMALLOC_SHIM_H
#include <jemalloc/jemalloc.h>
#endif
