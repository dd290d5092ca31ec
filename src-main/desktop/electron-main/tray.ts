import { Menu, nativeImage, Tray } from 'electron';
import type { DesktopAction, MenuItemModel } from '../menu-model.ts';
import { toMenuTemplate } from './menu-template.ts';

export interface TrayView {
  items: readonly MenuItemModel[];
  tooltip: string;
  /** Absolute path of the icon file. */
  icon: string;
}

/**
 * The tray icon and its menu, rebuilt from the model on every state change. The Tray
 * and its Menu are held in fields on purpose: a Tray only referenced from a local
 * variable is garbage-collected and the icon vanishes from the panel.
 */
export class TrayController {
  #tray: Tray | undefined;
  #menu: Menu | undefined;
  #icon: string | undefined;
  readonly #dispatch: (action: DesktopAction) => void;

  constructor(dispatch: (action: DesktopAction) => void) {
    this.#dispatch = dispatch;
  }

  get tray(): Tray | undefined {
    return this.#tray;
  }

  render(view: TrayView): void {
    if (!this.#tray) {
      this.#tray = new Tray(image(view.icon));
      this.#icon = view.icon;
      // Windows and most Linux panels open the menu on right click only; a left click
      // should do the obvious thing and bring the window.
      if (process.platform !== 'darwin') this.#tray.on('click', () => this.#dispatch({ type: 'open-dashboard' }));
    } else if (view.icon !== this.#icon) {
      this.#tray.setImage(image(view.icon));
      this.#icon = view.icon;
    }
    this.#menu = Menu.buildFromTemplate(toMenuTemplate(view.items, this.#dispatch));
    this.#tray.setContextMenu(this.#menu);
    this.#tray.setToolTip(view.tooltip);
  }

  destroy(): void {
    this.#tray?.destroy();
    this.#tray = undefined;
    this.#menu = undefined;
  }
}

function image(file: string): Electron.NativeImage {
  const icon = nativeImage.createFromPath(file);
  // macOS recolours template images for light/dark menu bars and the highlight.
  if (file.includes('Template')) icon.setTemplateImage(true);
  return icon;
}
