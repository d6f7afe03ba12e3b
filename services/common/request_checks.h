/* request_checks: the rules ingest and decrypt both apply to the clear
 * header of a partner request, so the two stages can never disagree: the
 * partner and key checks against the registry, and the error answer a
 * partner reads when a request is refused. Prefix request_checks_. */
#ifndef LINDUNG_REQUEST_CHECKS_H
#define LINDUNG_REQUEST_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "lindung/v1/partner.pb-c.h"
#include "registry.h"

/* PARTNER_REVOKED, UNKNOWN_KEY (a key id 0 or not registered), KEY_REVOKED
 * (a revoked partner key, or a system key past its grace), or NONE with
 * *partner_key and *system_key set. */
Lindung__V1__ErrorCode request_checks_registry(const registry *reg, const registry_partner *partner,
                                               const Lindung__V1__ScanRequest *request,
                                               uint64_t now_ms, const registry_key **partner_key,
                                               const registry_system_key **system_key);

/* The error answer to request: topic scan.results.<partner>, the request id
 * as sent for the Kafka key when it can be one (16 bytes or fewer; else no
 * key), and the packed ScanResponse. Returns 0, or -1 when it does not fit. */
int request_checks_error_answer(const Lindung__V1__ScanRequest *request, Lindung__V1__ErrorCode error,
                                uint64_t now_ms, char *topic, size_t topic_len, uint8_t key[16],
                                size_t *key_len, uint8_t *value, size_t value_cap,
                                size_t *value_len);

#endif
