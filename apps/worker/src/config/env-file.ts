import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, stat } from 'node:fs/promises';
import { ConfigError } from './config-error.js';

/**
 * The env file that goes with a configuration file: the same path with `.env` in place of `.json`
 * (`sentcopy.config.json` → `sentcopy.config.env`), or with `.env` added.
 */
export function envFileFor(configFile: string): string {
  return configFile.endsWith('.json') ? `${configFile.slice(0, -'.json'.length)}.env` : `${configFile}.env`;
}

const line = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

function unquote(value: string): string {
  if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) return value.slice(1, -1);
  return value;
}

/**
 * Reads `NAME=value` lines (blank lines and `#` comments skipped; `export ` and quotes around the
 * value allowed) from an env file. A missing file reads as empty. The file holds secrets, so one
 * that other users may read (any group or other permission bit) is refused with a
 * {@link ConfigError} saying how to fix it; so is a line that is not `NAME=value` (named by
 * number, never by content).
 */
export async function readEnvFile(file: string): Promise<Record<string, string>> {
  let text: string;
  try {
    const info = await stat(file);
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      throw new ConfigError(file, [{ path: '', problem: `holds secrets but other users may read it (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}); run \`chmod 600 ${file}\`` }]);
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    if (ConfigError.isInstance(error)) throw error;
    throw new ConfigError(file, [{ path: '', problem: `the env file cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})` }]);
  }
  const values: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) return;
    const match = line.exec(raw);
    if (match === null) throw new ConfigError(file, [{ path: '', problem: `line ${index + 1} is not NAME=value` }]);
    values[match[1]!] = unquote(match[2]!);
  });
  return values;
}

/**
 * The environment secrets are read from: `env` over the values of the configuration's env file
 * (a variable set and not empty in the environment wins over the file; an empty one, which secret
 * references treat as unset, does not hide the file's value).
 */
export async function environmentWithEnvFile(configFile: string, env: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ProcessEnv> {
  const merged: NodeJS.ProcessEnv = { ...(await readEnvFile(envFileFor(configFile))) };
  for (const [name, value] of Object.entries(env)) if (value !== undefined && (value !== '' || merged[name] === undefined)) merged[name] = value;
  return merged;
}

/** A new recipient key: 32 random bytes in base64url (43 characters). */
export function generateRecipientKey(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Makes sure the env file defines `variable`: when it does (or the file cannot be read as one),
 * nothing is changed, so an existing secret is never replaced; otherwise a new
 * {@link generateRecipientKey} line is appended, creating the file with mode 0600. The secret is
 * never returned or printed. Resolves whether a secret was written.
 */
export async function ensureRecipientKeyInEnvFile(file: string, variable: string): Promise<boolean> {
  const existing = await readEnvFile(file);
  if ((existing[variable] ?? '') !== '') return false;
  const handle = await open(file, 'a', 0o600);
  try {
    const size = (await handle.stat()).size;
    const before = size > 0 && !(await readFile(file, 'utf8')).endsWith('\n') ? '\n' : '';
    await handle.writeFile(
      `${before}# Recipient key of sentcopy's keyed hash (recipient_hash_key). Keep it, and back it up with the configuration:\n# messages are found by recipient only with the secret they were stored with.\n${variable}=${generateRecipientKey()}\n`,
    );
  } finally {
    await handle.close();
  }
  await chmod(file, 0o600);
  return true;
}
