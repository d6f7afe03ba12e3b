/* Fuzzes the decode path of partner.events in every scan-path service
 * (partner_events.h): proto_decode, partner_events_validate, then
 * partner_events_apply on a copy of the registry, as partner_events_handle
 * does; a refused event becomes a dead letter. Checks that a validated
 * change is never called invalid by apply, and that an applied change is
 * in the registry afterwards.
 *
 * Input: a sequence of events, each one length byte and the PartnerEvent
 * value, applied in order to one registry copy (so the fuzzer reaches
 * full key tables, rotations over rotations, ...). */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "messages.h"
#include "partner_events.h"
#include "proto_limits.h"

static registry *base;

static void check_applied(const registry *reg, const partner_events_change *c) {
  const registry_partner *p = c->partner_id[0] ? registry_find_partner(reg, c->partner_id) : NULL;
  switch (c->kind) {
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_ADDED:
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_KEY_ADDED: {
      FUZZ_ASSERT(p);
      const registry_key *k = registry_find_partner_key(p, c->key_id);
      FUZZ_ASSERT(k && memcmp(k->public_key, c->public_key, 32) == 0 && !k->revoked);
      break;
    }
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_KEY_REVOKED: {
      FUZZ_ASSERT(p);
      const registry_key *k = registry_find_partner_key(p, c->key_id);
      FUZZ_ASSERT(k && k->revoked);
      break;
    }
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_REVOKED:
      FUZZ_ASSERT(p && p->revoked);
      break;
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_REINSTATED:
      FUZZ_ASSERT(p && !p->revoked);
      break;
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_QUOTA_SET:
      FUZZ_ASSERT(p && p->rate_per_s == c->rate_per_s && p->burst == c->burst);
      break;
    case LINDUNG__V1__PARTNER_EVENT_KIND__PARTNER_EVENT_SYSTEM_KEY_ROTATED: {
      const registry_system_key *k = registry_find_system_key(reg, c->system_key_id);
      FUZZ_ASSERT(k && k->status == REGISTRY_SYSTEM_KEY_ACTIVE);
      break;
    }
    default:
      FUZZ_ASSERT(!"applied an unknown kind");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!base) base = fuzz_registry();
  registry *reg = registry_copy(base);
  FUZZ_ASSERT(reg);
  fuzz_reader r = {data, size};
  while (r.len > 0) {
    size_t len;
    const uint8_t *event = fuzz_bytes(&r, fuzz_byte(&r), &len);
    ProtobufCMessage *decoded = NULL;
    proto_decode_status st = proto_decode(&lindung__v1__partner_event__descriptor, event, len,
                                          PROTO_MAX_MESSAGE_BYTES, &decoded);
    const char *reason = NULL;
    partner_events_change change;
    int rc = -EINVAL;
    if (st == PROTO_DECODE_OK) {
      rc = partner_events_validate((const Lindung__V1__PartnerEvent *)decoded, &change, &reason);
      protobuf_c_message_free_unpacked(decoded, NULL);
      FUZZ_ASSERT(rc == 0 || (rc == -EINVAL && reason));
    } else {
      reason = proto_decode_reason(st);
    }
    if (rc != 0) {
      uint8_t out[MESSAGES_DEAD_LETTER_MAX_BYTES];
      FUZZ_ASSERT(messages_dead_letter("ingest", reason, "partner.events", 0, 1, NULL, 0, event,
                                       len, FUZZ_NOW_MS, out, sizeof out) > 0);
      continue;
    }
    FUZZ_ASSERT(strlen(change.partner_id) <= REGISTRY_MAX_PARTNER_ID);
    int applied = partner_events_apply(reg, &change);
    FUZZ_ASSERT(applied == 0 || applied == 1);
    if (applied == 0) check_applied(reg, &change);
  }
  registry_free(reg);
  return 0;
}
