import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_NOTIFICATION_PREFS, NOTIFIABLE_TYPES, type NotifiableType } from './notification-policy.ts';

export const SETTINGS_FILE = 'settings.json';
export const MAX_RECENT_WORKSPACES = 10;

const Notifications = z.object(
  Object.fromEntries(
    NOTIFIABLE_TYPES.map((type) => [type, z.boolean().catch(DEFAULT_NOTIFICATION_PREFS[type])]),
  ) as Record<NotifiableType, z.ZodCatch<z.ZodBoolean>>,
);

/**
 * The desktop app's own preferences, in `<userData>/settings.json`. Every field falls
 * back to its default on its own (`catch`), so one bad value — a hand edit, a file from
 * another version — costs that value, not the whole file.
 */
export const DesktopSettingsSchema = z.object({
  version: z.literal(1).catch(1),
  recent_workspaces: z
    .array(z.string())
    .catch([])
    .transform((dirs) => [...new Set(dirs.filter((dir) => path.isAbsolute(dir)))].slice(0, MAX_RECENT_WORKSPACES)),
  close_to_tray: z.boolean().catch(true),
  close_hint_shown: z.boolean().catch(false),
  notifications: Notifications.catch({ ...DEFAULT_NOTIFICATION_PREFS }),
});
export type DesktopSettingsValue = z.infer<typeof DesktopSettingsSchema>;

export const defaultSettings = (): DesktopSettingsValue => DesktopSettingsSchema.parse({});

/**
 * Reads and writes the settings file in a directory the caller names (Electron's
 * userData in the app, a temp dir in tests). Writes are atomic (temp file + rename);
 * a failed write is reported and the app carries on with the value in memory —
 * preferences are a convenience, never a reason to stop.
 */
export class DesktopSettings {
  readonly file: string;
  #value: DesktopSettingsValue;
  readonly #log: (message: string) => void;

  private constructor(file: string, value: DesktopSettingsValue, log: (message: string) => void) {
    this.file = file;
    this.#value = value;
    this.#log = log;
  }

  static load(dir: string, options: { log?: (message: string) => void } = {}): DesktopSettings {
    const log = options.log ?? (() => undefined);
    const file = path.join(dir, SETTINGS_FILE);
    let text: string | undefined;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        log(`cannot read ${file} (${(error as Error).message}); using defaults`);
    }
    if (text === undefined) return new DesktopSettings(file, defaultSettings(), log);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      // Not JSON at all: keep it beside (the user may want it back) rather than overwrite it.
      const aside = `${file}.corrupt`;
      try {
        fs.renameSync(file, aside);
        log(`${file} was not valid JSON; moved it to ${aside} and started from defaults`);
      } catch {
        log(`${file} was not valid JSON; using defaults`);
      }
      return new DesktopSettings(file, defaultSettings(), log);
    }
    return new DesktopSettings(
      file,
      DesktopSettingsSchema.parse(typeof raw === 'object' && raw !== null ? raw : {}),
      log,
    );
  }

  get value(): Readonly<DesktopSettingsValue> {
    return this.#value;
  }

  /** Applies a change, re-validates it (limits, dedupe) and saves. */
  update(change: (current: DesktopSettingsValue) => DesktopSettingsValue): DesktopSettingsValue {
    this.#value = DesktopSettingsSchema.parse(change(structuredClone(this.#value)));
    this.#save();
    return this.#value;
  }

  /** Moves `dir` to the front of the recent list (most recent first). */
  rememberWorkspace(dir: string): void {
    this.update((s) => ({ ...s, recent_workspaces: [dir, ...s.recent_workspaces.filter((d) => d !== dir)] }));
  }

  forgetWorkspace(dir: string): void {
    this.update((s) => ({ ...s, recent_workspaces: s.recent_workspaces.filter((d) => d !== dir) }));
  }

  clearRecentWorkspaces(): void {
    this.update((s) => ({ ...s, recent_workspaces: [] }));
  }

  #save(): void {
    const temp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(temp, `${JSON.stringify(this.#value, null, 2)}\n`, { mode: 0o600 });
      fs.renameSync(temp, this.file);
    } catch (error) {
      try {
        fs.rmSync(temp, { force: true });
      } catch {
        // The directory itself is the problem; there is no temp file to clean up.
      }
      this.#log(`cannot save ${this.file} (${(error as Error).message}); the change holds until Lookout quits`);
    }
  }
}
