/**
 * A stand-in for the `electron` module, for tests that exercise the desktop adapters
 * under Node (the Electron binary cannot run here). Tests install it explicitly:
 *
 *   vi.mock('electron', () => import('./fake-electron.ts'));
 *
 * It implements only what the adapters call, records what they did, and lets a test
 * play the user or the OS (click a menu item, emit before-quit, close the window).
 */
import { EventEmitter } from 'node:events';

type Listener = (...args: never[]) => unknown;

export interface MenuItemTemplate {
  label?: string;
  type?: string;
  role?: string;
  enabled?: boolean;
  checked?: boolean;
  accelerator?: string;
  click?: () => void;
  submenu?: MenuItemTemplate[];
}

export interface FakeEvent {
  preventDefault: () => void;
  prevented: boolean;
}

export function fakeEvent<T extends object>(fields: T = {} as T): T & FakeEvent {
  const event = {
    ...fields,
    prevented: false,
    preventDefault() {
      event.prevented = true;
    },
  };
  return event;
}

class FakeApp extends EventEmitter {
  singleInstance = true;
  lockData: unknown;
  isPackaged = true;
  appPath = '';
  userData = '';
  quitCalls = 0;
  exitCodes: number[] = [];
  requestSingleInstanceLock(data?: unknown): boolean {
    this.lockData = data;
    return this.singleInstance;
  }
  /** Replace to hold the app before `ready` (a test releases it). */
  ready: Promise<void> = Promise.resolve();
  whenReady(): Promise<void> {
    return this.ready;
  }
  quit(): void {
    this.quitCalls++;
  }
  exit(code = 0): void {
    this.exitCodes.push(code);
  }
  getPath(): string {
    return this.userData;
  }
  getAppPath(): string {
    return this.appPath;
  }
}

export class FakeSession {
  readonly partition: string;
  cookiesSet: Record<string, unknown>[] = [];
  permissionRequestHandler: Listener | null = null;
  permissionCheckHandler: Listener | null = null;
  /** Everything done on this session, in order (cookie before load matters). */
  readonly journal: string[];
  constructor(partition: string, journal: string[]) {
    this.partition = partition;
    this.journal = journal;
  }
  readonly cookies = {
    set: async (details: Record<string, unknown>) => {
      this.cookiesSet.push(details);
      this.journal.push(`cookie ${String(details.name)}`);
    },
    remove: async () => undefined,
  };
  setPermissionRequestHandler(handler: Listener | null): void {
    this.permissionRequestHandler = handler;
  }
  setPermissionCheckHandler(handler: Listener | null): void {
    this.permissionCheckHandler = handler;
  }
}

export class FakeWebContents extends EventEmitter {
  readonly session: FakeSession;
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  sent: { channel: string; payload: unknown }[] = [];
  url = '';
  constructor(session: FakeSession) {
    super();
    this.session = session;
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload });
  }
  getURL(): string {
    return this.url;
  }
  /** The frame an IPC call from the current page would come from. */
  get mainFrame(): { url: string; parent: null } {
    return { url: this.url, parent: null };
  }
}

export class BrowserWindow extends EventEmitter {
  static instances: BrowserWindow[] = [];
  readonly options: { webPreferences: { session: FakeSession; preload: string } & Record<string, unknown> } & Record<
    string,
    unknown
  >;
  readonly webContents: FakeWebContents;
  loaded: string[] = [];
  visible = false;
  focused = false;
  destroyed = false;
  constructor(options: BrowserWindow['options']) {
    super();
    this.options = options;
    this.webContents = new FakeWebContents(options.webPreferences.session);
    BrowserWindow.instances.push(this);
  }
  async loadURL(url: string): Promise<void> {
    this.loaded.push(url);
    this.webContents.url = url;
    this.webContents.session.journal.push(`load ${url.slice(0, 30)}`);
  }
  show(): void {
    this.visible = true;
  }
  hide(): void {
    this.visible = false;
  }
  focus(): void {
    this.focused = true;
  }
  restore(): void {}
  isMinimized(): boolean {
    return false;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  isFocused(): boolean {
    return this.focused;
  }
  /** Plays the user clicking the window's close button; true when the window really closed. */
  userCloses(): boolean {
    const event = fakeEvent();
    this.emit('close', event);
    if (!event.prevented) {
      this.destroyed = true;
      this.emit('closed');
    }
    return !event.prevented;
  }
}

const journal: string[] = [];
const sessions = new Map<string, FakeSession>();
export const session = {
  fromPartition(partition: string): FakeSession {
    let found = sessions.get(partition);
    if (!found) {
      found = new FakeSession(partition, journal);
      sessions.set(partition, found);
    }
    return found;
  },
};

export class FakeMenu {
  readonly template: MenuItemTemplate[];
  constructor(template: MenuItemTemplate[]) {
    this.template = template;
  }
  /** Finds an item by label anywhere in the menu, as a user would by reading. */
  item(label: string): MenuItemTemplate {
    const search = (items: MenuItemTemplate[]): MenuItemTemplate | undefined => {
      for (const item of items) {
        if (item.label === label) return item;
        const inner = item.submenu && search(item.submenu);
        if (inner) return inner;
      }
      return undefined;
    };
    const found = search(this.template);
    if (!found)
      throw new Error(
        `no menu item "${label}" in ${JSON.stringify(this.template.map((i) => i.label ?? i.type ?? i.role))}`,
      );
    return found;
  }
  labels(): (string | undefined)[] {
    return this.template.map((i) => (i.type === 'separator' ? '---' : i.label));
  }
}

export const Menu = {
  built: [] as FakeMenu[],
  applicationMenu: null as FakeMenu | null,
  buildFromTemplate(template: MenuItemTemplate[]): FakeMenu {
    const menu = new FakeMenu(template);
    Menu.built.push(menu);
    return menu;
  },
  setApplicationMenu(menu: FakeMenu | null): void {
    Menu.applicationMenu = menu;
  },
};

export class FakeImage {
  readonly path: string;
  template = false;
  constructor(path: string) {
    this.path = path;
  }
  setTemplateImage(value: boolean): void {
    this.template = value;
  }
}

export const nativeImage = {
  createFromPath: (path: string) => new FakeImage(path),
};

export class Tray extends EventEmitter {
  static instances: Tray[] = [];
  image: FakeImage;
  menu: FakeMenu | null = null;
  tooltip = '';
  destroyed = false;
  constructor(image: FakeImage) {
    super();
    this.image = image;
    Tray.instances.push(this);
  }
  setContextMenu(menu: FakeMenu): void {
    this.menu = menu;
  }
  setToolTip(text: string): void {
    this.tooltip = text;
  }
  setImage(image: FakeImage): void {
    this.image = image;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

export class Notification extends EventEmitter {
  static instances: Notification[] = [];
  static supported = true;
  static isSupported(): boolean {
    return Notification.supported;
  }
  readonly options: { title: string; body: string };
  shown = false;
  constructor(options: { title: string; body: string }) {
    super();
    this.options = options;
    Notification.instances.push(this);
  }
  show(): void {
    this.shown = true;
  }
}

export const ipcMain = {
  handlers: new Map<string, (event: unknown, ...args: unknown[]) => unknown>(),
  handle(channel: string, listener: (event: unknown, ...args: unknown[]) => unknown): void {
    ipcMain.handlers.set(channel, listener);
  },
  removeHandler(channel: string): void {
    ipcMain.handlers.delete(channel);
  },
};

export const shell = {
  opened: [] as string[],
  async openExternal(url: string): Promise<void> {
    shell.opened.push(url);
  },
};

export const clipboard = {
  text: '',
  writeText(text: string): void {
    clipboard.text = text;
  },
};

export const dialog = {
  openResult: { canceled: true, filePaths: [] as string[] },
  messages: [] as unknown[],
  errors: [] as string[],
  async showOpenDialog(...args: unknown[]): Promise<{ canceled: boolean; filePaths: string[] }> {
    void args;
    return dialog.openResult;
  },
  async showMessageBox(options: unknown): Promise<{ response: number }> {
    dialog.messages.push(options);
    return { response: 0 };
  },
  showErrorBox(title: string, content: string): void {
    dialog.errors.push(`${title}: ${content}`);
  },
};

export const nativeTheme = Object.assign(new EventEmitter(), { shouldUseDarkColors: false });
export const powerMonitor = new EventEmitter();
export const app = new FakeApp();

// The preload side.
export const contextBridge = {
  exposed: new Map<string, unknown>(),
  exposeInMainWorld(key: string, api: unknown): void {
    contextBridge.exposed.set(key, api);
  },
};

export const ipcRenderer = Object.assign(new EventEmitter(), {
  invoked: [] as { channel: string; payload: unknown }[],
  answer: (channel: string, payload: unknown): unknown => {
    void channel;
    void payload;
    return undefined;
  },
  async invoke(channel: string, payload: unknown): Promise<unknown> {
    ipcRenderer.invoked.push({ channel, payload });
    return ipcRenderer.answer(channel, payload);
  },
});

/** Back to a fresh Electron between tests. */
export function resetFakeElectron(): void {
  app.removeAllListeners();
  app.singleInstance = true;
  app.lockData = undefined;
  app.quitCalls = 0;
  app.ready = Promise.resolve();
  app.exitCodes = [];
  journal.length = 0;
  sessions.clear();
  BrowserWindow.instances = [];
  Tray.instances = [];
  Notification.instances = [];
  Notification.supported = true;
  Menu.built = [];
  Menu.applicationMenu = null;
  ipcMain.handlers.clear();
  shell.opened = [];
  clipboard.text = '';
  dialog.openResult = { canceled: true, filePaths: [] };
  dialog.messages = [];
  dialog.errors = [];
  nativeTheme.removeAllListeners();
  nativeTheme.shouldUseDarkColors = false;
  powerMonitor.removeAllListeners();
  contextBridge.exposed.clear();
  ipcRenderer.removeAllListeners();
  ipcRenderer.invoked = [];
}

export const sessionJournal = journal;
