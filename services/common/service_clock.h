/* service_clock: the two clocks every service reads. Prefix service_. */
#ifndef LINDUNG_SERVICE_CLOCK_H
#define LINDUNG_SERVICE_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch, and a monotonic clock in seconds. */
uint64_t service_now_ms(void);
double service_monotonic_s(void);

#endif
