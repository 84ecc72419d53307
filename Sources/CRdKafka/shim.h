#ifndef WAQITI_CRDKAFKA_SHIM_H
#define WAQITI_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#endif
