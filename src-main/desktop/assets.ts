import path from 'node:path';

/**
 * Where the app's own image files are. In development they sit in the checkout's
 * `build/`; in a package, electron-builder puts them in app.asar and (asarUnpack in
 * electron-builder.yml) also beside it in app.asar.unpacked. The unpacked copy is the one
 * handed out, because tray hosts and notification daemons outside Electron read icons by
 * path and cannot see inside an asar archive.
 */
export function assetPath(appPath: string, ...segments: string[]): string {
  const file = path.join(appPath, 'build', ...segments);
  const asar = `${path.sep}app.asar${path.sep}`;
  return file.includes(asar) ? file.replace(asar, `${path.sep}app.asar.unpacked${path.sep}`) : file;
}
