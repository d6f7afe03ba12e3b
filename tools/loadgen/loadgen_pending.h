/* loadgen_pending: requests in flight, found by request id when the answer
 * arrives and in send order when they time out. Fixed memory. */
#ifndef LINDUNG_LOADGEN_PENDING_H
#define LINDUNG_LOADGEN_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct loadgen_request {
  uint8_t request_id[16];
  uint64_t sent_us;
  uint32_t partner;
  uint32_t person;
  uint32_t venue;
  bool link;
  bool check_out;
  bool in_use;
  uint32_t generation;
} loadgen_request;

typedef struct loadgen_pending loadgen_pending;

loadgen_pending *loadgen_pending_new(size_t capacity);
void loadgen_pending_free(loadgen_pending *pending);
size_t loadgen_pending_count(const loadgen_pending *pending);
/* NULL when full. The caller fills the request; request_id must be set before add_done. */
loadgen_request *loadgen_pending_add(loadgen_pending *pending);
void loadgen_pending_add_done(loadgen_pending *pending, loadgen_request *request);
loadgen_request *loadgen_pending_find(loadgen_pending *pending, const uint8_t request_id[16]);
void loadgen_pending_remove(loadgen_pending *pending, loadgen_request *request);
/* The oldest request still pending if it was sent before cutoff_us, else NULL. */
loadgen_request *loadgen_pending_oldest_before(loadgen_pending *pending, uint64_t cutoff_us);

#endif
