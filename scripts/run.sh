#!/usr/bin/env bash
# Serves the store and the payments service on the embedded defaults (a SQLite file each in var/,
# in-process cache), after migrating both databases and seeding demo data the first time.
# Payments runs in the background and stops with the store. Environment variables override every
# default.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBUG="${DEBUG:-1}"
host="${HOST:-127.0.0.1}"
port="${STORE_PORT:-8000}"
payments_port="${PAYMENTS_PORT:-8001}"
store_settings="${DJANGO_SETTINGS_MODULE:-store_manager.settings.store}"
payments_settings="${PAYMENTS_SETTINGS_MODULE:-store_manager.settings.payments}"
# How each service reaches the other (docs/adr/0005-payments-service.md); the payments URLs name its
# API root, as the gateway's /payments-api does in production (docs/adr/0008-gateway.md).
export PAYMENTS_URL="${PAYMENTS_URL:-http://$host:$payments_port/api/v1}"
export PAYMENTS_PUBLIC_URL="${PAYMENTS_PUBLIC_URL:-http://$host:$payments_port/api/v1}"
export STORE_URL="${STORE_URL:-http://$host:$port}"
python=.venv/bin/python

DJANGO_SETTINGS_MODULE=$payments_settings $python manage.py migrate --noinput -v0
DJANGO_SETTINGS_MODULE=$store_settings $python manage.py migrate --noinput -v0
DJANGO_SETTINGS_MODULE=$store_settings $python manage.py seed --if-empty

DJANGO_SETTINGS_MODULE=$payments_settings $python manage.py runserver "$host:$payments_port" &
payments_pid=$!
trap 'kill "$payments_pid" 2>/dev/null || true; wait "$payments_pid" 2>/dev/null || true' EXIT

cat <<EOT

Store Manager is running:
  browsable API  http://$host:$port/api/v1/
  API docs       http://$host:$port/api/v1/docs/
  admin          http://$host:$port/admin/
  health         http://$host:$port/health/ready/
Payments service (test card 4000 0000 0000 0002 is always declined):
  API            http://$host:$payments_port/api/v1/payments/
  API schema     http://$host:$payments_port/api/v1/schema/
  health         http://$host:$payments_port/health/ready/
Stop both with Ctrl-C.
EOT
DJANGO_SETTINGS_MODULE=$store_settings $python manage.py runserver "$host:$port"
