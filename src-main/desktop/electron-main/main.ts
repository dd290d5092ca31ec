import { app, dialog } from 'electron';
import { launchDesktopApp } from './desktop-app.ts';

/**
 * The Electron entry point. The build bundles it with everything it imports into one module,
 * dist/desktop/main.js (package.json "main"; build/bundle-server.ts), as it does the
 * `lookout` command: the embedded server starts as lean as `lookout serve`. Everything lives in desktop-app.ts so it can be exercised with a mocked Electron;
 * this file only starts it and turns a failed start into a visible error.
 */
launchDesktopApp().catch((error: unknown) => {
  dialog.showErrorBox('Lookout could not start', error instanceof Error ? error.message : String(error));
  app.exit(1);
});
