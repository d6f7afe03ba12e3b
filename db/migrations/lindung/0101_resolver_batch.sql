-- The status-resolver's writes, one statement per batch: the set-based
-- counterparts of resolver_record_scan() and resolver_issue_token() (0100,
-- left in place for resolvers still running the older code). Each takes one
-- array per column (element i of every array is row i) and returns one row
-- per input row, in input order, with the same answer the single-row function
-- would have returned had it been called for the rows one after another.
-- Lookups by key are written as LATERAL (... LIMIT 1) so that every plan,
-- generic ones cached while the tables were small included, probes the
-- unique indexes per row instead of scanning whole tables per batch.
-- Idempotent: CREATE OR REPLACE only.

-- Records the verdicts of a batch of scans (at most once per partner and
-- request id) and returns, per row, the verdict on record: the row's own, the
-- row's turned DENY venue_full when no place was left below its seat limit,
-- or an earlier delivery's. Rows are worked through in order, so several
-- check-ins at one venue each see the places the earlier ones took or freed.
-- A seat is taken (p_seat_limits NOT NULL: an ALLOW check-in at a venue with
-- a capacity) or given back (p_free_seats: a check-out, never below zero) only
-- by a row that is recorded now; a row recorded before, by an earlier
-- delivery or an earlier row of the same batch, changes no seat.
--
-- Locks: the venue rows whose occupancy may change are locked first, in
-- venue_id order, so that two resolvers never wait on each other's venues;
-- FOR NO KEY UPDATE is what the UPDATE of occupancy takes anyway, and does
-- not block the foreign-key checks of check_ins inserts. Holding them also
-- means that another delivery of a scan at the same venue has either
-- committed before the look for earlier answers below, or waits until this
-- transaction ends. Only a delivery of the same request that changes no
-- seat (its facts differed) can slip in between; its answer then stands and
-- the seat change of this row is undone, as resolver_record_scan() does.
-- (The resolver may only insert check_ins rows, never update them: hence a
-- row's final verdict is settled before it is inserted.)
CREATE OR REPLACE FUNCTION resolver_record_scans(
    p_partner_ids text[], p_request_ids bytea[], p_person_ids bigint[], p_venue_ids text[],
    p_actions text[], p_decisions text[], p_reasons text[], p_statuses text[],
    p_at_ms bigint[], p_seat_limits integer[], p_free_seats boolean[])
RETURNS TABLE (o_decision text, o_reason text, o_status text, o_at_ms bigint)
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
  n integer := coalesce(array_length(p_partner_ids, 1), 0);
  fresh boolean[];   -- row i is to be recorded now
  seat_k integer[];  -- per row: index into v_ids of the venue whose seat it changed
  seat_d integer[];  -- and by how much (+1 taken, -1 given back, 0 none)
  v_ids text[];      -- venues whose occupancy may change, sorted
  v_occ integer[];   -- their occupancy as the rows go
  v_start integer[]; -- and as it was when locked
  wanted integer;
  inserted integer;
  ins_partner text[];
  ins_request bytea[];
  k integer;
  i integer;
BEGIN
  IF n = 0 THEN
    RETURN;
  END IF;
  IF array_length(p_request_ids, 1) IS DISTINCT FROM n
     OR array_length(p_person_ids, 1) IS DISTINCT FROM n
     OR array_length(p_venue_ids, 1) IS DISTINCT FROM n
     OR array_length(p_actions, 1) IS DISTINCT FROM n
     OR array_length(p_decisions, 1) IS DISTINCT FROM n
     OR array_length(p_reasons, 1) IS DISTINCT FROM n
     OR array_length(p_statuses, 1) IS DISTINCT FROM n
     OR array_length(p_at_ms, 1) IS DISTINCT FROM n
     OR array_length(p_seat_limits, 1) IS DISTINCT FROM n
     OR array_length(p_free_seats, 1) IS DISTINCT FROM n THEN
    RAISE EXCEPTION 'resolver_record_scans: arrays of different lengths'
      USING ERRCODE = '22023';
  END IF;

  SELECT coalesce(array_agg(l.venue_id ORDER BY l.venue_id), '{}'),
         coalesce(array_agg(l.occupancy ORDER BY l.venue_id), '{}')
    INTO v_ids, v_occ
    FROM (SELECT v.venue_id, v.occupancy FROM venues v
           WHERE v.venue_id = ANY (ARRAY(SELECT q.venue_id
                                          FROM unnest(p_venue_ids, p_seat_limits, p_free_seats)
                                               AS q (venue_id, seat_limit, free_seat)
                                         WHERE q.seat_limit IS NOT NULL OR q.free_seat))
           ORDER BY v.venue_id
           FOR NO KEY UPDATE) AS l;
  v_start := v_occ;

  -- A row is recorded now unless its request is on record already or
  -- repeats an earlier row of the batch.
  SELECT array_agg(ci.id IS NULL AND f.first ORDER BY f.i)
    INTO fresh
    FROM (SELECT q.partner_id, q.request_id, q.i,
                 row_number() OVER (PARTITION BY q.partner_id, q.request_id ORDER BY q.i) = 1
                   AS first
            FROM unnest(p_partner_ids, p_request_ids) WITH ORDINALITY AS q (partner_id, request_id, i))
         AS f
    LEFT JOIN LATERAL (SELECT c.id FROM check_ins c
                        WHERE c.partner_id = f.partner_id AND c.request_id = f.request_id
                        LIMIT 1) AS ci ON true;

  -- Seats, row by row; a row refused a seat is recorded as DENY venue_full.
  seat_k := array_fill(NULL::integer, ARRAY[n]);
  seat_d := array_fill(0, ARRAY[n]);
  FOR i IN 1 .. n LOOP
    CONTINUE WHEN NOT fresh[i] OR (p_seat_limits[i] IS NULL AND NOT p_free_seats[i]);
    k := array_position(v_ids, p_venue_ids[i]);
    IF p_seat_limits[i] IS NOT NULL THEN
      IF k IS NOT NULL AND v_occ[k] < p_seat_limits[i] THEN
        v_occ[k] := v_occ[k] + 1;
        seat_k[i] := k;
        seat_d[i] := 1;
      ELSE
        p_decisions[i] := 'deny';
        p_reasons[i] := 'venue_full';
      END IF;
    ELSIF k IS NOT NULL AND v_occ[k] > 0 THEN
      v_occ[k] := v_occ[k] - 1;
      seat_k[i] := k;
      seat_d[i] := -1;
    END IF;
  END LOOP;

  WITH ins AS (
    INSERT INTO check_ins (person_id, venue_id, partner_id, request_id, action, at,
                           decision, reason, status)
    SELECT q.person_id, q.venue_id, q.partner_id, q.request_id, q.action,
           timestamptz 'epoch' + q.at_ms * interval '1 millisecond',
           q.decision, q.reason, NULLIF(q.status, '')
      FROM unnest(p_partner_ids, p_request_ids, p_person_ids, p_venue_ids, p_actions,
                  p_decisions, p_reasons, p_statuses, p_at_ms, fresh)
           WITH ORDINALITY AS q (partner_id, request_id, person_id, venue_id, action, decision,
                                 reason, status, at_ms, fresh, i)
     WHERE q.fresh
     ORDER BY q.i
    ON CONFLICT (partner_id, request_id) DO NOTHING
    RETURNING partner_id, request_id
  )
  SELECT count(*), array_agg(ins.partner_id), array_agg(ins.request_id)
    INTO inserted, ins_partner, ins_request
    FROM ins;

  wanted := cardinality(array_positions(fresh, true));
  IF inserted < wanted THEN
    -- Another delivery recorded some of these requests first: their answers
    -- stand, and the seats taken or freed for them here are undone.
    FOR i IN 1 .. n LOOP
      CONTINUE WHEN NOT fresh[i] OR seat_d[i] = 0;
      CONTINUE WHEN EXISTS (SELECT 1 FROM unnest(ins_partner, ins_request) AS r (p, q)
                             WHERE r.p = p_partner_ids[i] AND r.q = p_request_ids[i]);
      k := seat_k[i];
      IF seat_d[i] > 0 THEN
        v_occ[k] := greatest(v_occ[k] - 1, 0);
      ELSE
        v_occ[k] := v_occ[k] + 1;
      END IF;
    END LOOP;
  END IF;

  IF v_occ IS DISTINCT FROM v_start THEN
    UPDATE venues v SET occupancy = v_occ[array_position(v_ids, v.venue_id)]
     WHERE v.venue_id = ANY (ARRAY(SELECT u.venue_id
                                     FROM unnest(v_ids, v_occ, v_start) AS u (venue_id, occ, start)
                                    WHERE u.occ <> u.start));
  END IF;

  RETURN QUERY
    SELECT ci.decision, ci.reason, ci.status, (extract(epoch FROM ci.at) * 1000)::bigint
      FROM unnest(p_partner_ids, p_request_ids) WITH ORDINALITY AS q (partner_id, request_id, i)
      LEFT JOIN LATERAL (SELECT c.decision, c.reason, c.status, c.at FROM check_ins c
                          WHERE c.partner_id = q.partner_id AND c.request_id = q.request_id
                          LIMIT 1) AS ci ON true
     ORDER BY q.i;
END
$$;

-- Issues the tokens of a batch of Links (at most once per partner and request
-- id) and returns, per row in input order, when its token was issued, in
-- milliseconds: the earlier time when the Link was processed before.
CREATE OR REPLACE FUNCTION resolver_issue_tokens(
    p_token_hashes bytea[], p_partner_ids text[], p_person_ids bigint[], p_request_ids bytea[],
    p_at_ms bigint[])
RETURNS TABLE (o_issued_at_ms bigint)
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
  n integer := coalesce(array_length(p_token_hashes, 1), 0);
BEGIN
  IF n = 0 THEN
    RETURN;
  END IF;
  IF array_length(p_partner_ids, 1) IS DISTINCT FROM n
     OR array_length(p_person_ids, 1) IS DISTINCT FROM n
     OR array_length(p_request_ids, 1) IS DISTINCT FROM n
     OR array_length(p_at_ms, 1) IS DISTINCT FROM n THEN
    RAISE EXCEPTION 'resolver_issue_tokens: arrays of different lengths'
      USING ERRCODE = '22023';
  END IF;

  INSERT INTO tokens (token_hash, partner_id, person_id, request_id, issued_at)
  SELECT q.token_hash, q.partner_id, q.person_id, q.request_id,
         timestamptz 'epoch' + q.at_ms * interval '1 millisecond'
    FROM unnest(p_token_hashes, p_partner_ids, p_person_ids, p_request_ids, p_at_ms)
         WITH ORDINALITY AS q (token_hash, partner_id, person_id, request_id, at_ms, i)
   ORDER BY q.i
  ON CONFLICT DO NOTHING;

  RETURN QUERY
    SELECT (extract(epoch FROM t.issued_at) * 1000)::bigint
      FROM unnest(p_partner_ids, p_request_ids) WITH ORDINALITY AS q (partner_id, request_id, i)
      LEFT JOIN LATERAL (SELECT k.issued_at FROM tokens k
                          WHERE k.partner_id = q.partner_id AND k.request_id = q.request_id
                          LIMIT 1) AS t ON true
     ORDER BY q.i;
END
$$;

-- Run with the caller's rights: the resolver's grants from 0003_roles (INSERT
-- on check_ins and tokens, UPDATE of venues.occupancy).
REVOKE ALL ON FUNCTION resolver_record_scans(text[], bytea[], bigint[], text[], text[], text[],
                                             text[], text[], bigint[], integer[], boolean[])
  FROM PUBLIC;
REVOKE ALL ON FUNCTION resolver_issue_tokens(bytea[], text[], bigint[], bytea[], bigint[])
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION resolver_record_scans(text[], bytea[], bigint[], text[], text[], text[],
                                                text[], text[], bigint[], integer[], boolean[])
  TO lindung_resolver;
GRANT EXECUTE ON FUNCTION resolver_issue_tokens(bytea[], text[], bigint[], bytea[], bigint[])
  TO lindung_resolver;
