/* resolver_retention: deletes, at intervals, the check-ins, the replay
 * records (the answer log, resolver_answers) and the health facts the
 * rules no longer need (lindung_retention(), 0600_retention_and_rule_audit.sql;
 * periods in the settings table), and records each run in the audit trail
 * as counts only: "retention check_ins=<n> replay_records=<n>
 * health_facts=<n>". Several resolvers may run it; deleting twice deletes
 * nothing more. Prefix resolver_retention_. */
#ifndef LINDUNG_RESOLVER_RETENTION_H
#define LINDUNG_RESOLVER_RETENTION_H

#include <stdint.h>

#include "pg_client.h"
#include "service.h"

typedef struct resolver_retention resolver_retention;

extern const pgq_statement resolver_retention_statements[];
extern const size_t resolver_retention_statement_count;

/* Runs every interval_s seconds (the first run soon after start); 0: never.
 * NULL when out of memory. */
resolver_retention *resolver_retention_new(service *svc, uint32_t interval_s);
void resolver_retention_stop(resolver_retention *retention);
void resolver_retention_free(resolver_retention *retention);

#endif
