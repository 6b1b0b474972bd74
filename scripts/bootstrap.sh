#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian/Ubuntu machine: the MariaDB client headers
# that mysqlclient compiles against, then a virtualenv in .venv with the pinned packages.
# With --servers, also Debian's mariadb-server and redis-server, which scripts/services.py starts on
# loopback (installed without starting the system's own servers). With --stack, the servers, Debian's
# prometheus and KrakenD CE, built from its Go module into var/tools/ (make stack). With --bench, the
# stack's and Debian's wrk. With --test, the stack's and what only the tests need: Debian's chromium
# for the browser tests.
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# The KrakenD CE release the gateway runs: the one of ../shared/krakend-schema and docker-compose.yml.
KRAKEND_VERSION=v2.13.8
KRAKEND_MODULE=github.com/krakend/krakend-ce/v2

for_tests=false
for_bench=false
for_stack=false
for_servers=false
case "${1:-}" in
  --test) for_tests=true for_stack=true for_servers=true ;;
  --bench) for_bench=true for_stack=true for_servers=true ;;
  --stack) for_stack=true for_servers=true ;;
  --servers) for_servers=true ;;
esac

need_apt=()
pkg-config --exists mysqlclient 2>/dev/null || pkg-config --exists libmariadb 2>/dev/null || need_apt+=(libmariadb-dev)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v gcc >/dev/null || need_apt+=(gcc)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
# The path stocks/tests/test_report_page_browser.py launches; Playwright downloads no browser.
if $for_tests && [ ! -x /usr/bin/chromium ]; then need_apt+=(chromium); fi
if $for_servers; then
  [ -x /usr/sbin/mariadbd ] || need_apt+=(mariadb-server)
  [ -x /usr/bin/redis-server ] || need_apt+=(redis-server)
fi
if $for_bench && ! command -v wrk >/dev/null; then need_apt+=(wrk); fi
if $for_stack; then
  [ -x /usr/bin/prometheus ] || need_apt+=(prometheus)
fi
if ((${#need_apt[@]})); then
  echo "bootstrap: installing system packages: ${need_apt[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  # Debian starts a server when its package is installed, unless policy-rc.d says no: ours run on
  # loopback with their data in var/ (scripts/services.py), never the system's.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo_cmd[@]}" chmod +x /usr/sbin/policy-rc.d
    trap '"${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need_apt[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.requirements.sha256
wanted=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "bootstrap: installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-dev.txt
  echo "$wanted" >"$stamp"
fi

# KrakenD CE from its Go module, as its own Makefile builds it (the version in `krakend version`).
# When the Go module proxy refuses it, what it answered is kept in var/tools/krakend-ce.error: the
# gateway tests and `make stack` say so, and everything else still runs.
if $for_stack && [ ! -x var/tools/krakend-ce ] && ! command -v go >/dev/null; then
  # Debian's golang-go is too old for it; the machines this project runs on come with a newer Go.
  mkdir -p var/tools
  echo "Go is not installed: KrakenD CE $KRAKEND_VERSION needs Go 1.25 or newer (its go.mod)." >var/tools/krakend-ce.error
  echo "bootstrap: $(cat var/tools/krakend-ce.error)" >&2
elif $for_stack && [ ! -x var/tools/krakend-ce ]; then
  mkdir -p var/tools
  echo "bootstrap: building KrakenD CE $KRAKEND_VERSION (go install $KRAKEND_MODULE/cmd/krakend-ce@$KRAKEND_VERSION)"
  version=${KRAKEND_VERSION#v}
  echo "go install $KRAKEND_MODULE/cmd/krakend-ce@$KRAKEND_VERSION failed:" >var/tools/krakend-ce.error
  if GOBIN="$PWD/var/tools" go install \
      -ldflags "-X $KRAKEND_MODULE/pkg.Version=$version -X github.com/luraproject/lura/v2/core.KrakendVersion=$version" \
      "$KRAKEND_MODULE/cmd/krakend-ce@$KRAKEND_VERSION" 2>>var/tools/krakend-ce.error; then
    rm -f var/tools/krakend-ce.error
  else
    echo "bootstrap: KrakenD could not be built; the gateway tests and make stack will say why:" >&2
    tail -n 3 var/tools/krakend-ce.error >&2
  fi
fi
