-- Registry of the scan path: partners and their keys, the system keys, and a
-- version counter that services poll to notice registry changes.
-- Applied by `lindungctl db migrate` inside one transaction.

CREATE TABLE partners (
  partner_id    text PRIMARY KEY CHECK (partner_id ~ '^[a-z0-9-]{2,32}$'),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  revoked_at    timestamptz,
  revoke_reason text,
  -- NULL means no per-partner quota.
  rate_per_s    integer CHECK (rate_per_s > 0),
  burst         integer CHECK (burst > 0),
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE partner_keys (
  partner_id text NOT NULL REFERENCES partners (partner_id),
  key_id     bigint NOT NULL CHECK (key_id BETWEEN 1 AND 4294967295),
  public_key bytea NOT NULL CHECK (length(public_key) = 32),
  status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  PRIMARY KEY (partner_id, key_id)
);

-- Only public halves: the secret key lives in a file read by decrypt.
CREATE TABLE system_keys (
  key_id       bigint PRIMARY KEY CHECK (key_id BETWEEN 1 AND 4294967295),
  public_key   bytea NOT NULL CHECK (length(public_key) = 32),
  status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retiring', 'revoked')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  retire_after timestamptz
);

-- A single row; bumped by a trigger on every change to the tables above, so
-- ingest and decrypt can tell cheaply whether their cached registry is stale.
CREATE TABLE registry_version (
  one        boolean PRIMARY KEY DEFAULT true CHECK (one),
  version    bigint NOT NULL DEFAULT 1,
  changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO registry_version (one, version) VALUES (true, 1);

CREATE FUNCTION registry_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE registry_version SET version = version + 1, changed_at = now();
  RETURN NULL;
END
$$;

CREATE TRIGGER partners_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON partners
  FOR EACH STATEMENT EXECUTE FUNCTION registry_version_bump();
CREATE TRIGGER partner_keys_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON partner_keys
  FOR EACH STATEMENT EXECUTE FUNCTION registry_version_bump();
CREATE TRIGGER system_keys_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON system_keys
  FOR EACH STATEMENT EXECUTE FUNCTION registry_version_bump();
