/* loadgen_expect: the verdict rules of STATUS-RULES.md, as an oracle. */
#include "loadgen_expect.h"

#include <string.h>

enum { ALLOW = 1, DENY = 2 };
enum {
  STATUS_ALLOWED = 1,
  STATUS_NOT_ALLOWED_HERE = 2,
  POSITIVE_OR_CONTACT = 3,
  NOT_VACCINATED = 4,
  VENUE_FULL = 5,
  NO_HEALTH_RECORD = 6,
  CHECKED_OUT = 7,
};

bool loadgen_expect_scan(loadgen_colour colour, const loadgen_venue *venue, bool check_out,
                         const loadgen_answer *answer) {
  if (answer->error != 0) return false;
  if (colour != LOADGEN_NO_RECORD && answer->status != (int)colour) return false;
  if (check_out) return answer->decision == ALLOW && answer->reason == CHECKED_OUT;
  switch (colour) {
    case LOADGEN_NO_RECORD:
      return answer->decision == DENY && answer->reason == NO_HEALTH_RECORD;
    case LOADGEN_BLACK:
      return answer->decision == DENY && answer->reason == POSITIVE_OR_CONTACT;
    case LOADGEN_RED:
      return answer->decision == DENY && answer->reason == NOT_VACCINATED;
    case LOADGEN_YELLOW:
    case LOADGEN_GREEN: {
      bool admitted = colour == LOADGEN_GREEN ? venue->admits_green : venue->admits_yellow;
      if (!admitted) return answer->decision == DENY && answer->reason == STATUS_NOT_ALLOWED_HERE;
      if (venue->closed) return answer->decision == DENY && answer->reason == VENUE_FULL;
      if (answer->decision == ALLOW) return answer->reason == STATUS_ALLOWED;
      return venue->capped && answer->decision == DENY && answer->reason == VENUE_FULL;
    }
  }
  return false;
}

loadgen_colour loadgen_colour_parse(const char *text) {
  if (!strcmp(text, "green")) return LOADGEN_GREEN;
  if (!strcmp(text, "yellow")) return LOADGEN_YELLOW;
  if (!strcmp(text, "red")) return LOADGEN_RED;
  if (!strcmp(text, "black")) return LOADGEN_BLACK;
  return LOADGEN_NO_RECORD;
}
