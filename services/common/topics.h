/* topics: the name of every Kafka topic Lindung uses, and the functions that
 * name a partner's own topics. deploy/kafka/access says who may read and
 * write each one; docs/architecture.md draws who writes to whom. Prefix
 * TOPIC_ for names, topics_ for functions. */
#ifndef LINDUNG_TOPICS_H
#define LINDUNG_TOPICS_H

#include <stddef.h>

/* The scan path: ingest -> decrypt -> status-resolver. */
#define TOPIC_SCAN_ACCEPTED "scan.accepted"   /* ingest: well-formed requests */
#define TOPIC_SCAN_DECRYPTED "scan.decrypted" /* decrypt: opened requests */
/* What no service could handle, with the reason (any service writes). */
#define TOPIC_SCAN_DEADLETTER "scan.deadletter"
/* Every service's audit events, which lindung-audit chains... */
#define TOPIC_AUDIT_EVENTS "audit.events"
/* ...and republishes, chained, for analysts. */
#define TOPIC_AUDIT_LOG "audit.log"
/* Registry changes (revocation, keys, quota), from lindung-revocation. */
#define TOPIC_PARTNER_EVENTS "partner.events"
/* Test results and vaccinations from labs and vaccination centres. */
#define TOPIC_HEALTH_FACTS "health.facts"

/* A partner's own topics: it writes scan.requests.<partner_id> and reads
 * scan.results.<partner_id>. */
#define TOPIC_SCAN_REQUESTS_PREFIX "scan.requests."
#define TOPIC_SCAN_RESULTS_PREFIX "scan.results."
/* Every partner's requests topic, as a subscription: a partner added at
 * run time is picked up without a restart. */
#define TOPIC_SCAN_REQUESTS_PATTERN "^scan[.]requests[.].+"

/* Room for any topic name (Kafka allows 249 characters) and its NUL. */
#define TOPIC_NAME_MAX 256

/* The partner's requests or results topic into out. 0, or -1 when it does
 * not fit. */
int topics_scan_requests(const char *partner_id, char *out, size_t out_len);
int topics_scan_results(const char *partner_id, char *out, size_t out_len);

/* The partner id a scan.requests.<partner_id> topic names, or NULL when the
 * topic is not one (or names no partner). Points into topic. */
const char *topics_requests_partner(const char *topic);

#endif
