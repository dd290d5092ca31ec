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

/**
 * Lets what a client's socket holds go now, before the tick ends. For a pump that reaches
 * its high-water mark while corked: the bytes are only waiting for the uncork, not for a
 * slow reader, so they go to the kernel first (loopback takes megabytes at once) and the
 * pump goes on. Without this, a group commit of many large events (one feed of several
 * requests' events) would fill a fast client's queue before the tick ends and drop events
 * it would have read at once. Returns whether anything was held.
 */
export function releaseWrites(stream: Writable): boolean {
  if (!corked.has(stream)) return false;
  uncork(stream);
  return true;
}
