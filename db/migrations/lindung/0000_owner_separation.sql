-- Separate owners (issue 17): lindung and lindung_audit each have their own
-- owner, so that no Lindung credential reaches both databases. This
-- database's owner must not hold CREATEROLE: in PostgreSQL 15 that lets it
-- reset any role's password, the audit owner's included. Roles are made by
-- the database administrator (scripts/stack, the deploy's init); upgrading
-- a deployment from one owner is described in docs/operations.md. Numbered
-- 0000 so that on a new database it runs before anything else.
DO $$
DECLARE
  owner name := (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database());
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = owner AND rolcreaterole AND NOT rolsuper) THEN
    RAISE EXCEPTION 'the owner of % (%) holds CREATEROLE, which reaches every database: ALTER ROLE % NOCREATEROLE (roles are the administrator''s job)',
      current_database(), owner, owner;
  END IF;
  -- Nobody of the audit side connects here, whatever was granted before.
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lindung_audit_admin') THEN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM lindung_audit_admin', current_database());
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lindung_audit') THEN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM lindung_audit', current_database());
  END IF;
END
$$;
