/* loadgen_pace: open-loop pacing (loadgen_pace.h). */
#include "loadgen_pace.h"

#include <math.h>
#include <sodium.h>
#include <time.h>

uint64_t loadgen_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t loadgen_poisson_gap_us(double rate) {
  double u = (randombytes_uniform(1u << 30) + 1.0) / (double)(1u << 30);
  return (uint64_t)(-log(u) / rate * 1e6);
}

void loadgen_wait_until(uint64_t due_us, void (*pump)(int wait_ms)) {
  uint64_t now = loadgen_now_us();
  uint64_t gap = due_us > now ? due_us - now : 0;
  if (gap >= 1000u) {
    pump(gap >= 3000u ? 2 : (int)(gap / 1000u));
    return;
  }
  pump(0);
  now = loadgen_now_us();
  if (due_us > now) {
    struct timespec ts = {0, (long)(due_us - now) * 1000L};
    nanosleep(&ts, NULL);
  }
}
