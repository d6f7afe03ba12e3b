-- The status-resolver answers a partner (a token, a verdict, a seat taken)
-- once its transaction's commit is acknowledged, and ingest, decrypt and
-- revocation act on theirs likewise. That promise holds only if the commit
-- is durable when acknowledged: under synchronous_commit=off (the
-- development stack, or a tuned production server) an immediate restart
-- lost the last commits, among them a Link's token already handed to the
-- partner, whose scans were then UNKNOWN_TOKEN (faults --quick: 12 wrong
-- answers, on tokens answered 0.08 s and 0.3 s after a PostgreSQL stop began). Every
-- session in this database therefore commits synchronously, as the audit
-- database's do (lindung_audit/0004). A database setting, which its owner
-- may make (the owner may not alter roles, see 0000).
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET synchronous_commit = on', current_database());
END
$$;
