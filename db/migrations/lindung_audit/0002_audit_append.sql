-- Appending to the audit chain in one round trip per batch.
--
-- audit_append() is the only way the audit service writes records: it skips
-- events whose (request_id, stage) is already recorded (also within the
-- batch), gives the new ones gapless sequence numbers and chains them:
--
--   hash = sha256(prev_hash || audit_canonical(row))      (prev of seq 1: 32 zero bytes)
--
-- audit_canonical() is the row's columns, in a fixed order, each encoded as
--   NULL              -> 0x00
--   integer           -> 0x01 || 8 bytes big-endian
--   bytea, text UTF-8 -> 0x01 || 4 bytes big-endian length || bytes
-- after the 4-byte magic "LAR1". services/audit/audit_chain.c computes the
-- same bytes from the columns alone, so `lindung-audit verify` needs nothing
-- but the rows to find an edited one.
--
-- Every function is SECURITY INVOKER (the default): the caller's own INSERT
-- and SELECT privileges apply, nothing more.

CREATE FUNCTION audit_field_int(v bigint) RETURNS bytea
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN v IS NULL THEN '\x00'::bytea ELSE '\x01'::bytea || int8send(v) END $$;

CREATE FUNCTION audit_field_bytes(v bytea) RETURNS bytea
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN v IS NULL THEN '\x00'::bytea
               ELSE '\x01'::bytea || int4send(length(v)) || v END $$;

CREATE FUNCTION audit_field_text(v text) RETURNS bytea
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT audit_field_bytes(convert_to(v, 'UTF8')) $$;

-- Microseconds since the Unix epoch; extract() is exact (numeric) since PG 14.
CREATE FUNCTION audit_epoch_us(t timestamptz) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT (extract(epoch FROM t) * 1000000)::bigint $$;

CREATE FUNCTION audit_canonical(
    seq bigint, request_id bytea, stage smallint, partner_id text, outcome smallint,
    error smallint, kind smallint, action smallint, venue_id text, decision smallint,
    subject_pseudonym bytea, sent_at_ms bigint, received_at_ms bigint, handled_at_ms bigint,
    service text, detail text, actor text, appended_at_us bigint) RETURNS bytea
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT '\x4c415231'::bytea
    || audit_field_int(seq) || audit_field_bytes(request_id) || audit_field_int(stage)
    || audit_field_text(partner_id) || audit_field_int(outcome) || audit_field_int(error)
    || audit_field_int(kind) || audit_field_int(action) || audit_field_text(venue_id)
    || audit_field_int(decision) || audit_field_bytes(subject_pseudonym)
    || audit_field_int(sent_at_ms) || audit_field_int(received_at_ms)
    || audit_field_int(handled_at_ms) || audit_field_text(service) || audit_field_text(detail)
    || audit_field_text(actor) || audit_field_int(appended_at_us) $$;

-- The batch is a JSON array of events, each an object with the keys
--   r request_id (hex), s stage, p partner_id, o outcome, e error, k kind,
--   a action, v venue_id, d decision, y subject_pseudonym (hex),
--   ts/tr/th sent/received/handled ms, sv service, dt detail, ac actor;
-- a missing key is NULL. Returns every record after seq p_published in chain
-- order (the batch's new ones, and any appended before but not yet
-- published, e.g. when a commit's answer was lost), with batch_index = the
-- event's position in the batch for those this call appended.
CREATE FUNCTION audit_append(p_published bigint, p_batch jsonb)
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
  new_hash bytea;
  seqs bigint[] := '{}';
  idxs integer[] := '{}';
  ev record;
BEGIN
  -- One writer at a time: the chain head must not move under us. (The
  -- role may not lock the table itself; a transaction-scoped advisory lock
  -- needs no privilege. seq being the primary key backs this up.)
  PERFORM pg_advisory_xact_lock(7236025133657253);
  SELECT a.seq, a.hash INTO head_seq, head_hash
    FROM audit_records a ORDER BY a.seq DESC LIMIT 1;
  IF NOT FOUND THEN
    head_seq := 0;
    head_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
  END IF;
  old_head := head_seq;

  FOR ev IN
    SELECT * FROM (
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
    ) fresh
    ORDER BY fresh.idx
  LOOP
    head_seq := head_seq + 1;
    new_hash := sha256(head_hash || audit_canonical(
      head_seq, ev.rid, ev.stg, ev.pid, ev.oc, ev.er, ev.kd, ev.ac, ev.vid, ev.dc, ev.pseud,
      ev.ts, ev.tr, ev.th, ev.sv, ev.dt, ev.act, stamp_us));
    INSERT INTO audit_records AS a (seq, request_id, stage, partner_id, outcome, error, kind,
                                    action, venue_id, decision, subject_pseudonym, sent_at_ms,
                                    received_at_ms, handled_at_ms, service, detail, actor,
                                    appended_at, prev_hash, hash)
    VALUES (head_seq, ev.rid, ev.stg, ev.pid, ev.oc, ev.er, ev.kd, ev.ac, ev.vid, ev.dc,
            ev.pseud, ev.ts, ev.tr, ev.th, ev.sv, ev.dt, ev.act, stamp, head_hash, new_hash);
    head_hash := new_hash;
    seqs := seqs || head_seq;
    idxs := idxs || ev.idx;
  END LOOP;

  RETURN QUERY
    SELECT m.idx, a.seq, a.request_id, a.stage, a.partner_id, a.outcome, a.error, a.kind,
           a.action, a.venue_id, a.decision, a.subject_pseudonym, a.sent_at_ms,
           a.received_at_ms, a.handled_at_ms, a.service, a.detail, a.actor,
           audit_epoch_us(a.appended_at), a.prev_hash, a.hash
    FROM audit_records a
    LEFT JOIN unnest(seqs, idxs) AS m(s, idx) ON m.s = a.seq
    WHERE a.seq > coalesce(p_published, old_head)
    ORDER BY a.seq;
END
$$;

REVOKE ALL ON FUNCTION audit_field_int(bigint), audit_field_bytes(bytea), audit_field_text(text),
  audit_epoch_us(timestamptz),
  audit_canonical(bigint, bytea, smallint, text, smallint, smallint, smallint, smallint, text,
                  smallint, bytea, bigint, bigint, bigint, text, text, text, bigint),
  audit_append(bigint, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_field_int(bigint), audit_field_bytes(bytea),
  audit_field_text(text), audit_epoch_us(timestamptz),
  audit_canonical(bigint, bytea, smallint, text, smallint, smallint, smallint, smallint, text,
                  smallint, bytea, bigint, bigint, bigint, text, text, text, bigint),
  audit_append(bigint, jsonb) TO lindung_audit;
