/* topics: a partner's topic names (see topics.h). */
#include "topics.h"

#include <stdio.h>
#include <string.h>

static int topics_name(const char *prefix, const char *partner_id, char *out, size_t out_len) {
  int n = snprintf(out, out_len, "%s%s", prefix, partner_id);
  return n < 0 || (size_t)n >= out_len ? -1 : 0;
}

int topics_scan_requests(const char *partner_id, char *out, size_t out_len) {
  return topics_name(TOPIC_SCAN_REQUESTS_PREFIX, partner_id, out, out_len);
}

int topics_scan_results(const char *partner_id, char *out, size_t out_len) {
  return topics_name(TOPIC_SCAN_RESULTS_PREFIX, partner_id, out, out_len);
}

const char *topics_requests_partner(const char *topic) {
  size_t prefix = strlen(TOPIC_SCAN_REQUESTS_PREFIX);
  if (!topic || strncmp(topic, TOPIC_SCAN_REQUESTS_PREFIX, prefix) != 0 || !topic[prefix]) return NULL;
  return topic + prefix;
}
