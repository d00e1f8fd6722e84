import { defineConfig } from 'tsup';

export default defineConfig([
  // The node build cleans dist/ except the browser build's folder: the two builds run at once.
  { entry: ['src/bin.ts'], format: ['esm'], sourcemap: true, clean: ['**/*', '!browser/**'], target: 'node20', banner: { js: '#!/usr/bin/env node' } },
  // The offline viewer's script: inlined into every export bundle's viewer.html, so it bundles fflate, lz4js and postal-mime and loads nothing.
  {
    entry: { 'offline-viewer': 'src/viewer/offline/offline-viewer.ts' },
    outDir: 'dist/browser',
    platform: 'browser',
    format: ['iife'],
    target: 'es2020',
    minify: true,
    clean: true,
    noExternal: ['fflate', 'lz4js', 'postal-mime'],
  },
]);
