/* quota: one token bucket per partner, the RATE_LIMITED rule of ingest.
 *
 * A bucket holds up to `burst` requests and refills at `rate_per_s`. Counts
 * are kept in thousandths of a request so that refill is exact integer
 * arithmetic at millisecond resolution. The table belongs to one ingest
 * instance (quotas are per instance, like its consumer's share of the
 * partitions). Not thread-safe. Prefix quota_. */
#ifndef LINDUNG_INGEST_QUOTA_H
#define LINDUNG_INGEST_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct quota_table quota_table;

quota_table *quota_table_new(void);
void quota_table_free(quota_table *table);

/* Takes one request from the partner's bucket at now_ms. rate_per_s 0 means
 * no quota (always true). burst 0 means a burst of one second's rate. A new
 * bucket starts full; a change of rate or burst keeps the tokens it has, up
 * to the new burst. Returns false when the bucket is empty (nothing taken);
 * also false when a new bucket cannot be allocated, so a memory shortage
 * never lifts a quota. */
bool quota_take(quota_table *table, const char *partner_id, uint32_t rate_per_s, uint32_t burst,
                uint64_t now_ms);

size_t quota_table_size(const quota_table *table);

#endif
