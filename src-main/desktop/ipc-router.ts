import { CHANNELS, type Channel, parseRequest, parseResponse, type RequestOf, type ResponseOf } from './ipc-api.ts';

/** Electron's ipcMain, narrowed to what the router uses (so tests need no Electron). */
export interface IpcMainLike<E> {
  handle(channel: string, listener: (event: E, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export type IpcHandlers = { [C in Channel]: (request: RequestOf<C>) => Promise<ResponseOf<C>> | ResponseOf<C> };

/**
 * Registers one handler per channel of the preload API. Each call is checked in this
 * order: the sender (only our window's top frame), the payload (the channel's request
 * schema, exactly one argument), then the handler runs and its answer is checked
 * against the response schema — a bug on this side fails loudly here rather than
 * handing the page something the preload would reject anyway.
 *
 * Returns a function that removes the handlers (switching windows, tests).
 */
export function registerIpcHandlers<E>(
  ipcMain: IpcMainLike<E>,
  handlers: IpcHandlers,
  isTrusted: (event: E) => boolean,
): () => void {
  for (const channel of CHANNELS) {
    ipcMain.handle(channel, (event: E, ...args: unknown[]) => dispatch(channel, event, args, handlers, isTrusted));
  }
  return () => {
    for (const channel of CHANNELS) ipcMain.removeHandler(channel);
  };
}

async function dispatch<C extends Channel, E>(
  channel: C,
  event: E,
  args: unknown[],
  handlers: IpcHandlers,
  isTrusted: (event: E) => boolean,
): Promise<ResponseOf<C>> {
  if (!isTrusted(event)) throw new Error(`${channel} refused: only the Lookout window may call it`);
  if (args.length > 1) throw new Error(`${channel} takes at most one argument; got ${args.length}`);
  const request = parseRequest(channel, args[0]);
  const handler = handlers[channel] as (request: RequestOf<C>) => Promise<ResponseOf<C>> | ResponseOf<C>;
  return parseResponse(channel, await handler(request));
}
