-- The answer log (issue 17: a request_id is answered once, not only within
-- decrypt's 600 s replay window). One row per (partner, request_id) the
-- status-resolver answered, with a digest of what the request asked
-- (resolver_answers.c) and the error code answered (0: a verdict or a
-- token, which check_ins and tokens hold). A later delivery with the same
-- digest gets the same answer; another request reusing the id gets
-- REPLAYED. UNAVAILABLE is never recorded (the contract says retry with a
-- new request_id).
--
-- Growth is bounded: rows older than the check-in retention
-- (settings retention_check_in_days, 14 by default, the same horizon as
-- check_ins, which hold the verdicts) are deleted by
-- resolver_record_answers() itself, at most 2000 per call, oldest first, so
-- deletion keeps pace with insertion without a separate job.
CREATE TABLE IF NOT EXISTS resolver_answers (
  partner_id text NOT NULL,
  request_id bytea NOT NULL,
  digest bytea NOT NULL CHECK (length(digest) = 16),
  error_code integer NOT NULL CHECK (error_code >= 0),
  answered_at timestamptz NOT NULL,
  PRIMARY KEY (partner_id, request_id)
);
CREATE INDEX IF NOT EXISTS resolver_answers_answered_at ON resolver_answers (answered_at);

-- Records a batch of answers (the first answer of a request stands) and
-- returns, per row and in input order, the answer on record.
CREATE OR REPLACE FUNCTION resolver_record_answers(
    p_partner_ids text[], p_request_ids bytea[], p_digests bytea[], p_errors integer[],
    p_at_ms bigint[])
RETURNS TABLE (o_digest bytea, o_error integer)
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
  n integer := coalesce(array_length(p_partner_ids, 1), 0);
  keep_days integer;
  at timestamptz := timestamptz 'epoch' + p_at_ms[1] * interval '1 millisecond';
BEGIN
  IF n = 0 THEN
    RETURN;
  END IF;
  IF array_length(p_request_ids, 1) IS DISTINCT FROM n
     OR array_length(p_digests, 1) IS DISTINCT FROM n
     OR array_length(p_errors, 1) IS DISTINCT FROM n THEN
    RAISE EXCEPTION 'resolver_record_answers: arrays of different lengths'
      USING ERRCODE = '22023';
  END IF;
  SELECT coalesce((SELECT value::integer FROM settings WHERE name = 'retention_check_in_days'), 14)
    INTO keep_days;
  DELETE FROM resolver_answers
   WHERE ctid IN (SELECT ctid FROM resolver_answers
                   WHERE answered_at < at - keep_days * interval '1 day'
                   ORDER BY answered_at LIMIT 2000);

  INSERT INTO resolver_answers (partner_id, request_id, digest, error_code, answered_at)
  SELECT q.partner_id, q.request_id, q.digest, q.error_code, at
    FROM unnest(p_partner_ids, p_request_ids, p_digests, p_errors)
         WITH ORDINALITY AS q (partner_id, request_id, digest, error_code, i)
   ORDER BY q.i
  ON CONFLICT DO NOTHING;

  RETURN QUERY
    SELECT a.digest, a.error_code
      FROM unnest(p_partner_ids, p_request_ids) WITH ORDINALITY AS q (partner_id, request_id, i)
      LEFT JOIN LATERAL (SELECT x.digest, x.error_code FROM resolver_answers x
                          WHERE x.partner_id = q.partner_id AND x.request_id = q.request_id
                          LIMIT 1) AS a ON true
     ORDER BY q.i;
END
$$;

-- Least privilege (as 0400): the resolver reads and adds answers and deletes
-- only what retention deletes; it never rewrites one. Nobody else touches it.
REVOKE ALL ON resolver_answers FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON resolver_answers TO lindung_resolver;
REVOKE ALL ON FUNCTION resolver_record_answers(text[], bytea[], bytea[], integer[], bigint[])
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION resolver_record_answers(text[], bytea[], bytea[], integer[], bigint[])
  TO lindung_resolver;
