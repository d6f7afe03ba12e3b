/* audit_writer: the single writer of the audit chain, as the service's
 * handler on the common runtime (service.h).
 *
 * Flow: inputs of audit.events are queued in arrival order; one
 * audit_append() call (one round trip) appends the queue's head batch,
 * skipping (request_id, stage) pairs already recorded, and returns every
 * record not yet published; each is produced to audit.log attached to the
 * input it came from, and only then are the inputs done, so an offset is
 * stored only once its record is committed and acknowledged. Batches are
 * serialized: this process is the chain's single writer. While PostgreSQL
 * is away the runtime pauses consuming (pause_without_db); the failed batch
 * stays at the head of the queue and is retried. The chain head is signed
 * at intervals and once more at stop, after the last input.
 *
 * Prefix audit_writer_. The callbacks take the writer as ctx. */
#ifndef LINDUNG_AUDIT_WRITER_H
#define LINDUNG_AUDIT_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "service.h"

#define AUDIT_WRITER_TICK_MS 100

typedef struct audit_writer_config {
  uint32_t checkpoint_s; /* seconds between signed checkpoints */
  uint32_t max_append;   /* most events in one round trip */
  uint32_t reverify_s;   /* seconds between full re-checks of the chain */
  uint8_t *seed;         /* sodium_malloc'd signing seed; the writer frees it */
} audit_writer_config;

typedef struct audit_writer audit_writer;

audit_writer *audit_writer_new(const audit_writer_config *config);

/* Once the service is open: registers the metrics and reads its database. */
void audit_writer_attach(audit_writer *w, service *svc);

void audit_writer_on_batch(void *ctx, kq_input *const *inputs, size_t count);
void audit_writer_on_tick(void *ctx);
bool audit_writer_ready(void *ctx, const char **reason);
/* The last checkpoint, after the last input and before the final flush. */
void audit_writer_on_inputs_finished(void *ctx);
bool audit_writer_busy(void *ctx);

void audit_writer_free(audit_writer *w);

#endif
