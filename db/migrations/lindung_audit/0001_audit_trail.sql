-- The audit trail: one row per (request_id, stage), chained by hash, with
-- signed checkpoints of the chain head. Rows can only be added: UPDATE,
-- DELETE and TRUNCATE are refused by triggers, even to the owner. (A
-- superuser can still bypass triggers; the verify tool exists to catch that.)

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lindung_audit') THEN
    CREATE ROLE lindung_audit LOGIN;
  END IF;
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO lindung_audit', current_database());
END
$$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO lindung_audit;

CREATE TABLE audit_records (
  -- Gapless, assigned by the single writer; the hash chain follows seq.
  seq               bigint PRIMARY KEY CHECK (seq >= 1),
  request_id        bytea,
  stage             smallint NOT NULL,
  partner_id        text,
  outcome           smallint NOT NULL,
  error             smallint NOT NULL DEFAULT 0,
  kind              smallint NOT NULL DEFAULT 0,
  action            smallint NOT NULL DEFAULT 0,
  venue_id          text,
  decision          smallint NOT NULL DEFAULT 0,
  subject_pseudonym bytea,
  sent_at_ms        bigint,
  received_at_ms    bigint,
  handled_at_ms     bigint,
  service           text NOT NULL,
  detail            text,
  actor             text,
  appended_at       timestamptz NOT NULL DEFAULT now(),
  prev_hash         bytea NOT NULL CHECK (length(prev_hash) = 32),
  hash              bytea NOT NULL CHECK (length(hash) = 32),
  UNIQUE (request_id, stage)
);

CREATE TABLE audit_checkpoints (
  seq        bigint PRIMARY KEY REFERENCES audit_records (seq),
  head_hash  bytea NOT NULL CHECK (length(head_hash) = 32),
  signed_at  timestamptz NOT NULL DEFAULT now(),
  public_key bytea NOT NULL CHECK (length(public_key) = 32),
  signature  bytea NOT NULL CHECK (length(signature) = 64)
);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_records_no_change BEFORE UPDATE OR DELETE ON audit_records
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
GRANT SELECT, INSERT ON audit_records, audit_checkpoints TO lindung_audit;
