#!/usr/bin/env bash
# Runs once, when the official postgres image initialises an empty data
# directory: creates the admin role (owner of both databases) and the two
# databases. The migrate job does the rest.
set -euo pipefail

admin_pw=$(< "${LINDUNG_ADMIN_PASSWORD_FILE:?}")
psql -v ON_ERROR_STOP=1 -v admin_pw="$admin_pw" --username "$POSTGRES_USER" --dbname postgres <<'SQL'
CREATE ROLE lindung_admin LOGIN CREATEROLE PASSWORD :'admin_pw';
CREATE DATABASE lindung OWNER lindung_admin;
CREATE DATABASE lindung_audit OWNER lindung_admin;
SQL
