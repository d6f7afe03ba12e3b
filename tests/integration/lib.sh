# Shared by the integration scenarios: source it from a run.sh.

# Seeds the shared test stack once (the eleven launch partners with their
# topics, ACLs and client certificates, venues and 2,000 people), then waits until the services have loaded the new partners:
# they poll the registry version every 500 ms.
lindung_ensure_seeded() {
  local lock=$LINDUNG_RUN_DIR/seed.lock
  (
    flock 9
    # The registry decides (a run dir may outlive its database): files of
    # partners it does not hold are stale.
    if ! "$LINDUNG_BIN_DIR/lindungctl" partner list | grep -q '^gojek[[:space:]]'; then
      rm -rf "$LINDUNG_RUN_DIR/partners" "$LINDUNG_RUN_DIR/seed"
      "$LINDUNG_BIN_DIR/lindungctl" seed --people 2000 > /dev/null
      sleep 1.5
    fi
  ) 9> "$lock"
}
