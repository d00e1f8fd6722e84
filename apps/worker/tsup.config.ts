import { defineConfig } from 'tsup';

export default defineConfig({ entry: { index: 'src/index.ts', 'write-thread': 'src/write-thread/write-thread-entry.ts' }, format: ['esm'], dts: { entry: 'src/index.ts' }, sourcemap: true, clean: true, target: 'node20' });
