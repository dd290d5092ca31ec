import { dialog } from 'electron';
import type { WorkspaceSwitcher } from '../workspaces.ts';
import type { WindowController } from './window-controller.ts';

/** What the page's "choose a workspace" call answers: the folder served, or why not. */
export interface ChooseResult {
  workspace: string | null;
  message: string | null;
}

/**
 * Picking the workspace to serve: the OS folder dialog (over the window when there is
 * one), then the switcher (workspaces.ts), which checks the folder and restarts the
 * server on it.
 */
export class WorkspaceChooser {
  readonly #switcher: WorkspaceSwitcher;
  readonly #window: WindowController;
  readonly #changed: () => void;

  constructor(options: { switcher: WorkspaceSwitcher; window: WindowController; changed: () => void }) {
    this.#switcher = options.switcher;
    this.#window = options.window;
    this.#changed = options.changed;
  }

  async open(dir: string): Promise<ChooseResult> {
    const result = await this.#switcher.open(dir);
    this.#changed();
    return result.ok ? { workspace: result.dir, message: null } : { workspace: null, message: result.message };
  }

  async choose(): Promise<ChooseResult> {
    const options: Electron.OpenDialogOptions = {
      title: 'Choose a workspace for Lookout',
      buttonLabel: 'Serve this folder',
      properties: ['openDirectory', 'createDirectory'],
    };
    const parent = this.#window.current;
    const picked = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options);
    const dir = picked.canceled ? undefined : picked.filePaths[0];
    if (dir === undefined) return { workspace: null, message: null };
    return this.open(dir);
  }

  /** From the tray or the app menu: report a refused folder in a dialog (the page shows its own). */
  fromMenu(dir?: string): void {
    void (dir === undefined ? this.choose() : this.open(dir)).then((result) => {
      if (result.message)
        void dialog.showMessageBox({
          type: 'warning',
          message: 'Lookout cannot serve that folder',
          detail: result.message,
        });
    });
  }
}
