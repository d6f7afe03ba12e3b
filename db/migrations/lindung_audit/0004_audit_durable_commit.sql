-- The audit service publishes a record on audit.log and commits its input
-- offsets only after audit_append's transaction commits. That promise holds
-- only if the commit is durable when acknowledged: a server run with
-- synchronous_commit=off (the development stack, or a tuned production one)
-- could lose the last acknowledged records in a crash after they were
-- published. Every session in the audit database therefore commits
-- synchronously, whatever the server's default. (A database setting, which
-- its owner may make: the owner may not alter roles, see 0000.)
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET synchronous_commit = on', current_database());
END
$$;
