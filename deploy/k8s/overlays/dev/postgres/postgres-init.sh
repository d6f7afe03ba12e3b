#!/usr/bin/env bash
# Runs once, when the official postgres image initialises an empty data
# directory: creates the roles and the two databases, each with its own
# owner so that no credential reaches both (lindung_admin owns lindung,
# lindung_audit_admin owns lindung_audit; neither may create roles), and the
# role administrator lindung_dba that sets passwords (db-passwords.sh). The
# migrate job does the rest.
set -euo pipefail

admin_pw=$(< "${LINDUNG_ADMIN_PASSWORD_FILE:?}")
audit_admin_pw=$(< "${LINDUNG_AUDIT_ADMIN_PASSWORD_FILE:?}")
dba_pw=$(< "${LINDUNG_DBA_PASSWORD_FILE:?}")
psql -v ON_ERROR_STOP=1 -v admin_pw="$admin_pw" -v audit_admin_pw="$audit_admin_pw" -v dba_pw="$dba_pw" \
  --username "$POSTGRES_USER" --dbname postgres <<'SQL'
CREATE ROLE lindung_dba LOGIN CREATEROLE PASSWORD :'dba_pw';
CREATE ROLE lindung_admin LOGIN PASSWORD :'admin_pw';
CREATE ROLE lindung_audit_admin LOGIN PASSWORD :'audit_admin_pw';
-- Service roles, without a password until db-passwords sets one.
CREATE ROLE lindung_ingest LOGIN;
CREATE ROLE lindung_decrypt LOGIN;
CREATE ROLE lindung_resolver LOGIN;
CREATE ROLE lindung_revocation LOGIN;
CREATE ROLE lindung_audit LOGIN;
CREATE DATABASE lindung OWNER lindung_admin;
CREATE DATABASE lindung_audit OWNER lindung_audit_admin;
SQL
