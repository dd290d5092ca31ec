import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { layeringRule } from './lint/layering.js';

/**
 * The layering rule of ARCHITECTURE.md, enforced: a file's folder decides what it may
 * import. src-shared runs everywhere (zod only); src-renderer never reaches into the
 * Node side; only src-main/desktop/electron-main/ may import electron; inside src-main the layers
 * are one-way (lint/layering.js).
 */
const ELECTRON_ONLY_IN_ADAPTERS = {
  name: 'electron',
  message:
    'Only the Electron adapters in src-main/desktop/electron-main/ may import electron; put the decision in a plain module and adapt it there.',
};
const NODE_BUILTINS = ['node:*', 'fs', 'path', 'http', 'os', 'child_process', 'crypto', 'net', 'url', 'stream'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', 'coverage/', 'src-renderer/dist/', 'docs/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-imports': ['error', { paths: [ELECTRON_ONLY_IN_ADAPTERS] }],
    },
  },
  {
    files: ['src-main/**/*.ts'],
    plugins: { lookout: { rules: { layering: layeringRule } } },
    rules: { 'lookout/layering': 'error' },
  },
  {
    // An ESM import of node:http evaluates its WebSocket getter, which loads undici and
    // http2 into every server (docs/idle-memory.md): these two modules require it instead.
    files: ['src-main/**/*.ts'],
    ignores: ['src-main/transport/node-http.ts', 'src-main/http/koa-router.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:http',
              allowTypeImports: true,
              message: 'Use `http` from src-main/transport/node-http.ts (an ESM import of node:http loads undici).',
            },
            {
              name: '@koa/router',
              allowTypeImports: true,
              message: 'Use `Router` from src-main/http/koa-router.ts (its ESM build imports node:http).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src-shared/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!zod$|zod/|\\.{1,2}/).*',
              message: 'src-shared runs in Node, Electron and the browser: it imports only zod and itself.',
            },
            {
              group: ['../src-main/**', '../../src-main/**', '../src-renderer/**', '../../src-renderer/**'],
              message: 'src-shared must not import other layers.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src-renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'The dashboard talks to the server over HTTP/WS only.' }],
          patterns: [
            { group: ['**/src-main/**'], message: 'src-renderer never imports src-main: use src-shared contracts.' },
            { group: NODE_BUILTINS, message: 'The dashboard runs in a browser.' },
          ],
        },
      ],
    },
  },
  {
    // The dashboard's build configuration runs in Node (Vite), not in the page.
    files: ['src-renderer/vite.config.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // The desktop's plain modules make every decision and run under Node: they reach
    // Electron neither directly nor through an adapter.
    files: ['src-main/desktop/**/*.ts'],
    ignores: ['src-main/desktop/electron-main/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [ELECTRON_ONLY_IN_ADAPTERS],
          patterns: [
            {
              regex: '(^|/)electron-main(/|$)',
              message:
                "The desktop's plain modules never import its Electron adapters (src-main/desktop/electron-main/): the adapters import them.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src-main/desktop/electron-main/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  // Formatting belongs to Prettier; ESLint keeps to correctness.
  prettier,
);
