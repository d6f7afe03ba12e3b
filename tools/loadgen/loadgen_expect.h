/* loadgen_expect: what a correct Lindung must answer, restated from
 * STATUS-RULES.md independently of the resolver, so the load generator
 * can count wrong answers. */
#ifndef LINDUNG_LOADGEN_EXPECT_H
#define LINDUNG_LOADGEN_EXPECT_H

#include <stdbool.h>
#include <stdint.h>

typedef enum loadgen_colour {
  LOADGEN_NO_RECORD = 0,
  LOADGEN_GREEN = 1,
  LOADGEN_YELLOW = 2,
  LOADGEN_RED = 3,
  LOADGEN_BLACK = 4,
} loadgen_colour;

typedef struct loadgen_venue {
  char venue_id[65];
  bool admits_green;
  bool admits_yellow;
  bool capped; /* has a capacity, so VENUE_FULL is possible */
  bool closed; /* capacity share 0 at the current PPKM level */
} loadgen_venue;

/* The answer as the partner decrypted it. */
typedef struct loadgen_answer {
  int error; /* 0 when a verdict came */
  int status, decision, reason;
} loadgen_answer;

/* True when answer is a correct verdict for a person of this colour
 * scanning (check_out or in) at venue. */
bool loadgen_expect_scan(loadgen_colour colour, const loadgen_venue *venue, bool check_out,
                         const loadgen_answer *answer);

loadgen_colour loadgen_colour_parse(const char *text);

#endif
