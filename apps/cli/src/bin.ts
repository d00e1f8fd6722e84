import { reportError } from './cli-kit/index.js';
import { createProgram } from './program.js';

createProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => reportError(error, process.argv.includes('--json')));
