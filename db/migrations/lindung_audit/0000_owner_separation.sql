-- Separate owners (issue 17): the audit trail has an owner of its own
-- (lindung_audit_admin in the stack and the manifests), never lindung's
-- owner lindung_admin, and no owner that may create roles (PostgreSQL 15's
-- CREATEROLE resets any role's password). So the credential that migrates
-- or backs up the registry cannot rewrite the trail, and the reverse.
-- Numbered 0000 so that on a new database nothing is applied before it.
DO $$
DECLARE
  owner name := (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database());
  r record;
BEGIN
  IF owner = 'lindung_admin' OR
     (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lindung_admin') AND
      NOT (SELECT rolsuper FROM pg_roles WHERE rolname = owner) AND
      pg_has_role(owner, 'lindung_admin', 'MEMBER')) THEN
    RAISE EXCEPTION '% is owned by lindung_admin, the owner of lindung: give it its own owner (docs/operations.md, "Separate owners")',
      current_database();
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = owner AND rolcreaterole AND NOT rolsuper) THEN
    RAISE EXCEPTION 'the owner of % (%) holds CREATEROLE, which reaches every database: ALTER ROLE % NOCREATEROLE',
      current_database(), owner, owner;
  END IF;
  -- No role of the registry side connects here.
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lindung_admin') THEN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM lindung_admin', current_database());
  END IF;
  FOR r IN SELECT rolname FROM pg_roles
           WHERE rolname IN ('lindung_ingest', 'lindung_decrypt', 'lindung_resolver', 'lindung_revocation') LOOP
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM %I', current_database(), r.rolname);
  END LOOP;
END
$$;
