import type { Writable } from 'node:stream';

const corked = new WeakSet<Writable>();

function uncork(stream: Writable): void {
  corked.delete(stream);
  stream.uncork();
}

/**
 * Holds a client's writes until the current tick ends, so the frames one publish fans out
 * to it (a batch of 100 events is 100 pumps of one frame each) leave in one writev
 * instead of one syscall per frame, as uWebSockets does. The stream's buffered length
 * still grows with each write, so the high-water checks of the pumps see what is held.
 */
export function coalesceWrites(stream: Writable): void {
  if (corked.has(stream)) return;
  corked.add(stream);
  stream.cork();
  process.nextTick(uncork, stream);
}
