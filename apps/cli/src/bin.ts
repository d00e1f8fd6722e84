import { reportError } from './cli-kit/index.js';
import { findCommandLineDescriptors } from './commands/destinations/destination-options.js';
import { createProgram } from './program.js';

// A destination's options are known only once its type is: a first pass finds them before commander parses.
findCommandLineDescriptors(process.argv.slice(2))
  .then((destinations) => createProgram(destinations).parseAsync(process.argv))
  .catch((error: unknown) => reportError(error, process.argv.includes('--json')));
