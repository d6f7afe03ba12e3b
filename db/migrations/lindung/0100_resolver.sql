-- The status-resolver's writes. Every answered scan is recorded in check_ins
-- with its verdict, so that a redelivered scan is answered exactly as the
-- first time; two functions do the writes of the resolver's second round trip
-- so that taking a seat, recording the answer and giving a seat back happen
-- in one statement each. Idempotent: only adds.

-- The verdict as answered (names as the resolver maps them: resolver_rules.c).
-- status is NULL when the person had no health record.
ALTER TABLE check_ins ADD COLUMN IF NOT EXISTS decision text
  CHECK (decision IN ('allow', 'deny'));
ALTER TABLE check_ins ADD COLUMN IF NOT EXISTS reason text
  CHECK (reason IN ('status_allowed', 'status_not_allowed_here', 'positive_or_contact',
                    'not_vaccinated', 'venue_full', 'no_health_record', 'checked_out'));
ALTER TABLE check_ins ADD COLUMN IF NOT EXISTS status text
  CHECK (status IN ('green', 'yellow', 'red', 'black'));

-- Records one scan's verdict (at most once per partner and request id) and
-- returns the verdict on record, which is the earlier one when the request
-- was recorded before. p_seat_limit (NOT NULL only for an ALLOW check-in at a
-- venue with a capacity) asks for a place first: when none is left below the
-- limit the verdict becomes DENY venue_full. p_free_seat (check-out) gives a
-- place back, never below zero. Times are whole milliseconds.
CREATE OR REPLACE FUNCTION resolver_record_scan(
    p_partner_id text, p_request_id bytea, p_person_id bigint, p_venue_id text,
    p_action text, p_decision text, p_reason text, p_status text, p_at_ms bigint,
    p_seat_limit integer, p_free_seat boolean,
    OUT o_decision text, OUT o_reason text, OUT o_status text, OUT o_at_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
  seated boolean := false;
BEGIN
  IF p_seat_limit IS NOT NULL THEN
    UPDATE venues SET occupancy = occupancy + 1
      WHERE venue_id = p_venue_id AND occupancy < p_seat_limit;
    seated := FOUND;
    IF NOT seated THEN
      p_decision := 'deny';
      p_reason := 'venue_full';
    END IF;
  END IF;

  INSERT INTO check_ins (person_id, venue_id, partner_id, request_id, action, at,
                         decision, reason, status)
  VALUES (p_person_id, p_venue_id, p_partner_id, p_request_id, p_action,
          timestamptz 'epoch' + p_at_ms * interval '1 millisecond',
          p_decision, p_reason, NULLIF(p_status, ''))
  ON CONFLICT (partner_id, request_id) DO NOTHING;

  IF FOUND THEN
    IF p_free_seat THEN
      UPDATE venues SET occupancy = occupancy - 1
        WHERE venue_id = p_venue_id AND occupancy > 0;
    END IF;
  ELSIF seated THEN
    -- Another delivery of the same request was recorded first: its answer
    -- stands, and the place taken here goes back.
    UPDATE venues SET occupancy = occupancy - 1
      WHERE venue_id = p_venue_id AND occupancy > 0;
  END IF;

  SELECT ci.decision, ci.reason, ci.status, (extract(epoch FROM ci.at) * 1000)::bigint
    INTO o_decision, o_reason, o_status, o_at_ms
    FROM check_ins ci
    WHERE ci.partner_id = p_partner_id AND ci.request_id = p_request_id;
END
$$;

-- Issues the token of one Link (at most once per partner and request id) and
-- returns when it was issued, in milliseconds: the earlier time when the
-- Link was processed before, so a redelivered Link is answered the same.
CREATE OR REPLACE FUNCTION resolver_issue_token(
    p_token_hash bytea, p_partner_id text, p_person_id bigint, p_request_id bytea,
    p_at_ms bigint)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  issued timestamptz;
BEGIN
  INSERT INTO tokens (token_hash, partner_id, person_id, request_id, issued_at)
  VALUES (p_token_hash, p_partner_id, p_person_id, p_request_id,
          timestamptz 'epoch' + p_at_ms * interval '1 millisecond')
  ON CONFLICT DO NOTHING;
  SELECT t.issued_at INTO issued FROM tokens t
    WHERE t.partner_id = p_partner_id AND t.request_id = p_request_id;
  RETURN (extract(epoch FROM issued) * 1000)::bigint;
END
$$;

-- Functions run with the caller's rights: the resolver's grants from
-- 0003_roles (INSERT on check_ins and tokens, UPDATE of venues.occupancy).
REVOKE ALL ON FUNCTION resolver_record_scan(text, bytea, bigint, text, text, text, text, text,
                                            bigint, integer, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION resolver_issue_token(bytea, text, bigint, bytea, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION resolver_record_scan(text, bytea, bigint, text, text, text, text, text,
                                               bigint, integer, boolean) TO lindung_resolver;
GRANT EXECUTE ON FUNCTION resolver_issue_token(bytea, text, bigint, bytea, bigint)
  TO lindung_resolver;
