/* revocation_changes: the queue of registry changes behind the admin API,
 * on the common runtime (service.h).
 *
 * A change is written to PostgreSQL in one transaction (one SQL function
 * per change, db/migrations/lindung/0200_revocation.sql), then published as
 * a PartnerEvent on partner.events and an AuditEvent on audit.events, and
 * only once the commit and both acknowledgements are in does the HTTP
 * answer go out. Refused requests (bad input, refused by the database) are
 * audited too and change nothing; failed authentications are summed up in
 * one audit record per interval. Changes run strictly one after another,
 * so events are published in commit order and every instance applies them
 * in that order.
 *
 * Prefix revocation_changes_. The callbacks take the queue as ctx. */
#ifndef LINDUNG_REVOCATION_CHANGES_H
#define LINDUNG_REVOCATION_CHANGES_H

#include <stdbool.h>
#include <stdint.h>

#include "admin_http.h"
#include "service.h"

/* The prepared statements, one per change. */
extern const pgq_statement revocation_changes_statements[];
extern const size_t revocation_changes_statement_count;

typedef struct revocation_changes revocation_changes;

/* token: the admin API's bearer token, kept by the caller until the end. */
revocation_changes *revocation_changes_new(const char *token, uint32_t settle_ms);

/* Once the service is open and the admin listener started. */
void revocation_changes_attach(revocation_changes *c, service *svc, admin_http *admin);

void revocation_changes_on_request(void *ctx, admin_http_request *req);
void revocation_changes_on_delivery(void *ctx, void *opaque, int err);
/* Stops the listener; the change being worked on still finishes. */
void revocation_changes_on_stop(void *ctx);
bool revocation_changes_busy(void *ctx);

void revocation_changes_free(revocation_changes *c);

#endif
