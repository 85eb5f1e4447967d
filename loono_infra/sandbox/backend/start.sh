# Switches (build argument MODE): healthy, crash, slow, unhealthy, invalid-api.
case "$LOONO_TEST_MODE" in
  crash)
    echo "backend: cannot connect to the database, exiting" >&2
    exit 3 ;;
  slow)
    echo "backend: warming up for ${SLOW_SECONDS}s"
    sleep "$SLOW_SECONDS" ;;
  unhealthy)
    echo '{"status":"DOWN","components":{"db":{"status":"DOWN"}}}' > /www/health ;;
  invalid-api)
    echo '{"openapi":"3.0.1","info":{"title":"loono"},"paths":"none"}' > /www/v3/api-docs ;;
esac
echo "backend: version $LOONO_TEST_VERSION serving on 8080 ($LOONO_TEST_MODE)"
exec httpd -f -p 8080 -h /www
