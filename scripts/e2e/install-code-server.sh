#!/usr/bin/env bash
# Installs code-server (VS Code's workbench and extension host on Node) for the end-to-end tests
# without any download outside the npm registry and Debian's archive:
#  - @vscode/ripgrep normally downloads rg from GitHub; it first looks in a cache folder, so we
#    put Debian's rg there under the file name it expects.
#  - code-server@4.100.3 is the last release whose engines accept Node 20.
# The install is cached (E2E_CACHE, default ~/.cache/attention-inspector-e2e) and reused.
set -euo pipefail
VERSION=4.100.3
CACHE="${E2E_CACHE:-$HOME/.cache/attention-inspector-e2e}"
DEST="$CACHE/code-server-$VERSION"
BIN="$DEST/node_modules/code-server/out/node/entry.js"

if [ -f "$DEST/.installed" ] && [ -f "$BIN" ]; then
  echo "[e2e] code-server $VERSION cached in $DEST"
  exit 0
fi

need=()
command -v rg >/dev/null || need+=(ripgrep)
command -v chromium >/dev/null || need+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "[e2e] apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

TMPDIR="${TMPDIR:-/tmp}"
RG_CACHE="$TMPDIR/vscode-ripgrep-cache-1.15.11"
mkdir -p "$RG_CACHE"
RG_TAR="$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$RG_TAR" ]; then
  work=$(mktemp -d)
  cp "$(command -v rg)" "$work/rg"
  tar -C "$work" -czf "$RG_TAR" rg
  rm -rf "$work"
fi

rm -rf "$DEST"
mkdir -p "$DEST"
cd "$DEST"
echo '{"name":"e2e-code-server","private":true}' > package.json
echo "[e2e] npm install code-server@$VERSION (scripts off)"
npm install --no-audit --no-fund --ignore-scripts "code-server@$VERSION" >/dev/null
echo "[e2e] rebuilding argon2 (node-pre-gyp falls back to a local build: no download)"
npm rebuild argon2 >"$DEST/argon2.log" 2>&1 || { tail -20 "$DEST/argon2.log"; exit 1; }
test -f node_modules/argon2/lib/binding/napi-v3/argon2.node || { echo "[e2e] argon2 did not build"; exit 1; }
cd node_modules/code-server
echo "[e2e] code-server postinstall"
export npm_config_yes=true npm_config_unsafe_perm=true
export npm_config_user_agent="npm/11.0.0 node/v20.20.2 linux x64 workspaces/false"
bash ./postinstall.sh >"$DEST/postinstall.log" 2>&1 || { tail -30 "$DEST/postinstall.log"; exit 1; }
touch "$DEST/.installed"
echo "[e2e] code-server $VERSION installed in $DEST"
