// js-yaml ships no types and @types/js-yaml is not installed; it is present because
// electron-builder loads its own config with it. The tests need one function.
declare module 'js-yaml' {
  export function load(text: string, options?: { filename?: string }): unknown;
}
