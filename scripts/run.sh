#!/usr/bin/env bash
# Serves the store on the embedded defaults (SQLite in var/, in-process cache), after migrating
# and seeding demo data the first time. Environment variables override every default.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBUG="${DEBUG:-1}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-store_manager.settings.store}"
host="${HOST:-127.0.0.1}"
port="${STORE_PORT:-8000}"
python=.venv/bin/python

$python manage.py migrate --noinput -v0
$python manage.py seed --if-empty

cat <<EOT

Store Manager is running:
  browsable API  http://$host:$port/api/v1/
  API docs       http://$host:$port/api/v1/docs/
  admin          http://$host:$port/admin/
  health         http://$host:$port/health/ready/
Stop with Ctrl-C.
EOT
exec $python manage.py runserver "$host:$port"
