#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian/Ubuntu machine: the MariaDB client headers
# that mysqlclient compiles against, then a virtualenv in .venv with the pinned packages.
# With --servers, also Debian's mariadb-server and redis-server, which scripts/services.py starts on
# loopback (installed without starting the system's own servers). With --test, the servers and what
# only the tests need: Debian's chromium for the browser tests.
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

for_tests=false
for_servers=false
case "${1:-}" in
  --test) for_tests=true for_servers=true ;;
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
