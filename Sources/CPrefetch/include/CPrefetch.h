#ifndef WAQITI_CPREFETCH_H
#define WAQITI_CPREFETCH_H

/// Starts loading the cache line holding `address` and returns at once. It never faults and
/// changes nothing, so any address is safe. Swift has no prefetch of its own; the in-memory feature
/// store issues these for a run of keys before it touches them, so that their cache misses overlap
/// where plain loads would stall the core one after another.
static inline __attribute__((always_inline)) void waqiti_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
