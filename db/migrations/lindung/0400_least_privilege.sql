-- Least privilege (issue 17): the resolver issues tokens (INSERT through
-- resolver_issue_token[s]) and reads them; it never changes one. Only
-- revocation may end a token (revoked_at), so a compromised resolver cannot
-- bring a revoked token back.
REVOKE UPDATE ON tokens FROM lindung_resolver;
-- No service role deletes from the registry or the token table: revocation
-- revokes (a status), it never erases the record of what was.
REVOKE DELETE, TRUNCATE ON partners, partner_keys, system_keys, registry_version, tokens
  FROM lindung_ingest, lindung_decrypt, lindung_resolver, lindung_revocation;
