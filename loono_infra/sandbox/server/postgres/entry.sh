# The sandbox's RDS instance: Debian's PostgreSQL. The first start copies the cluster made
# when the image was built (superuser rdsadmin, as on RDS) and adds the master user with
# the password Terraform set (read once from /init/password, then removed) and the database.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  cp -a /var/lib/postgresql/template/. "$PGDATA/"
  password=$(sed "s/'/''/g" /init/password)
  rm -f /init/password
  {
    echo "CREATE ROLE \"$MASTER_USER\" LOGIN CREATEDB CREATEROLE PASSWORD '$password';"
    if [ -n "${DB_NAME:-}" ]; then
      echo "CREATE DATABASE \"$DB_NAME\" OWNER \"$MASTER_USER\";"
    fi
  } | postgres --single -D "$PGDATA" postgres >/dev/null 2>&1  # a failed statement would echo it
fi
exec postgres -D "$PGDATA" -p "$PGPORT" -c fsync=off -c listen_addresses='*' \
  -c unix_socket_directories=/tmp
