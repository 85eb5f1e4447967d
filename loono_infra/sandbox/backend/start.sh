# Switches (build argument MODE): healthy, crash, slow, unhealthy, invalid-api.
# /health is Spring's form: UP only while the database answers a query with the settings
# the task was given (DB_HOST, DB_PORT, DB_NAME, DB_USERNAME, DB_PASSWORD).
database_status() {
  [ -n "${DB_HOST:-}" ] || { echo "DOWN"; return; }
  if PGPASSWORD="${DB_PASSWORD:-}" PGCONNECT_TIMEOUT=2 psql -h "$DB_HOST" -p "${DB_PORT:-5432}" \
       -U "${DB_USERNAME:-}" -d "${DB_NAME:-postgres}" -tAc 'select 1' >/dev/null 2>/tmp/db-error
  then echo "UP"; else echo "DOWN"; fi
}
write_health() {
  db=$(database_status)
  echo "{\"status\":\"$db\",\"components\":{\"db\":{\"status\":\"$db\"}}}" > /www/health.next
  mv /www/health.next /www/health
}
case "$LOONO_TEST_MODE" in
  crash)
    echo "backend: cannot connect to the database, exiting" >&2
    exit 3 ;;
  slow)
    echo "backend: warming up for ${SLOW_SECONDS}s"
    sleep "$SLOW_SECONDS" ;;
esac
if [ "$LOONO_TEST_MODE" = "unhealthy" ]; then
  echo '{"status":"DOWN","components":{"db":{"status":"DOWN"}}}' > /www/health
else
  write_health
  echo "backend: database ${DB_HOST:-(no DB_HOST)}:${DB_PORT:-} is $(sed 's/.*"db":{"status":"\([A-Z]*\)".*/\1/' /www/health)"
  (while sleep 1; do write_health; done) &
fi
if [ "$LOONO_TEST_MODE" = "invalid-api" ]; then
  echo '{"openapi":"3.0.1","info":{"title":"loono"},"paths":"none"}' > /www/v3/api-docs
fi
port="${SERVER_PORT:-8080}"  # Spring Boot's variable for its port
echo "backend: version $LOONO_TEST_VERSION serving on $port ($LOONO_TEST_MODE)"
exec httpd -f -p "$port" -h /www
