import { defineConfig } from 'tsup';

export default defineConfig({ entry: { index: 'src/index.ts', 'prepare-thread': 'src/archiver/prepare-thread.ts' }, format: ['esm'], dts: { entry: 'src/index.ts' }, sourcemap: true, clean: true, target: 'node20' });
