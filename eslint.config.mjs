// Flat ESLint config: the recommended rules of ESLint and typescript-eslint over all sources,
// no import cycles, and the import boundaries between the sides.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/**
 * The direction of imports between the sides: extension/ (VS Code), server/ (the runtime and the
 * CLI) and webview/ (the panels' browser code) share code only through common/ (pure modules more
 * than one side uses) and protocol/ (the message types), never by importing each other; common/
 * and protocol/ import none of the three. A relative specifier that climbs out of a side and
 * enters another is the crossing (no side has a subfolder named like a side).
 */
function boundary(side, forbidden) {
  return {
    files: [`${side}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          regex: `^(\\.\\./)+(${forbidden.join('|')})(/|$)`,
          message: `${side}/ may import common/ and protocol/, not ${forbidden.map((f) => `${f}/`).join(' or ')}: move what both sides need into common/ (pure code) or protocol/ (message types).`,
        }],
      }],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.e2e-cache/**', '.devcarry/**', '.gl/**', 'samples/**/*.onnx'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-namespace': 'off', // protocol/ uses one namespace per message (LSP style)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  {
    // The sources have no import cycles: a module that needs part of another either moves that
    // part into a module both import (as fusedNode.ts for the fused-attention expansions) or
    // receives it as an argument. A cycle makes load order decide what is still undefined.
    files: ['common/**/*.ts', 'extension/**/*.ts', 'server/**/*.ts', 'webview/**/*.ts', 'protocol/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // The TypeScript settings of import-x (which extensions are modules, which parser reads
      // them); its resolver is replaced by the TypeScript one, so imports resolve as tsc does.
      ...Object.fromEntries(Object.entries(importX.flatConfigs.typescript.settings).filter(([k]) => k !== 'import-x/resolver')),
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  boundary('extension', ['server', 'webview']),
  boundary('server', ['extension', 'webview']),
  boundary('webview', ['extension', 'server']),
  boundary('common', ['extension', 'server', 'webview']),
  boundary('protocol', ['extension', 'server', 'webview']),
  {
    files: ['scripts/**/*.mjs', 'bench/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
