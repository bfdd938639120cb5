#!/usr/bin/env bash
# The wheel works on its own: build it, install it into a fresh venv, then from an empty folder run
# `painpoint chat` and `painpoint serve`, and check the user's data lands in that folder's .painpoint/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "${serve_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$here/.venv/bin/pip" wheel --quiet --no-deps -w "$work/dist" "$here"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$work"/dist/painpoint-*.whl
mkdir "$work/empty" && cd "$work/empty"
echo "How is the team doing these days?" | "$work/venv/bin/painpoint" chat --persona teresa-lindqvist-payments > chat.out
grep -q "^Teresa Lindqvist: " chat.out || { echo "wheel smoke: painpoint chat said nothing" >&2; exit 1; }
port=$("$here/.venv/bin/python" -c "from painpoint.web.servers import free_port; print(free_port())")
"$work/venv/bin/painpoint" serve --port "$port" > serve.log 2>&1 & serve_pid=$!
for _ in $(seq 1 60); do
  if curl -fs -o /dev/null "http://127.0.0.1:$port/"; then
    [ -f .painpoint/painpoint.db ] && [ -f .painpoint/auth_secret ] || { echo "wheel smoke: no ./.painpoint data" >&2; exit 1; }
    if find "$work/venv" -name painpoint.db -o -name auth_secret | grep -q .; then
      echo "wheel smoke: user data inside the install" >&2; exit 1
    fi
    echo "wheel smoke: chat and serve work from an empty folder"
    exit 0
  fi
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 1
done
echo "wheel smoke: painpoint serve did not answer" >&2; cat serve.log >&2; exit 1
