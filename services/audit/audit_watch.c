/* audit_watch: the running service's own chain check (see audit_watch.h). */
#include "audit_watch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_store.h"
#include "log.h"
#include "service.h"

void audit_watch_init(audit_watch *w, metrics_registry *m, double sweep_interval_s) {
  memset(w, 0, sizeof *w);
  w->sweep_interval_s = sweep_interval_s;
  w->follow.next_seq = 1;
  w->sweep.next_seq = 1;
  if (!m) return;
  w->verified = metrics_gauge(m, "lindung_audit_chain_verified",
                              "1 while every record checked so far is intact, 0 once a record "
                              "was found edited, missing or out of order.",
                              NULL);
  w->verified_seq = metrics_gauge(m, "lindung_audit_chain_verified_seq",
                                  "Last sequence number the running check verified.", NULL);
  w->verified_time = metrics_gauge(m, "lindung_audit_chain_verified_timestamp_seconds",
                                   "When the running check last reached the chain head intact "
                                   "(Unix time; the service's start until its first pass ends).",
                                   NULL);
  w->broken_seq = metrics_gauge(m, "lindung_audit_chain_broken_seq",
                                "First bad sequence number found (0 while intact).", NULL);
  w->swept_time = metrics_gauge(m, "lindung_audit_chain_reverified_timestamp_seconds",
                                "When the last full re-check of the chain from seq 1 ended intact "
                                "(Unix time).",
                                NULL);
  w->rows_total = metrics_counter(m, "lindung_audit_chain_rows_verified_total",
                                  "Records checked by the running check (re-checks included).",
                                  NULL);
}

void audit_watch_free(audit_watch *w) {
  free(w->checkpoints);
  w->checkpoints = NULL;
  w->checkpoint_cap = w->checkpoint_count = 0;
}

bool audit_watch_intact(const audit_watch *w) {
  return !w->follow.broken && !w->sweep.broken;
}

int64_t audit_watch_bad_seq(const audit_watch *w) {
  if (w->follow.broken && w->sweep.broken)
    return w->follow.bad_seq < w->sweep.bad_seq ? w->follow.bad_seq : w->sweep.bad_seq;
  if (w->follow.broken) return w->follow.bad_seq;
  if (w->sweep.broken) return w->sweep.bad_seq;
  return 0;
}

/* ---- the pure state machine ---- */

audit_watch_cursor *audit_watch_next(audit_watch *w, double now, int64_t *after) {
  if (w->page_running) return NULL;
  if (!w->sweeping && w->reached_head && now >= w->sweep_due && w->follow.next_seq > 1) {
    w->sweeping = true;
    w->sweep_target = w->follow.next_seq - 1;
    w->sweep.next_seq = 1;
    memset(w->sweep.prev_hash, 0, AUDIT_HASH_BYTES);
  }
  bool follow_due = now >= w->follow_due;
  /* Both due: take turns, so neither waits behind the other's pages. */
  audit_watch_cursor *c = NULL;
  if (follow_due && (!w->sweeping || w->page_cursor != &w->follow))
    c = &w->follow;
  else if (w->sweeping)
    c = &w->sweep;
  else if (follow_due)
    c = &w->follow;
  if (c) *after = c->next_seq - 1;
  return c;
}

int audit_watch_page_begin(audit_watch *w, audit_watch_cursor *cursor,
                           const audit_checkpoint *checkpoints, size_t count) {
  if (checkpoints != w->checkpoints) {
    if (count > w->checkpoint_cap) {
      audit_checkpoint *p = realloc(w->checkpoints, count * sizeof *p);
      if (!p) return -ENOMEM;
      w->checkpoints = p;
      w->checkpoint_cap = count;
    }
    if (count) memcpy(w->checkpoints, checkpoints, count * sizeof *checkpoints);
  }
  w->checkpoint_count = count;
  audit_walk_sort_checkpoints(w->checkpoints, count);
  w->page_cursor = cursor;
  w->page_rows = 0;
  return audit_walk_resume(&w->walk, w->checkpoints, count, NULL, cursor->next_seq,
                           cursor->prev_hash);
}

void audit_watch_page_row(audit_watch *w, const audit_row *row) {
  if (w->walk.broken) return;
  audit_walk_row(&w->walk, row);
}

void audit_watch_page_malformed(audit_watch *w, int64_t seq) {
  if (w->walk.broken && w->walk.bad_seq <= seq) return;
  w->walk.broken = true;
  w->walk.bad_seq = seq;
  snprintf(w->walk.reason, sizeof w->walk.reason, "malformed record");
}

void audit_watch_page_end(audit_watch *w, size_t rows_read, double now, double now_unix) {
  audit_watch_cursor *c = w->page_cursor;
  bool was_intact = audit_watch_intact(w);
  bool at_head = rows_read < AUDIT_WATCH_PAGE;
  if (w->walk.broken) {
    c->broken = true;
    c->bad_seq = w->walk.bad_seq;
    snprintf(w->reason, sizeof w->reason, "%s", w->walk.reason);
    if (c == &w->sweep) {
      w->sweeping = false;
      w->sweep_due = now + w->sweep_interval_s;
    } else {
      w->follow_due = now + AUDIT_WATCH_FOLLOW_S; /* look again: it may be repaired */
    }
  } else {
    if (w->walk.rows) {
      c->next_seq = w->walk.expected_seq;
      memcpy(c->prev_hash, w->walk.prev_hash, AUDIT_HASH_BYTES);
      if (w->rows_total) metrics_add(w->rows_total, NULL, (double)w->walk.rows);
    }
    if (c == &w->follow) {
      if (c->broken && c->next_seq > c->bad_seq) c->broken = false;
      if (at_head) {
        /* Its first pass checked everything: the first sweep can wait. */
        if (!w->reached_head) w->sweep_due = now + w->sweep_interval_s;
        w->reached_head = true;
        if (!c->broken) w->verified_at = now_unix;
      }
      w->follow_due = at_head ? now + AUDIT_WATCH_FOLLOW_S : now;
    } else if (at_head || c->next_seq > w->sweep_target) {
      w->sweeping = false;
      w->sweep_due = now + w->sweep_interval_s;
      c->broken = false;
      w->swept_at = now_unix;
    }
  }
  w->page_cursor = c; /* remembered for taking turns */
  bool intact = audit_watch_intact(w);
  if (was_intact && !intact)
    LOG_ERROR("audit_chain_broken", LOG_INT("seq", audit_watch_bad_seq(w)),
              LOG_ERRTEXT("reason", w->reason), LOG_BOOL("found_by_sweep", c == &w->sweep));
  else if (!was_intact && intact)
    LOG_INFO("audit_chain_intact_again", LOG_INT("verified_seq", w->follow.next_seq - 1));
}

/* ---- driving it through pg_client ---- */

static void audit_watch_page_done(audit_watch *w) {
  if (--w->pending == 0) w->page_running = false;
}

static void audit_watch_on_checkpoints(void *arg, const PGresult *res, const char *error) {
  audit_watch *w = arg;
  w->checkpoint_count = 0;
  if (error) {
    w->page_failed = true;
  } else {
    size_t n = (size_t)PQntuples(res);
    audit_checkpoint *p = n > w->checkpoint_cap ? realloc(w->checkpoints, n * sizeof *p) : NULL;
    if (p) {
      w->checkpoints = p;
      w->checkpoint_cap = n;
    }
    if (n > w->checkpoint_cap) w->page_failed = true;
    for (size_t i = 0; i < n && !w->page_failed; i++)
      if (audit_store_checkpoint_decode(res, (int)i, &w->checkpoints[i]) != 0)
        w->page_failed = true; /* the column checks make this unreachable short of a superuser */
    if (!w->page_failed) w->checkpoint_count = n;
  }
  audit_watch_page_done(w);
}

static void audit_watch_on_rows(void *arg, const PGresult *res, const char *error) {
  audit_watch *w = arg;
  /* A failed read is the database's trouble, not the chain's: the same
   * page is read again at a later tick. */
  if (!error && !w->page_failed &&
      audit_watch_page_begin(w, w->page_cursor, w->checkpoints, w->checkpoint_count) == 0) {
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
      audit_store_row row;
      if (audit_store_row_decode(res, i, 0, &row) != 0) {
        audit_watch_page_malformed(w, strtoll(PQgetvalue(res, i, 0), NULL, 10));
        break;
      }
      audit_watch_page_row(w, &row.row);
      audit_store_row_free(&row);
    }
    audit_watch_page_end(w, (size_t)n, service_monotonic_s(), (double)service_now_ms() / 1000.0);
  }
  audit_watch_page_done(w);
}

static void audit_watch_metrics(audit_watch *w) {
  if (!w->verified) return;
  metrics_set(w->verified, NULL, audit_watch_intact(w) ? 1 : 0);
  metrics_set(w->verified_seq, NULL, (double)(w->follow.next_seq - 1));
  metrics_set(w->verified_time, NULL, w->verified_at);
  metrics_set(w->broken_seq, NULL, (double)audit_watch_bad_seq(w));
  metrics_set(w->swept_time, NULL, w->swept_at);
}

void audit_watch_tick(audit_watch *w) {
  audit_watch_metrics(w);
  if (!w->db || !pgq_connected(w->db)) return;
  int64_t after;
  audit_watch_cursor *c = audit_watch_next(w, service_monotonic_s(), &after);
  if (!c) return;
  char after_text[24], limit_text[16];
  snprintf(after_text, sizeof after_text, "%" PRId64, after);
  snprintf(limit_text, sizeof limit_text, "%d", AUDIT_WATCH_PAGE);
  const char *values[] = {after_text, limit_text};
  /* Checkpoints first: each names a record committed before it, so the
   * rows read after them include every record they sign. */
  if (pgq_exec_prepared(w->db, AUDIT_STORE_WATCH_CHECKPOINTS, 2, values, NULL, NULL,
                        audit_watch_on_checkpoints, w) != 0)
    return;
  w->page_running = true;
  w->page_failed = false;
  w->page_cursor = c;
  w->pending = 1;
  if (pgq_exec_prepared(w->db, AUDIT_STORE_WATCH_ROWS, 2, values, NULL, NULL, audit_watch_on_rows,
                        w) == 0)
    w->pending++;
  else
    w->page_failed = true;
}
