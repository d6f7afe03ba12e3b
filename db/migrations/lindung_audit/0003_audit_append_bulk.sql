-- audit_append, same contract as in 0002, with the rows of a batch hashed in
-- a loop over arrays and inserted by one statement: the per-row INSERT of
-- 0002 cost most of the audit trail's PostgreSQL time (docs/performance.md).
-- The canonical encoding and the hashes are unchanged (audit_canonical).
CREATE OR REPLACE FUNCTION audit_append(p_published bigint, p_batch jsonb)
  RETURNS TABLE (batch_index integer, seq bigint, request_id bytea, stage smallint,
                 partner_id text, outcome smallint, error smallint, kind smallint,
                 action smallint, venue_id text, decision smallint, subject_pseudonym bytea,
                 sent_at_ms bigint, received_at_ms bigint, handled_at_ms bigint, service text,
                 detail text, actor text, appended_at_us bigint, prev_hash bytea, hash bytea)
  LANGUAGE plpgsql SECURITY INVOKER AS
$$
DECLARE
  head_seq bigint;
  old_head bigint;
  head_hash bytea;
  stamp timestamptz := now();
  stamp_us bigint := audit_epoch_us(now());
  n integer;
  i integer;
  a_idx integer[]; a_rid bytea[]; a_stg smallint[]; a_pid text[]; a_oc smallint[];
  a_er smallint[]; a_kd smallint[]; a_ac smallint[]; a_vid text[]; a_dc smallint[];
  a_pseud bytea[]; a_ts bigint[]; a_tr bigint[]; a_th bigint[]; a_sv text[]; a_dt text[];
  a_act text[];
  a_seq bigint[]; a_prev bytea[]; a_hash bytea[];
BEGIN
  -- One writer at a time: the chain head must not move under us (see 0002).
  PERFORM pg_advisory_xact_lock(7236025133657253);
  SELECT a.seq, a.hash INTO head_seq, head_hash
    FROM audit_records a ORDER BY a.seq DESC LIMIT 1;
  IF NOT FOUND THEN
    head_seq := 0;
    head_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
  END IF;
  old_head := head_seq;

  -- The events not yet recorded, first copy of each (request, stage), in
  -- batch order, as arrays.
  SELECT array_agg(f.idx ORDER BY f.idx), array_agg(f.rid ORDER BY f.idx),
         array_agg(f.stg ORDER BY f.idx), array_agg(f.pid ORDER BY f.idx),
         array_agg(f.oc ORDER BY f.idx), array_agg(f.er ORDER BY f.idx),
         array_agg(f.kd ORDER BY f.idx), array_agg(f.ac ORDER BY f.idx),
         array_agg(f.vid ORDER BY f.idx), array_agg(f.dc ORDER BY f.idx),
         array_agg(f.pseud ORDER BY f.idx), array_agg(f.ts ORDER BY f.idx),
         array_agg(f.tr ORDER BY f.idx), array_agg(f.th ORDER BY f.idx),
         array_agg(f.sv ORDER BY f.idx), array_agg(f.dt ORDER BY f.idx),
         array_agg(f.act ORDER BY f.idx)
    INTO a_idx, a_rid, a_stg, a_pid, a_oc, a_er, a_kd, a_ac, a_vid, a_dc, a_pseud, a_ts,
         a_tr, a_th, a_sv, a_dt, a_act
    FROM (
      SELECT DISTINCT ON (e.rid, e.stg) e.*
      FROM (
        SELECT (x.ord - 1)::integer AS idx,
               decode(x.v ->> 'r', 'hex') AS rid,
               (x.v ->> 's')::smallint AS stg,
               x.v ->> 'p' AS pid,
               coalesce((x.v ->> 'o')::smallint, 0::smallint) AS oc,
               coalesce((x.v ->> 'e')::smallint, 0::smallint) AS er,
               coalesce((x.v ->> 'k')::smallint, 0::smallint) AS kd,
               coalesce((x.v ->> 'a')::smallint, 0::smallint) AS ac,
               x.v ->> 'v' AS vid,
               coalesce((x.v ->> 'd')::smallint, 0::smallint) AS dc,
               decode(x.v ->> 'y', 'hex') AS pseud,
               (x.v ->> 'ts')::bigint AS ts,
               (x.v ->> 'tr')::bigint AS tr,
               (x.v ->> 'th')::bigint AS th,
               coalesce(x.v ->> 'sv', '') AS sv,
               x.v ->> 'dt' AS dt,
               x.v ->> 'ac' AS act
        FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS x(v, ord)
      ) e
      WHERE NOT EXISTS (SELECT 1 FROM audit_records a
                        WHERE a.request_id = e.rid AND a.stage = e.stg)
      ORDER BY e.rid, e.stg, e.idx
    ) f;

  n := coalesce(array_length(a_idx, 1), 0);
  IF n > 0 THEN
    a_seq := array_fill(NULL::bigint, ARRAY[n]);
    a_prev := array_fill(NULL::bytea, ARRAY[n]);
    a_hash := array_fill(NULL::bytea, ARRAY[n]);
    FOR i IN 1 .. n LOOP
      head_seq := head_seq + 1;
      a_seq[i] := head_seq;
      a_prev[i] := head_hash;
      head_hash := sha256(head_hash || audit_canonical(
        head_seq, a_rid[i], a_stg[i], a_pid[i], a_oc[i], a_er[i], a_kd[i], a_ac[i], a_vid[i],
        a_dc[i], a_pseud[i], a_ts[i], a_tr[i], a_th[i], a_sv[i], a_dt[i], a_act[i], stamp_us));
      a_hash[i] := head_hash;
    END LOOP;

    INSERT INTO audit_records (seq, request_id, stage, partner_id, outcome, error, kind, action,
                               venue_id, decision, subject_pseudonym, sent_at_ms,
                               received_at_ms, handled_at_ms, service, detail, actor,
                               appended_at, prev_hash, hash)
    SELECT u.seq, u.rid, u.stg, u.pid, u.oc, u.er, u.kd, u.ac, u.vid, u.dc, u.pseud, u.ts,
           u.tr, u.th, u.sv, u.dt, u.act, stamp, u.prev, u.hash
      FROM unnest(a_seq, a_rid, a_stg, a_pid, a_oc, a_er, a_kd, a_ac, a_vid, a_dc, a_pseud,
                  a_ts, a_tr, a_th, a_sv, a_dt, a_act, a_prev, a_hash)
           AS u(seq, rid, stg, pid, oc, er, kd, ac, vid, dc, pseud, ts, tr, th, sv, dt, act,
                prev, hash)
      ORDER BY u.seq;
  END IF;

  RETURN QUERY
    SELECT m.idx, a.seq, a.request_id, a.stage, a.partner_id, a.outcome, a.error, a.kind,
           a.action, a.venue_id, a.decision, a.subject_pseudonym, a.sent_at_ms,
           a.received_at_ms, a.handled_at_ms, a.service, a.detail, a.actor,
           audit_epoch_us(a.appended_at), a.prev_hash, a.hash
    FROM audit_records a
    LEFT JOIN unnest(a_seq, a_idx) AS m(s, idx) ON m.s = a.seq
    WHERE a.seq > coalesce(p_published, old_head)
    ORDER BY a.seq;
END
$$;
