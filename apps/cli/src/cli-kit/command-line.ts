import { InvalidArgumentError, type Command, type CommanderError } from 'commander';
import { CliError } from './cli-error.js';
import { exitCodes } from './exit-codes.js';

/**
 * Makes command-line mistakes of `command` exit 2 with one message naming the option, printed by
 * the program's error reporter (so `--json` gets a JSON error). Commander on its own prints the
 * message itself and exits 1. The program applies it to every command, so the hint names the right one.
 */
export function reportUsageErrors(command: Command): Command {
  return command
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => undefined })
    .exitOverride((error: CommanderError) => {
      // Help (also shown for a missing subcommand) and version end as they do without the override.
      if (error.exitCode === 0 || error.code === 'commander.help' || error.code === 'commander.helpDisplayed') return;
      const message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
      throw new CliError(/[\w'"]$/.test(message) ? `${message}.` : message, { exitCode: exitCodes.usage, code: 'usage', hint: `Run \`${commandPath(command)} --help\` for the options and examples.` });
    });
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current !== null; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

/** Parses a whole number from `min` to `max` for an option. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    return parsed;
  };
}

/** Whether this process can ask its user questions (stdin and stderr are terminals). */
export function canPrompt(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/**
 * Asks a yes/no question on the terminal (written to stderr, so stdout stays clean for `--json`).
 * Ctrl-C answers "no".
 */
export async function askYesNo(message: string): Promise<boolean> {
  try {
    // Loaded when a question is asked: the commands that never ask (the worker) do not carry it.
    const { confirm } = await import('@inquirer/prompts');
    return await confirm({ message, default: false }, { output: process.stderr });
  } catch (error) {
    if (error instanceof Error && error.name === 'ExitPromptError') return false;
    throw error;
  }
}
