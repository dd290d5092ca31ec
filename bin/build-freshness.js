// Is dist/ older than the sources it was built from? `lookout` runs dist/ when it exists,
// so after a `git pull` or an edit without `npm run build` it would quietly run old code.
// Plain JavaScript (runs from bin/lookout.js before anything is compiled); a few hundred
// stat calls, well under a millisecond or two.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

function filesUnder(dir) {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name));
  } catch {
    return [];
  }
}

/**
 * The sources newer than their build output: each src-main/src-shared `.ts` against its
 * `.js` in dist/ and against the server bundle, and the dashboard's sources against dist/renderer/index.html. Empty
 * when there are no sources beside dist/ (an installed package) or nothing is stale.
 */
export function staleSources(root) {
  const stale = [];
  // The bundle `lookout` runs (build/bundle-server.ts) holds every source: older than any is stale.
  const bundle = mtime(path.join(root, 'dist', 'server', 'lookout.js'));
  for (const layer of ['src-main', 'src-shared']) {
    for (const source of filesUnder(path.join(root, layer))) {
      if (!source.endsWith('.ts') || source.endsWith('.d.ts')) continue;
      const relative = path.relative(root, source);
      const built = mtime(path.join(root, 'dist', relative.replace(/\.ts$/, '.js')));
      const changed = mtime(source);
      if (built === undefined || changed > built || (bundle !== undefined && changed > bundle)) stale.push(relative);
    }
  }
  const page = mtime(path.join(root, 'dist', 'renderer', 'index.html'));
  if (page !== undefined) {
    for (const source of filesUnder(path.join(root, 'src-renderer'))) {
      if (mtime(source) > page) stale.push(path.relative(root, source));
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
