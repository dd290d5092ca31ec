#!/usr/bin/env bash
# Makes Node >= 22.13 (node:sqlite, type stripping) available, installing Node 24 from
# the npm registry into .tools/node24 when the machine's own Node is older.
# Usage: source scripts/bootstrap-node.sh   (puts the right node first on PATH)
_lookout_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_lookout_node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=13)?0:1)'
}
if ! _lookout_node_ok; then
  _lookout_tools="$_lookout_root/.tools/node24"
  if [ ! -x "$_lookout_tools/node_modules/node/bin/node" ]; then
    echo "bootstrap: installing Node 24 into $_lookout_tools (machine has $(node --version 2>/dev/null || echo none))" >&2
    mkdir -p "$_lookout_tools"
    npm install --prefix "$_lookout_tools" --no-save --no-package-lock --loglevel=error node@24 >&2 || {
      echo "bootstrap: could not install node@24 from the npm registry" >&2
      return 1 2>/dev/null || exit 1
    }
  fi
  export PATH="$_lookout_tools/node_modules/node/bin:$PATH"
fi
unset -f _lookout_node_ok
echo "bootstrap: using node $(node --version) at $(command -v node)" >&2
