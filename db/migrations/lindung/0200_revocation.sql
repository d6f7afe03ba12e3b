-- The revocation service's changes to the registry (services/revocation).
-- Each administrative change is one function call, so it is one atomic
-- statement: the service runs it in its own transaction and learns from the
-- returned result code whether it applied or was refused (nothing changed).
-- Every function returns (result, version): 'ok' or a refusal code, and the
-- registry version after the change (what services compare with their
-- snapshot). A refusal writes nothing (the version triggers fire per
-- statement, even on zero rows, so refusals are decided before any write).
-- Functions run with the caller's rights (lindung_revocation).
-- Idempotent: CREATE OR REPLACE, DROP ... IF EXISTS.

-- Onboards a partner with its first key.
CREATE OR REPLACE FUNCTION admin_partner_add(p_partner_id text, p_name text, p_key_id bigint,
                                             p_public_key bytea,
                                             OUT result text, OUT version bigint)
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM partners WHERE partner_id = p_partner_id) THEN
    result := 'partner_exists';
  ELSE
    INSERT INTO partners (partner_id, name, status) VALUES (p_partner_id, p_name, 'active');
    INSERT INTO partner_keys (partner_id, key_id, public_key, status)
      VALUES (p_partner_id, p_key_id, p_public_key, 'active');
    result := 'ok';
  END IF;
  SELECT rv.version INTO version FROM registry_version rv;
END
$$;

-- Adds a key to a partner (rotation: both keys work until the old one is
-- revoked). At most 8 keys per partner, the registry's limit.
CREATE OR REPLACE FUNCTION admin_key_add(p_partner_id text, p_key_id bigint, p_public_key bytea,
                                         OUT result text, OUT version bigint)
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  PERFORM 1 FROM partners WHERE partner_id = p_partner_id FOR UPDATE;
  IF NOT FOUND THEN
    result := 'unknown_partner';
  ELSIF EXISTS (SELECT 1 FROM partner_keys WHERE partner_id = p_partner_id AND key_id = p_key_id) THEN
    result := 'key_in_use';
  ELSE
    SELECT count(*) INTO n FROM partner_keys WHERE partner_id = p_partner_id;
    IF n >= 8 THEN
      result := 'too_many_keys';
    ELSE
      INSERT INTO partner_keys (partner_id, key_id, public_key, status)
        VALUES (p_partner_id, p_key_id, p_public_key, 'active');
      result := 'ok';
    END IF;
  END IF;
  SELECT rv.version INTO version FROM registry_version rv;
END
$$;

-- Revokes one key of a partner, for good. Revoking a revoked key again is
-- accepted (an operator repeating a command must not get an error).
CREATE OR REPLACE FUNCTION admin_key_revoke(p_partner_id text, p_key_id bigint,
                                            OUT result text, OUT version bigint)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM partners WHERE partner_id = p_partner_id FOR UPDATE;
  IF NOT FOUND THEN
    result := 'unknown_partner';
  ELSIF NOT EXISTS (SELECT 1 FROM partner_keys WHERE partner_id = p_partner_id AND key_id = p_key_id) THEN
    result := 'unknown_key';
  ELSE
    UPDATE partner_keys SET status = 'revoked', revoked_at = coalesce(revoked_at, now())
      WHERE partner_id = p_partner_id AND key_id = p_key_id;
    result := 'ok';
  END IF;
  SELECT rv.version INTO version FROM registry_version rv;
END
$$;

-- Cuts a partner off: status revoked, and every token issued to it revoked
-- for good (a reinstated partner links its users again). The partner row is
-- locked FOR UPDATE first: a token being issued concurrently holds a KEY
-- SHARE lock on it (tokens_born_revoked below), so either that token commits
-- first and is revoked here, or it waits and is born revoked.
CREATE OR REPLACE FUNCTION admin_partner_revoke(p_partner_id text, p_reason text,
                                                OUT result text, OUT version bigint,
                                                OUT tokens_revoked bigint)
LANGUAGE plpgsql AS $$
BEGIN
  tokens_revoked := 0;
  PERFORM 1 FROM partners WHERE partner_id = p_partner_id FOR UPDATE;
  IF NOT FOUND THEN
    result := 'unknown_partner';
  ELSE
    UPDATE partners SET status = 'revoked', revoked_at = coalesce(revoked_at, now()),
                        revoke_reason = p_reason
      WHERE partner_id = p_partner_id;
    UPDATE tokens SET revoked_at = now() WHERE partner_id = p_partner_id AND revoked_at IS NULL;
    GET DIAGNOSTICS tokens_revoked = ROW_COUNT;
    result := 'ok';
  END IF;
  SELECT rv.version INTO version FROM registry_version rv;
END
$$;

-- Lets a revoked partner send again. Its old tokens stay revoked.
CREATE OR REPLACE FUNCTION admin_partner_reinstate(p_partner_id text,
                                                   OUT result text, OUT version bigint)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM partners WHERE partner_id = p_partner_id FOR UPDATE;
  IF NOT FOUND THEN
    result := 'unknown_partner';
  ELSE
    UPDATE partners SET status = 'active', revoked_at = NULL WHERE partner_id = p_partner_id;
    result := 'ok';
  END IF;
  SELECT rv.version INTO version FROM registry_version rv;
END
$$;

-- Sets a partner's quota; rate 0 removes it (burst 0: one second's rate).
CREATE OR REPLACE FUNCTION admin_partner_quota(p_partner_id text, p_rate bigint, p_burst bigint,
                                               OUT result text, OUT version bigint)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM partners WHERE partner_id = p_partner_id FOR UPDATE;
  IF NOT FOUND THEN
    result := 'unknown_partner';
  ELSE
    UPDATE partners SET rate_per_s = NULLIF(p_rate, 0), burst = NULLIF(p_burst, 0)
      WHERE partner_id = p_partner_id;
    result := 'ok';
  END IF;
  SELECT rv.version INTO version FROM registry_version rv;
END
$$;

-- Rotates the system key: the newest active key (created beforehand with
-- `lindungctl system-key create`, which registers it active) stays active;
-- every other active key becomes retiring and stops opening requests after
-- the grace period. Refused when there is no newer active key, which would
-- leave no usable system key once the grace period ends.
CREATE OR REPLACE FUNCTION admin_system_key_rotate(p_grace_s bigint,
                                                   OUT result text, OUT version bigint,
                                                   OUT key_id bigint, OUT public_key bytea,
                                                   OUT retire_after_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
  active integer;
  p_until timestamptz := now() + p_grace_s * interval '1 second';
BEGIN
  -- The same lock `system-key create` takes, so a key being created waits.
  LOCK TABLE system_keys IN SHARE ROW EXCLUSIVE MODE;
  SELECT count(*) INTO active FROM system_keys WHERE status = 'active';
  SELECT sk.key_id, sk.public_key INTO key_id, public_key FROM system_keys sk
    WHERE sk.status = 'active' ORDER BY sk.key_id DESC LIMIT 1;
  retire_after_ms := (extract(epoch FROM p_until) * 1000)::bigint;
  IF active < 2 THEN
    result := 'last_system_key';
  ELSE
    UPDATE system_keys SET status = 'retiring', retire_after = p_until
      WHERE status = 'active' AND system_keys.key_id <> admin_system_key_rotate.key_id;
    result := 'ok';
  END IF;
  SELECT rv.version INTO version FROM registry_version rv;
END
$$;

-- A token issued to a revoked partner is born revoked, so a Link that was
-- already past ingest and decrypt when its partner was revoked never yields
-- a working token. The KEY SHARE lock orders this against
-- admin_partner_revoke (see there). SECURITY DEFINER because row locks need
-- more than the resolver's SELECT on partners; it reads one column only.
CREATE OR REPLACE FUNCTION tokens_born_revoked() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  s text;
BEGIN
  SELECT p.status INTO s FROM partners p WHERE p.partner_id = NEW.partner_id FOR KEY SHARE;
  IF s = 'revoked' THEN
    NEW.revoked_at := coalesce(NEW.revoked_at, now());
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION tokens_born_revoked() FROM PUBLIC;
DROP TRIGGER IF EXISTS tokens_born_revoked ON tokens;
CREATE TRIGGER tokens_born_revoked BEFORE INSERT ON tokens
  FOR EACH ROW EXECUTE FUNCTION tokens_born_revoked();

REVOKE ALL ON FUNCTION admin_partner_add(text, text, bigint, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_key_add(text, bigint, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_key_revoke(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_partner_revoke(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_partner_reinstate(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_partner_quota(text, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_system_key_rotate(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admin_partner_add(text, text, bigint, bytea),
  admin_key_add(text, bigint, bytea), admin_key_revoke(text, bigint),
  admin_partner_revoke(text, text), admin_partner_reinstate(text),
  admin_partner_quota(text, bigint, bigint), admin_system_key_rotate(bigint)
  TO lindung_revocation;
-- PERFORM ... FOR UPDATE needs UPDATE on partners (granted in 0003) and the
-- rotation's LOCK TABLE needs UPDATE on system_keys (granted in 0003).
