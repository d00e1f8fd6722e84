import type { KeyLayout, KeyLayoutReader } from '@sentcopy/core';
import { CliError, exitCodes } from '../cli-kit/index.js';

// Keys are read with core's readKeyLayout (the grammar that renders them); this file only says, in CLI terms, what a keyed layout read without its secret cannot do.

/** The error of a command that needs the recipient key and was not given it. Names variables, never a value. */
export function recipientKeyRequired(doing: string): CliError {
  return new CliError(`${doing} needs the recipient key: this archive's keys hold a keyed hash of each recipient ({hmac(recipient)}), which only the deployment's secret reproduces.`, {
    exitCode: exitCodes.usage,
    code: 'recipient_key_required',
    hint: "Set the variable the configuration's recipient_hash_key names (SENTCOPY_RECIPIENT_KEY by default), or keep it in the env file beside the configuration (sentcopy.config.env), as `sentcopy init` does.",
  });
}

/** The compiled layout of `reader`, to render the key a message belongs at; a {@link recipientKeyRequired} error when it was read without the secret it needs. */
export function layoutOf(reader: KeyLayoutReader, doing: string): KeyLayout {
  if (reader.layout === undefined) throw recipientKeyRequired(doing);
  return reader.layout;
}
