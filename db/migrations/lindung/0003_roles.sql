-- One login role per service, each with the least it needs. Roles are
-- cluster-wide, so they are created only when missing; they get no password
-- here (the deployment sets one). Nobody else may connect to this database.

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['lindung_ingest', 'lindung_decrypt', 'lindung_resolver',
                           'lindung_revocation', 'lindung_audit'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I LOGIN', r);
    END IF;
  END LOOP;
END
$$;

-- The database name is whatever this migration runs in (normally `lindung`).
DO $$
BEGIN
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO lindung_ingest, lindung_decrypt, '
                 'lindung_resolver, lindung_revocation', current_database());
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM lindung_audit', current_database());
END
$$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO lindung_ingest, lindung_decrypt, lindung_resolver,
  lindung_revocation;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;

-- ingest and decrypt: the registry, read-only.
GRANT SELECT ON partners, partner_keys, system_keys, registry_version
  TO lindung_ingest, lindung_decrypt;

-- status-resolver: health data read-only; tokens and check-ins it writes;
-- venue occupancy is the only column of the registry it may change.
GRANT SELECT ON partners, people, health_status, venues, venue_categories, settings
  TO lindung_resolver;
GRANT SELECT, INSERT, UPDATE ON tokens TO lindung_resolver;
GRANT SELECT, INSERT ON check_ins TO lindung_resolver;
GRANT UPDATE (occupancy) ON venues TO lindung_resolver;
GRANT USAGE ON SEQUENCE check_ins_id_seq TO lindung_resolver;

-- revocation: owns the registry rows; may revoke tokens, which needs to read
-- the columns its WHERE clauses name (never the person a token belongs to).
GRANT SELECT, INSERT, UPDATE ON partners, partner_keys, system_keys, registry_version
  TO lindung_revocation;
GRANT SELECT (token_hash, partner_id, revoked_at), UPDATE (revoked_at) ON tokens
  TO lindung_revocation;
-- Writes to the registry bump registry_version through this trigger function.
GRANT EXECUTE ON FUNCTION registry_version_bump() TO lindung_revocation;
