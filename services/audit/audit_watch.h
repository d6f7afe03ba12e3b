/* audit_watch: the audit service checks its own chain while it runs, so a
 * record edited behind its back shows on /metrics within a minute, not
 * when someone next runs `lindung-audit verify`.
 *
 * Two cursors walk the chain with the verify walker (audit_verify.h), one
 * page of rows at a time on the service's PostgreSQL connection:
 *   - follow: from the last verified record to the head, every second:
 *     each new record is checked once, incrementally;
 *   - sweep: from seq 1 up to where follow stood when it began, again every
 *     `sweep_interval_s` after the previous sweep ended: follow alone would
 *     never notice a record edited after it was checked.
 * A page holds at most AUDIT_WATCH_PAGE rows and one page is in flight at a
 * time, so a long chain costs a bounded, steady share of the connection.
 *
 * Checkpoints are checked against the key they carry (and the row they
 * sign), not against this process's key: after a key rotation the old
 * checkpoints stay valid. `lindung-audit verify --public-key` is the check
 * against a pinned key.
 *
 * The state machine is pure (audit_watch_next / _page_begin / _page_row /
 * _page_end, tested without PostgreSQL); audit_watch_tick drives it through
 * pg_client. Prefix audit_watch_. */
#ifndef LINDUNG_AUDIT_WATCH_H
#define LINDUNG_AUDIT_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_chain.h"
#include "audit_verify.h"
#include "metrics.h"
#include "pg_client.h"

#define AUDIT_WATCH_PAGE 2000
/* Seconds between follow polls once it has reached the head. */
#define AUDIT_WATCH_FOLLOW_S 1.0

typedef struct audit_watch_cursor {
  int64_t next_seq; /* first record not yet checked */
  uint8_t prev_hash[AUDIT_HASH_BYTES];
  bool broken;
  int64_t bad_seq;
} audit_watch_cursor;

typedef struct audit_watch {
  /* settings */
  double sweep_interval_s;
  /* state */
  audit_watch_cursor follow, sweep;
  bool sweeping;
  int64_t sweep_target; /* last seq this sweep checks */
  double sweep_due;     /* monotonic s */
  double follow_due;    /* monotonic s */
  bool reached_head;    /* follow has been at the head at least once */
  double verified_at;   /* unix s: follow last stood at the head, chain intact
                           (the service sets its start time) */
  double swept_at;      /* unix s: the last sweep ended intact */
  char reason[160];     /* of the first bad seq found, for the log */
  /* the page being read */
  audit_watch_cursor *page_cursor;
  audit_walk walk;
  uint64_t page_rows;
  audit_checkpoint *checkpoints;
  size_t checkpoint_count, checkpoint_cap;
  bool page_running, page_failed;
  int pending;
  /* I/O (audit_watch_tick) */
  pgq_client *db;
  metrics_family *verified, *verified_seq, *verified_time, *broken_seq, *swept_time, *rows_total;
} audit_watch;

/* Registers the metrics; db may be set later (it is read at each tick). */
void audit_watch_init(audit_watch *w, metrics_registry *metrics, double sweep_interval_s);
void audit_watch_free(audit_watch *w);

/* ---- the pure state machine ---- */

/* Which cursor reads next, and after which seq; NULL when none is due. */
audit_watch_cursor *audit_watch_next(audit_watch *w, double now_mono, int64_t *after);
/* One page: its checkpoints (copied), then each row in seq order, then the
 * count read (a page shorter than AUDIT_WATCH_PAGE reached the head). */
int audit_watch_page_begin(audit_watch *w, audit_watch_cursor *cursor,
                           const audit_checkpoint *checkpoints, size_t count);
void audit_watch_page_row(audit_watch *w, const audit_row *row);
/* A record that cannot even be decoded breaks the chain at seq. */
void audit_watch_page_malformed(audit_watch *w, int64_t seq);
void audit_watch_page_end(audit_watch *w, size_t rows_read, double now_mono, double now_unix);

/* True while no break is known; and the first bad seq otherwise. */
bool audit_watch_intact(const audit_watch *w);
int64_t audit_watch_bad_seq(const audit_watch *w);

/* ---- driving it ---- */

/* Call often (the service's 100 ms tick): sends the next page when one is
 * due and none is in flight, and refreshes the metrics. */
void audit_watch_tick(audit_watch *w);

#endif
