-- The audit service publishes a record on audit.log and commits its input
-- offsets only after audit_append's transaction commits. That promise holds
-- only if the commit is durable when acknowledged: a server run with
-- synchronous_commit=off (the development stack, or a tuned production one)
-- could lose the last acknowledged records in a crash after they were
-- published. The audit role therefore always commits synchronously, whatever
-- the server's default.
ALTER ROLE lindung_audit SET synchronous_commit = on;
