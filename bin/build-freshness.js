// Is dist/ older than the sources it was built from? `lookout` runs dist/ when it exists,
// so after a `git pull` or an edit without `npm run build` it would quietly run old code.
// Plain JavaScript (runs from bin/lookout.js before anything is compiled); a few hundred
// stat calls, well under a millisecond or two.
//
// Paths are joined as strings, not with node:path: a few thousand path.join/relative calls
// at every start make Node's path normalization hot enough for V8's optimizing compiler,
// whose code then stays resident (~6 MB of an idle server's RSS, docs/idle-memory.md).
import { readdirSync, statSync } from 'node:fs';
import { sep } from 'node:path';

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The files under `root + sep + dir`, as paths relative to root. */
function filesUnder(root, dir, into = []) {
  let entries;
  try {
    entries = readdirSync(root + sep + dir, { withFileTypes: true });
  } catch {
    return into;
  }
  for (const entry of entries) {
    const relative = dir + sep + entry.name;
    if (entry.isDirectory()) filesUnder(root, relative, into);
    else if (entry.isFile()) into.push(relative);
  }
  return into;
}

/**
 * The sources newer than their build output: each src-main/src-shared `.ts` against its
 * `.js` in dist/ and against the server bundle, and the dashboard's sources against
 * dist/renderer/index.html. Empty when there are no sources beside dist/ (an installed
 * package) or nothing is stale.
 */
export function staleSources(root) {
  const stale = [];
  const dist = root + sep + 'dist' + sep;
  // The bundle `lookout` runs (build/bundle-server.ts) holds every source: older than any is stale.
  const bundle = mtime(dist + 'server' + sep + 'lookout.js');
  for (const layer of ['src-main', 'src-shared']) {
    for (const source of filesUnder(root, layer)) {
      if (!source.endsWith('.ts') || source.endsWith('.d.ts')) continue;
      const built = mtime(dist + source.slice(0, -3) + '.js');
      const changed = mtime(root + sep + source);
      if (built === undefined || changed > built || (bundle !== undefined && changed > bundle)) stale.push(source);
    }
  }
  const page = mtime(dist + 'renderer' + sep + 'index.html');
  if (page !== undefined) {
    for (const source of filesUnder(root, 'src-renderer')) {
      if (mtime(root + sep + source) > page) stale.push(source);
    }
  }
  return stale;
}

export function staleWarning(stale) {
  const more = stale.length > 1 ? ` and ${stale.length - 1} more` : '';
  return (
    `lookout: warning: dist/ is older than the sources (${stale[0]}${more} changed since the last build); ` +
    'run `npm run build`, or delete dist/ to run the sources\n'
  );
}
