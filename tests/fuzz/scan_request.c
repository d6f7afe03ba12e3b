/* Fuzzes what ingest does with one value read from a partner's request
 * topic (ingest_decide: the ScanRequest envelope, its header checks, the
 * registry and quota rules) and checks the promises of ingest_rules.h:
 * every input gets exactly one outcome and one audit event, and every
 * output ingest would produce decodes again.
 *
 * Input: one byte choosing the topic, one byte the Kafka key's length, the
 * key, then the record's value. */
#include <string.h>

#include "../../services/ingest/ingest_rules.h"
#include "../../services/ingest/quota.h"
#include "fuzz.h"
#include "topics.h"
#include "proto_limits.h"

static const char *const topics[] = {"scan.requests.gojek", "scan.requests.grab",
                                     "scan.requests.dana", "scan.requests.nobody",
                                     "scan.requests.", "scan.accepted"};

static registry *reg;
static ingest_result result; /* large: kept off the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!reg) reg = fuzz_registry();
  fuzz_reader r = {data, size};
  const char *topic = topics[fuzz_byte(&r) % (sizeof topics / sizeof topics[0])];
  size_t key_len;
  const uint8_t *key = fuzz_bytes(&r, fuzz_byte(&r) % 33, &key_len);
  kq_input input = {.topic = topic,
                    .partition = 3,
                    .offset = 42,
                    .key = key,
                    .key_len = key_len,
                    .value = r.data,
                    .value_len = r.len,
                    .timestamp_ms = (int64_t)FUZZ_NOW_MS - 5};

  quota_table *quotas = quota_table_new();
  FUZZ_ASSERT(quotas);
  FUZZ_ASSERT(ingest_decide(reg, quotas, FUZZ_NOW_MS, &input, &result) == 0);
  quota_table_free(quotas);

  FUZZ_ASSERT(result.metric_label && result.audit_len > 0 && result.audit_key_len == 16);
  fuzz_check_decodes(&lindung__v1__audit_event__descriptor, result.audit, result.audit_len);
  switch (result.outcome) {
    case INGEST_FORWARDED:
      FUZZ_ASSERT(strcmp(result.topic, TOPIC_SCAN_ACCEPTED) == 0 && result.key_len == 16);
      fuzz_check_decodes(&lindung__v1__accepted_request__descriptor, result.value,
                         result.value_len);
      break;
    case INGEST_REJECTED:
      /* Only ever answered into the topic's owner's results topic. */
      FUZZ_ASSERT(strncmp(result.topic, "scan.results.", 13) == 0);
      FUZZ_ASSERT(strcmp(result.topic + 13, topic + strlen(TOPIC_SCAN_REQUESTS_PREFIX)) == 0);
      FUZZ_ASSERT(result.error != LINDUNG__V1__ERROR_CODE__NONE && result.key_len <= 16);
      fuzz_check_decodes(&lindung__v1__scan_response__descriptor, result.value, result.value_len);
      break;
    case INGEST_DEAD_LETTERED:
      FUZZ_ASSERT(result.reason && result.value_len == 0);
      break;
    default:
      FUZZ_ASSERT(!"unknown outcome");
  }
  return 0;
}
