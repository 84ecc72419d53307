#ifndef WAQITI_CHIREDIS_SHIM_H
#define WAQITI_CHIREDIS_SHIM_H
#include <hiredis.h>
#endif
