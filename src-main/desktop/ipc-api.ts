import { z } from 'zod';
import { SessionState } from '../../src-shared/session.ts';
import type { ServerState } from './server-toggle.ts';

/**
 * The preload API: every IPC channel between the window and the main process, with the
 * schema of what goes each way. Both ends validate against this one table — the
 * preload before it sends and when it receives, the main process when a request
 * arrives (the renderer is untrusted) and before it answers.
 *
 * This module imports only zod and src-shared, because the preload bundle
 * (build/bundle-preload.ts) includes it and runs in a sandboxed renderer.
 */

export const ServerStateSchema = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('stopped') }),
  z.strictObject({ status: z.literal('starting') }),
  z.strictObject({
    status: z.literal('running'),
    url: z.string(),
    address: z.string(),
    port: z.number().int().min(1).max(65535),
  }),
  z.strictObject({ status: z.literal('stopping') }),
  z.strictObject({
    status: z.literal('error'),
    reason: z.enum(['port_taken', 'no_workspace', 'startup_failed', 'stop_failed']),
    message: z.string(),
  }),
]);

/** Compile-time proof that the toggle's state fits the wire schema, in both directions. */
const _serverStateFits = (state: ServerState): z.infer<typeof ServerStateSchema> => state;
const _wireFits = (state: z.infer<typeof ServerStateSchema>): ServerState => state;

/** What the window needs to draw the server's situation. The token never crosses. */
export const DesktopState = z.strictObject({
  server: ServerStateSchema,
  session: SessionState.nullable(),
  workspace: z.string().nullable(),
});
export type DesktopState = z.infer<typeof DesktopState>;

const Nothing = z.undefined({ error: 'this call takes no arguments' });

export const IPC_CHANNELS = {
  'server:state': { request: Nothing, response: DesktopState },
  'server:start': {
    request: z.strictObject({ free_port: z.boolean().optional() }).optional(),
    response: DesktopState,
  },
  'server:stop': { request: Nothing, response: DesktopState },
  'server:open-in-browser': { request: Nothing, response: z.strictObject({ opened: z.boolean() }) },
  'cli:copy-env': { request: Nothing, response: z.strictObject({ copied: z.boolean() }) },
  /**
   * A one-time owner sign-in code (60 s, one use) that the page exchanges by POST, the
   * same way `lookout open` signs a browser in: no token crosses, no cookie is planted.
   */
  'auth:sign-in-code': {
    request: Nothing,
    response: z.strictObject({ code: z.string().nullable(), expires_in: z.number().int() }),
  },
  /**
   * Opens the native folder chooser in the main process. The page cannot name a path
   * itself: only the user, through the OS dialog, picks what gets served.
   */
  'workspace:choose': {
    request: Nothing,
    response: z.strictObject({ workspace: z.string().nullable(), message: z.string().nullable() }),
  },
} as const;

/** Main → window: pushed after every server or lock change. */
export const STATE_CHANGED_CHANNEL = 'server:state-changed';

export type Channel = keyof typeof IPC_CHANNELS;
export const CHANNELS = Object.keys(IPC_CHANNELS) as Channel[];
export type RequestOf<C extends Channel> = z.output<(typeof IPC_CHANNELS)[C]['request']>;
export type ResponseOf<C extends Channel> = z.output<(typeof IPC_CHANNELS)[C]['response']>;

export const isChannel = (name: string): name is Channel => Object.hasOwn(IPC_CHANNELS, name);

export class IpcValidationError extends Error {
  readonly channel: string;
  constructor(channel: string, direction: 'request' | 'response' | 'event', error: z.ZodError) {
    const issue = error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    super(`invalid ${direction} on ${channel}: ${where}${issue?.message ?? 'invalid'}`);
    this.name = 'IpcValidationError';
    this.channel = channel;
  }
}

export function parseRequest<C extends Channel>(channel: C, payload: unknown): RequestOf<C> {
  const result = IPC_CHANNELS[channel].request.safeParse(payload);
  if (!result.success) throw new IpcValidationError(channel, 'request', result.error);
  return result.data as RequestOf<C>;
}

export function parseResponse<C extends Channel>(channel: C, payload: unknown): ResponseOf<C> {
  const result = IPC_CHANNELS[channel].response.safeParse(payload);
  if (!result.success) throw new IpcValidationError(channel, 'response', result.error);
  return result.data as ResponseOf<C>;
}

export function parseStateEvent(payload: unknown): DesktopState {
  const result = DesktopState.safeParse(payload);
  if (!result.success) throw new IpcValidationError(STATE_CHANGED_CHANNEL, 'event', result.error);
  return result.data;
}

/** What the preload hands the page as `window.lookout`. */
export interface LookoutDesktopApi {
  getState(): Promise<DesktopState>;
  startServer(options?: { free_port?: boolean }): Promise<DesktopState>;
  stopServer(): Promise<DesktopState>;
  openInBrowser(): Promise<{ opened: boolean }>;
  copyCliEnv(): Promise<{ copied: boolean }>;
  /** A one-time sign-in code for the running server (null when none runs). */
  signInCode(): Promise<{ code: string | null; expires_in: number }>;
  chooseWorkspace(): Promise<{ workspace: string | null; message: string | null }>;
  /** Calls `listener` with every new state; returns the unsubscribe function. */
  onStateChange(listener: (state: DesktopState) => void): () => void;
}

/** The preload's view of Electron's ipcRenderer, narrowed to what the API uses. */
export interface IpcTransport {
  invoke(channel: Channel, payload: unknown): Promise<unknown>;
  subscribe(channel: typeof STATE_CHANGED_CHANNEL, listener: (payload: unknown) => void): () => void;
}

/**
 * Builds `window.lookout` over a transport. A bad argument from the page fails here,
 * before anything is sent; a malformed answer fails here too, instead of reaching the
 * page as something it would trust.
 */
export function createDesktopApi(transport: IpcTransport): LookoutDesktopApi {
  const call = async <C extends Channel>(channel: C, payload: unknown): Promise<ResponseOf<C>> => {
    const request = parseRequest(channel, payload);
    return parseResponse(channel, await transport.invoke(channel, request));
  };
  return Object.freeze({
    getState: () => call('server:state', undefined),
    startServer: (options?: { free_port?: boolean }) => call('server:start', options),
    stopServer: () => call('server:stop', undefined),
    openInBrowser: () => call('server:open-in-browser', undefined),
    copyCliEnv: () => call('cli:copy-env', undefined),
    signInCode: () => call('auth:sign-in-code', undefined),
    chooseWorkspace: () => call('workspace:choose', undefined),
    onStateChange(listener: (state: DesktopState) => void): () => void {
      if (typeof listener !== 'function') throw new TypeError('onStateChange needs a function');
      return transport.subscribe(STATE_CHANGED_CHANNEL, (payload) => {
        const parsed = DesktopState.safeParse(payload);
        // A malformed push is dropped: the next valid one brings the page up to date.
        if (parsed.success) listener(parsed.data);
      });
    },
  });
}
