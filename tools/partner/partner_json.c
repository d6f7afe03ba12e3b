/* pcli_json: the JSON lines lindung-partner prints. Text from Lindung (venue
 * names) goes through json_write, so a line always parses. */
#include <stdint.h>
#include <string.h>

#include "json_write.h"
#include "partner_cli.h"

void pcli_json_response_fields(FILE *out, const partner_sdk_response *r, int rc) {
  fputs(",\"error\":", out);
  json_write_fstring(out, rc < 0 ? "UNREADABLE" : partner_sdk_error_name(r->error));
  if (rc != 0) return;
  if (r->kind == PARTNER_SDK_KIND_SCAN) {
    fprintf(out, ",\"status\":\"%s\",\"decision\":\"%s\",\"reason\":\"%s\",\"venue_name\":",
            partner_sdk_status_name(r->verdict.status),
            partner_sdk_decision_name(r->verdict.decision),
            partner_sdk_reason_name(r->verdict.reason));
    json_write_fstring(out, r->verdict.venue_name);
    fprintf(out, ",\"checked_at_ms\":%llu", (unsigned long long)r->verdict.checked_at_ms);
  } else if (r->kind == PARTNER_SDK_KIND_LINK) {
    /* The token goes to the partner's own operator: that is this output's
     * purpose. */
    fputs(",\"token\":", out);
    json_write_fstring(out, r->token);
  }
}
