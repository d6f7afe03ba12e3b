-- Health facts and rule sets as data (issue 16). A person's colour is no
-- longer stored: the status-resolver derives it at each scan from the facts
-- held for the person's keyed NIK hash, the rule set in force and the
-- person's age (services/common/health_rules.c). health_status (0002) is
-- left in place but no longer read or written.

-- One row per fact, keyed only by the keyed NIK hash (people.nik_hash uses
-- the same key), so a lab's result may arrive before the person links.
-- fact_id makes a fact sent twice one fact (health_rules.c: health_fact_id).
CREATE TABLE health_facts (
  fact_id     bytea PRIMARY KEY CHECK (length(fact_id) = 16),
  nik_hash    bytea NOT NULL CHECK (length(nik_hash) = 32),
  fact        text NOT NULL CHECK (fact IN ('birth_date', 'dose', 'booster', 'antigen_negative',
                                            'pcr_negative', 'positive', 'close_contact',
                                            'recovered')),
  at          timestamptz NOT NULL,
  until       timestamptz CHECK (until IS NULL OR until > at),
  detail      text NOT NULL DEFAULT '' CHECK (length(detail) <= 200),
  -- Who recorded it: a lab or centre id, 'lindungctl', 'exposure'.
  source      text NOT NULL CHECK (source ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX health_facts_subject ON health_facts (nik_hash, fact, at);
CREATE INDEX health_facts_at ON health_facts (at);

-- What health_rules.c's health_summarize() computes, in SQL, so that the
-- scan lookup stays one statement: the facts in force at p_now (at <= now <
-- until) counted, or the latest of each kind, in milliseconds. The rules
-- themselves stay in C.
CREATE FUNCTION health_summary(p_nik_hash bytea, p_now_ms bigint)
RETURNS TABLE (facts integer, birth_ms bigint, doses integer, boosters integer,
               antigen_negative_ms bigint, pcr_negative_ms bigint, positive_ms bigint,
               close_contact_ms bigint, recovered_ms bigint)
LANGUAGE sql STABLE AS $$
  SELECT count(*)::integer,
         max(f.ms) FILTER (WHERE f.fact = 'birth_date'),
         (count(*) FILTER (WHERE f.fact = 'dose'))::integer,
         (count(*) FILTER (WHERE f.fact = 'booster'))::integer,
         max(f.ms) FILTER (WHERE f.fact = 'antigen_negative'),
         max(f.ms) FILTER (WHERE f.fact = 'pcr_negative'),
         max(f.ms) FILTER (WHERE f.fact = 'positive'),
         max(f.ms) FILTER (WHERE f.fact = 'close_contact'),
         max(f.ms) FILTER (WHERE f.fact = 'recovered')
    FROM (SELECT h.fact, (extract(epoch FROM h.at) * 1000)::bigint AS ms
            FROM health_facts h
           WHERE h.nik_hash = p_nik_hash
             AND h.at <= timestamptz 'epoch' + p_now_ms * interval '1 millisecond'
             AND (h.until IS NULL
                  OR h.until > timestamptz 'epoch' + p_now_ms * interval '1 millisecond')) f
$$;

-- Rule sets: the one in force is the latest whose effective_from has come.
-- scheme names the table of STATUS-RULES.md; the numbers are data, so a new
-- rule set (or new numbers) needs no release.
CREATE TABLE rule_sets (
  rule_set_id           text PRIMARY KEY CHECK (rule_set_id ~ '^[a-z0-9][a-z0-9_.-]{0,31}$'),
  effective_from        timestamptz NOT NULL UNIQUE,
  scheme                text NOT NULL CHECK (scheme IN ('sept2021', 'jul2022')),
  antigen_valid_hours   integer NOT NULL DEFAULT 24 CHECK (antigen_valid_hours > 0),
  pcr_valid_hours       integer NOT NULL DEFAULT 72 CHECK (pcr_valid_hours > 0),
  recovered_valid_days  integer NOT NULL DEFAULT 90 CHECK (recovered_valid_days > 0),
  positive_days         integer NOT NULL DEFAULT 10 CHECK (positive_days > 0),
  contact_days          integer NOT NULL DEFAULT 14 CHECK (contact_days > 0),
  contact_pcr_clear_day integer NOT NULL DEFAULT 5 CHECK (contact_pcr_clear_day >= 0),
  contact_clear_day     integer NOT NULL DEFAULT 10,
  adult_age             integer NOT NULL DEFAULT 18 CHECK (adult_age > 0),
  source                text NOT NULL DEFAULT '',
  CHECK (contact_clear_day > contact_pcr_clear_day)
);
INSERT INTO rule_sets (rule_set_id, effective_from, scheme, source) VALUES
  ('2021-09', '2021-09-01 00:00+07', 'sept2021', 'first rollout to partner apps'),
  ('2022-07-17', '2022-07-17 00:00+07', 'jul2022', 'SE Mendagri 440/3917/SJ, SE Satgas 21/2022');

-- A venue's region: its province code (Kemendagri, e.g. '31' DKI Jakarta),
-- optionally with the regency ('31.74'). NULL: no regional rule applies.
ALTER TABLE venues ADD COLUMN region text CHECK (region ~ '^[1-9][0-9](\.[0-9]{2})?$');

-- Per rule set: a region's PPKM level (else settings.ppkm_level) ...
CREATE TABLE rule_set_regions (
  rule_set_id text NOT NULL REFERENCES rule_sets (rule_set_id) ON DELETE CASCADE,
  region      text NOT NULL CHECK (region ~ '^[1-9][0-9](\.[0-9]{2})?$'),
  ppkm_level  smallint NOT NULL CHECK (ppkm_level BETWEEN 1 AND 4),
  PRIMARY KEY (rule_set_id, region)
);
-- ... and a region's override of a venue category's colours (outside
-- Java-Bali at level 3 some regions admitted GREEN only).
CREATE TABLE rule_set_region_categories (
  rule_set_id   text NOT NULL REFERENCES rule_sets (rule_set_id) ON DELETE CASCADE,
  region        text NOT NULL CHECK (region ~ '^[1-9][0-9](\.[0-9]{2})?$'),
  category      text NOT NULL REFERENCES venue_categories (category),
  admits_green  boolean NOT NULL,
  admits_yellow boolean NOT NULL,
  PRIMARY KEY (rule_set_id, region, category)
);

-- Exposure flagging and retention settings (minutes, hours, days).
INSERT INTO settings VALUES
  ('exposure_window_minutes', '60'),   -- check-ins this close at one venue overlap
  ('exposure_lookback_hours', '48'),   -- a positive's check-ins this far back count
  ('retention_check_in_days', '14'),   -- check-ins (and their recorded answers)
  ('retention_test_days', '30')        -- test results, positives, contacts
ON CONFLICT (name) DO NOTHING;

-- Every change of the rules is kept here (who, when, old and new row):
-- rules are data, changed without a release, so the change itself is the
-- record. No personal data is in these tables.
CREATE TABLE rule_changes (
  change_id  bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  actor      text NOT NULL,
  table_name text NOT NULL,
  operation  text NOT NULL,
  old_row    jsonb,
  new_row    jsonb
);

CREATE FUNCTION rule_changes_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rule_changes (actor, table_name, operation, old_row, new_row)
  VALUES (coalesce(nullif(current_setting('lindung.actor', true), ''), session_user),
          TG_TABLE_NAME, TG_OP,
          CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END,
          CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END);
  RETURN NULL;
END
$$;

CREATE TRIGGER rule_sets_audit AFTER INSERT OR UPDATE OR DELETE ON rule_sets
  FOR EACH ROW EXECUTE FUNCTION rule_changes_record();
CREATE TRIGGER rule_set_regions_audit AFTER INSERT OR UPDATE OR DELETE ON rule_set_regions
  FOR EACH ROW EXECUTE FUNCTION rule_changes_record();
CREATE TRIGGER rule_set_region_categories_audit
  AFTER INSERT OR UPDATE OR DELETE ON rule_set_region_categories
  FOR EACH ROW EXECUTE FUNCTION rule_changes_record();
CREATE TRIGGER venue_categories_audit AFTER INSERT OR UPDATE OR DELETE ON venue_categories
  FOR EACH ROW EXECUTE FUNCTION rule_changes_record();
CREATE TRIGGER settings_audit AFTER INSERT OR UPDATE OR DELETE ON settings
  FOR EACH ROW EXECUTE FUNCTION rule_changes_record();

-- Exposure flagging looks for check-ins at one venue around one time.
CREATE INDEX check_ins_venue_at ON check_ins (venue_id, at);

-- Applies a batch of facts (one array per column, element i of each is fact
-- i) in order, each at most once (by fact_id), and returns per fact whether
-- it was new and how many close contacts it flagged. A new positive result
-- flags everyone whose admitted check-in at a venue lies within
-- exposure_window_minutes of an admitted check-in of the positive person
-- there in the exposure_lookback_hours before the result: they get a
-- close_contact fact at their check-in time (one per positive and person,
-- so a redelivered positive flags nobody twice). Only keyed hashes meet;
-- nothing is returned about whom.
CREATE FUNCTION health_facts_apply(
    p_fact_ids bytea[], p_nik_hashes bytea[], p_facts text[], p_at_ms bigint[],
    p_until_ms bigint[], p_details text[], p_sources text[])
RETURNS TABLE (o_applied boolean, o_contacts integer)
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
  n integer := coalesce(array_length(p_fact_ids, 1), 0);
  window_ms bigint;
  lookback_ms bigint;
  applied boolean[];
  contacts integer[];
BEGIN
  IF n = 0 THEN
    RETURN;
  END IF;
  IF array_length(p_nik_hashes, 1) IS DISTINCT FROM n
     OR array_length(p_facts, 1) IS DISTINCT FROM n
     OR array_length(p_at_ms, 1) IS DISTINCT FROM n
     OR array_length(p_until_ms, 1) IS DISTINCT FROM n
     OR array_length(p_details, 1) IS DISTINCT FROM n
     OR array_length(p_sources, 1) IS DISTINCT FROM n THEN
    RAISE EXCEPTION 'health_facts_apply: arrays of different lengths' USING ERRCODE = '22023';
  END IF;
  SELECT coalesce((SELECT value::bigint FROM settings WHERE name = 'exposure_window_minutes'), 60)
         * 60000,
         coalesce((SELECT value::bigint FROM settings WHERE name = 'exposure_lookback_hours'), 48)
         * 3600000
    INTO window_ms, lookback_ms;

  -- A fact id repeated within the batch is applied once, by its first row.
  WITH q AS (
    SELECT u.*, row_number() OVER (PARTITION BY u.fact_id ORDER BY u.i) = 1 AS first
      FROM unnest(p_fact_ids, p_nik_hashes, p_facts, p_at_ms, p_until_ms, p_details, p_sources)
           WITH ORDINALITY AS u (fact_id, nik_hash, fact, at_ms, until_ms, detail, source, i)
  ), ins AS (
    INSERT INTO health_facts (fact_id, nik_hash, fact, at, until, detail, source)
    SELECT q.fact_id, q.nik_hash, q.fact, timestamptz 'epoch' + q.at_ms * interval '1 millisecond',
           timestamptz 'epoch' + q.until_ms * interval '1 millisecond', q.detail, q.source
      FROM q WHERE q.first ORDER BY q.i
    ON CONFLICT (fact_id) DO NOTHING
    RETURNING fact_id
  )
  SELECT array_agg(q.first AND EXISTS (SELECT 1 FROM ins WHERE ins.fact_id = q.fact_id)
                   ORDER BY q.i)
    INTO applied FROM q;

  -- Exposure: per new positive, the people met at a venue.
  WITH pos AS (
    SELECT u.i, u.fact_id, u.nik_hash, timestamptz 'epoch' + u.at_ms * interval '1 millisecond' AS at
      FROM unnest(p_fact_ids, p_nik_hashes, p_facts, p_at_ms, applied)
           WITH ORDINALITY AS u (fact_id, nik_hash, fact, at_ms, applied, i)
     WHERE u.applied AND u.fact = 'positive'
  ), visits AS (
    SELECT pos.i, pos.fact_id, pos.nik_hash AS source_hash, c.venue_id, c.at
      FROM pos
      JOIN people p ON p.nik_hash = pos.nik_hash
      JOIN check_ins c ON c.person_id = p.person_id
     WHERE c.action = 'check_in' AND c.decision = 'allow'
       AND c.at BETWEEN pos.at - lookback_ms * interval '1 millisecond' AND pos.at
  ), met AS (
    SELECT DISTINCT ON (v.fact_id, q.nik_hash) v.i, v.fact_id, q.nik_hash, o.at
      FROM visits v
      JOIN check_ins o ON o.venue_id = v.venue_id
                      AND o.at BETWEEN v.at - window_ms * interval '1 millisecond'
                                   AND v.at + window_ms * interval '1 millisecond'
      JOIN people q ON q.person_id = o.person_id
     WHERE o.action = 'check_in' AND o.decision = 'allow' AND q.nik_hash <> v.source_hash
     ORDER BY v.fact_id, q.nik_hash, o.at DESC
  ), flagged AS (
    INSERT INTO health_facts (fact_id, nik_hash, fact, at, detail, source)
    SELECT substring(sha256(met.fact_id || met.nik_hash) FROM 1 FOR 16), met.nik_hash,
           'close_contact', met.at, '', 'exposure'
      FROM met
    ON CONFLICT (fact_id) DO NOTHING
    RETURNING fact_id
  )
  SELECT array_agg(coalesce(m.n, 0) ORDER BY g.i)
    INTO contacts
    FROM generate_series(1, n) AS g (i)
    LEFT JOIN (SELECT met.i, count(*)::integer AS n FROM met
                WHERE substring(sha256(met.fact_id || met.nik_hash) FROM 1 FOR 16)
                      IN (SELECT fact_id FROM flagged)
                GROUP BY met.i) m ON m.i = g.i;

  RETURN QUERY SELECT u.a, u.c FROM unnest(applied, contacts) AS u (a, c);
END
$$;

-- Deletes what the rules no longer need, as of p_now: check-ins (with the
-- answers recorded for redelivery) older than retention_check_in_days;
-- facts past their until; tests, positives, contacts and recoveries older
-- than retention_test_days, but never one a rule set could still use.
-- Doses, boosters and birth dates stay: every rule set needs them. Returns
-- the counts only (the audit trail records them, not the data).
CREATE FUNCTION lindung_retention(p_now timestamptz)
RETURNS TABLE (o_check_ins bigint, o_health_facts bigint)
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

-- The status-resolver reads facts and rules, applies facts, flags contacts
-- and runs retention; it may delete only what retention deletes.
GRANT SELECT, INSERT, DELETE ON health_facts TO lindung_resolver;
GRANT SELECT ON rule_sets, rule_set_regions, rule_set_region_categories TO lindung_resolver;
GRANT DELETE ON check_ins TO lindung_resolver;
REVOKE ALL ON FUNCTION health_summary(bytea, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION health_facts_apply(bytea[], bytea[], text[], bigint[], bigint[], text[],
                                          text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION lindung_retention(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION rule_changes_record() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION health_summary(bytea, bigint) TO lindung_resolver;
GRANT EXECUTE ON FUNCTION health_facts_apply(bytea[], bytea[], text[], bigint[], bigint[], text[],
                                             text[]) TO lindung_resolver;
GRANT EXECUTE ON FUNCTION lindung_retention(timestamptz) TO lindung_resolver;
