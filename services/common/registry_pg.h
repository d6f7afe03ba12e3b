/* registry_pg: keeps a service's registry in step with PostgreSQL.
 *
 * Loads the whole registry at start, then polls the registry version every
 * poll_ms and reloads when it moved, so a change made by lindungctl or the
 * revocation service reaches every instance even if an event is missed.
 * Prefix registry_pg_. */
#ifndef LINDUNG_REGISTRY_PG_H
#define LINDUNG_REGISTRY_PG_H

#include <stdbool.h>
#include <uv.h>

#include "pg_client.h"
#include "registry.h"

typedef struct registry_pg registry_pg;

/* Called on the loop thread each time a new snapshot is in place. */
typedef void (*registry_pg_changed_fn)(void *ctx, const registry *current);

/* The statements the loader needs; pass them to pgq_open with the service's own. */
extern const pgq_statement registry_pg_statements[];
extern const size_t registry_pg_statement_count;

registry_pg *registry_pg_start(uv_loop_t *loop, pgq_client *db, unsigned poll_ms,
                               registry_pg_changed_fn on_changed, void *ctx);

/* NULL until the first load completed. */
const registry *registry_pg_current(const registry_pg *loader);

/* Replaces the snapshot (e.g. after applying a partner event). Takes ownership. */
void registry_pg_replace(registry_pg *loader, registry *next);

/* Asks for a reload on the next turn (e.g. after an event it cannot apply). */
void registry_pg_reload(registry_pg *loader);

/* Stops polling; the loader frees itself once its last query has called
 * back (the database client fails pending queries when it closes). */
void registry_pg_stop(registry_pg *loader);

#endif
