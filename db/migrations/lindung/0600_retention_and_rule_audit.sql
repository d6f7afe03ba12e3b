-- Retention (issue 16) covers the replay records too, and rule changes
-- reach the audit trail (at the end). Retention: the answer log of
-- 0500 (resolver_answers, what a redelivered or reused request_id is
-- answered with) is deleted by lindung_retention() with the check-ins, on
-- the same horizon (retention_check_in_days), and counted, so that the
-- audit trail records every deletion (resolver_retention.c). 0500 let
-- resolver_record_answers() delete as it wrote, which no audit record saw;
-- it now only records.

CREATE OR REPLACE FUNCTION resolver_record_answers(
    p_partner_ids text[], p_request_ids bytea[], p_digests bytea[], p_errors integer[],
    p_at_ms bigint[])
RETURNS TABLE (o_digest bytea, o_error integer)
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
  n integer := coalesce(array_length(p_partner_ids, 1), 0);
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

-- lindung_retention() gains a count: its result changes shape, so it is
-- dropped and made again (the resolver prepares it by name on each
-- connection). Otherwise as in 0300.
DROP FUNCTION lindung_retention(timestamptz);
CREATE FUNCTION lindung_retention(p_now timestamptz)
RETURNS TABLE (o_check_ins bigint, o_replay_records bigint, o_health_facts bigint)
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
  check_in_days integer;
  test_days integer;
  needed_days integer;
BEGIN
  SELECT coalesce((SELECT value::integer FROM settings WHERE name = 'retention_check_in_days'), 14),
         coalesce((SELECT value::integer FROM settings WHERE name = 'retention_test_days'), 30)
    INTO check_in_days, test_days;
  SELECT coalesce(max(greatest(ceil(antigen_valid_hours / 24.0)::integer,
                               ceil(pcr_valid_hours / 24.0)::integer, recovered_valid_days,
                               positive_days, contact_days)), 0)
    INTO needed_days FROM rule_sets;
  test_days := greatest(test_days, needed_days);

  WITH d AS (DELETE FROM check_ins WHERE at < p_now - check_in_days * interval '1 day'
             RETURNING 1)
  SELECT count(*) INTO o_check_ins FROM d;
  WITH d AS (DELETE FROM resolver_answers
              WHERE answered_at < p_now - check_in_days * interval '1 day'
             RETURNING 1)
  SELECT count(*) INTO o_replay_records FROM d;
  WITH d AS (DELETE FROM health_facts
              WHERE (until IS NOT NULL AND until <= p_now)
                 OR (fact IN ('antigen_negative', 'pcr_negative', 'positive', 'close_contact',
                              'recovered')
                     AND at < p_now - test_days * interval '1 day')
             RETURNING 1)
  SELECT count(*) INTO o_health_facts FROM d;
  RETURN NEXT;
END
$$;

REVOKE ALL ON FUNCTION lindung_retention(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lindung_retention(timestamptz) TO lindung_resolver;

-- The resolver carries every rule change into the audit trail
-- (resolver_rule_audit.c): it reads rule_changes, which holds no personal
-- data.
GRANT SELECT ON rule_changes TO lindung_resolver;
