/**
 * Characters a terminal acts on rather than shows: C0 controls (ESC starts CSI/OSC
 * sequences — OSC 52 writes the clipboard — and a newline would forge a whole line),
 * DEL, C1 controls (U+009B is a one-byte CSI), the Unicode line separators and the bidi
 * overrides that reorder what is shown.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

const escape = (char: string): string => {
  const code = char.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** Text from events (or a server) made safe to print: every control character shown escaped. */
export function forTerminal(text: string): string {
  return text.replace(UNSAFE, escape);
}

/**
 * JSON for a terminal: JSON.stringify escapes C0 but leaves C1, DEL and the bidi
 * characters raw; they become `\uXXXX` escapes, which parse back to the same value.
 */
export function jsonForTerminal(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, (char) => `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}
