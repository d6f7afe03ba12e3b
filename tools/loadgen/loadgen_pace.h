/* loadgen_pace: open-loop pacing, shared by lindung-loadgen and
 * lindung-relay: Poisson arrivals at a rate, so that a slow system shows as
 * latency, and a wait for the next send that neither spins nor oversleeps.
 * Prefix loadgen_. */
#ifndef LINDUNG_LOADGEN_PACE_H
#define LINDUNG_LOADGEN_PACE_H

#include <stdint.h>

/* A monotonic clock in microseconds. */
uint64_t loadgen_now_us(void);
/* The gap to the next arrival of a Poisson process of rate per second. */
uint64_t loadgen_poisson_gap_us(double rate);
/* Serves answers (pump(wait_ms) polls Kafka for at most wait_ms) until
 * due_us: gaps under a millisecond are slept precisely, since librdkafka's
 * polls wait in whole milliseconds. */
void loadgen_wait_until(uint64_t due_us, void (*pump)(int wait_ms));

#endif
