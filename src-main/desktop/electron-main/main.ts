import { app, dialog } from 'electron';
import { launchDesktopApp } from './desktop-app.ts';

/**
 * The Electron entry point (package.json "main" → dist/src-main/desktop/electron-main/main.js).
 * Everything lives in desktop-app.ts so it can be exercised with a mocked Electron;
 * this file only starts it and turns a failed start into a visible error.
 */
launchDesktopApp().catch((error: unknown) => {
  dialog.showErrorBox('Lookout could not start', error instanceof Error ? error.message : String(error));
  app.exit(1);
});
