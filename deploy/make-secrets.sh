#!/bin/sh
# Create what deploy/compose.yaml needs and nobody may share or commit:
#   deploy/.env                      database, cache, bus, object store and Grafana passwords
#   deploy/secrets/internal.key      the service-to-service signing secret (all services)
#   deploy/secrets/config-master.key the key encrypting secret fields of config documents
# Files that exist are kept, so running it again never changes a secret.
#   usage: sh deploy/make-secrets.sh [DIR]      (DIR defaults to this script's folder)
set -eu

dir=${1:-$(cd "$(dirname "$0")" && pwd)}
umask 077

hex() { # $1 random bytes from the kernel, as lowercase hex
    od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

mkdir -p "$dir/secrets"
chmod 0700 "$dir/secrets"
for name in internal config-master; do
    file="$dir/secrets/$name.key"
    if [ -e "$file" ]; then
        echo "kept    $file"
        continue
    fi
    printf '%s\n' "$(hex 32)" > "$file"
    # Compose bind-mounts the file as is, and the services run as uid 10001: the file must
    # be readable by them; the 0700 folder keeps other users of this host out.
    chmod 0444 "$file"
    echo "created $file"
done

env="$dir/.env"
if [ -e "$env" ]; then
    echo "kept    $env"
else
    cat > "$env" <<END
POSTGRES_PASSWORD=$(hex 24)
REDIS_PASSWORD=$(hex 24)
NATS_PASSWORD=$(hex 24)
MINIO_ROOT_USER=argosy-$(hex 4)
MINIO_ROOT_PASSWORD=$(hex 24)
GRAFANA_ADMIN_PASSWORD=$(hex 24)
END
    echo "created $env"
fi
