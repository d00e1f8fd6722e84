import type { Child } from 'hono/jsx';
import { Layout } from '../ui/layout.js';
import { IntegrityPanel, LedgerFacts, type IntegrityPanelProps } from './integrity-panel.js';
import type { LedgerCheck } from './ledger-check.js';

/** One recipient as the page shows it: masked, with the hash the ledger knows it by. */
export interface RecipientRow {
  /** `to`, `cc` or `bcc`. */
  readonly field: string;
  readonly masked: string;
  /** The address's hash (the ledger's, when it lists one), or why none could be computed. */
  readonly hash: { readonly value: string; readonly inLedger: boolean } | { readonly unavailable: string };
}

/** Properties of {@link MessagePage}. */
export interface MessagePageProps {
  readonly user?: string;
  readonly title: string;
  readonly path: string;
  readonly destinationName: string;
  readonly key: string;
  readonly facts: readonly (readonly [string, string])[];
  readonly recipients: readonly RecipientRow[];
  /** Why the key's fields could not be read, when they could not. */
  readonly keyProblem?: string;
  /** Why the document is not a valid message, when it is not. */
  readonly invalid?: string;
  /** Other problems found while reading it, one sentence each. @default [] */
  readonly notes?: readonly string[];
  readonly integrity: IntegrityPanelProps;
  /** Which downloads exist. */
  readonly downloads: { readonly json: boolean; readonly eml: boolean; readonly raw: boolean };
  readonly children?: Child;
}

/** The message page: what it is, to whom (masked), the channel's view, downloads, and integrity. */
export function MessagePage(props: MessagePageProps) {
  const { path } = props;
  return (
    <Layout title={props.title} {...(props.user === undefined ? {} : { user: props.user })} styles={['message.css']}>
      <article class="message">
        <h1>{props.title}</h1>
        <dl class="facts summary">
          {props.facts.map(([name, value]) => (
            <>
              <dt>{name}</dt>
              <dd>{value}</dd>
            </>
          ))}
        </dl>
        {props.recipients.length === 0 ? null : (
          <table class="recipients">
            <caption>Recipients (masked; the hash is how the ledger and searches know them)</caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Address</th>
                <th scope="col">Hash</th>
              </tr>
            </thead>
            <tbody>
              {props.recipients.map((row) => (
                <tr>
                  <td>{row.field}</td>
                  <td>{row.masked}</td>
                  <td>
                    {'value' in row.hash ? (
                      <>
                        <code class="hash">{row.hash.value}</code>
                        {row.hash.inLedger ? ' (in the ledger entry)' : ''}
                      </>
                    ) : (
                      row.hash.unavailable
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {props.keyProblem === undefined ? null : <p class="note">{`Key: ${props.keyProblem}.`}</p>}
        {props.invalid === undefined ? null : <p class="problem">{`This document is not a valid message (payload format v1): ${props.invalid}`}</p>}
        {(props.notes ?? []).map((note) => (
          <p class="problem">{note}</p>
        ))}
        {props.children}
        <section class="downloads" aria-labelledby="downloads-title">
          <h2 id="downloads-title">Download</h2>
          <ul>
            {props.downloads.json ? (
              <li>
                <a href={`${path}/json`} download>
                  The stored JSON, exactly as stored
                </a>
              </li>
            ) : null}
            {props.downloads.eml ? (
              <li>
                <a href={`${path}/eml`} download>
                  {props.downloads.raw ? 'The email as .eml (its raw MIME, byte for byte)' : 'The email as .eml (built from its fields)'}
                </a>
              </li>
            ) : null}
            {props.downloads.raw ? (
              <li>
                <a href={`${path}/raw`} download>
                  The raw MIME
                </a>
              </li>
            ) : null}
            <li>
              <a href={`${path}/stored`} download>
                The stored object (its encoded bytes, as in the bucket)
              </a>
            </li>
          </ul>
        </section>
        <IntegrityPanel {...props.integrity} />
      </article>
    </Layout>
  );
}

/** The page for a destination or key that is not there, or a store that did not answer. */
export function MessageProblemPage({ user, title, text }: { user?: string; title: string; text: string }) {
  return (
    <Layout title={title} {...(user === undefined ? {} : { user })} styles={['message.css']}>
      <article class="message">
        <h1>{title}</h1>
        <p class="problem">{text}</p>
        <p>
          <a href="/">Back to search</a>
        </p>
      </article>
    </Layout>
  );
}

/** Properties of {@link CorruptObjectPage}. */
export interface CorruptObjectPageProps {
  readonly user?: string;
  readonly destinationName: string;
  /** The key as it may be shown (see `displayKey`). */
  readonly shownKey: string;
  readonly reason: string;
  readonly ledger: LedgerCheck | { readonly error: string };
}

/** An object the store's client will not hand over (its bytes fail the checksum the store recorded): what is known of it from the ledger. */
export function CorruptObjectPage({ user, destinationName, shownKey, reason, ledger }: CorruptObjectPageProps) {
  return (
    <Layout title="Corrupt object" {...(user === undefined ? {} : { user })} styles={['message.css']}>
      <article class="message">
        <h1>Corrupt object</h1>
        <dl class="facts summary">
          <dt>Destination</dt>
          <dd>{destinationName}</dd>
          <dt>Key</dt>
          <dd>{shownKey}</dd>
        </dl>
        <p class="problem" role="alert">
          {`This object is corrupt: ${reason}. Its bytes are not the ones that were written, and the store's client refuses to return them, so the viewer cannot show or download them. Run \`sentcopy verify\` on this archive to find any others.`}
        </p>
        <section class="integrity" aria-labelledby="integrity-title">
          <h2 id="integrity-title">Ledger</h2>
          {'error' in ledger ? (
            <p class="problem">{`The ledger of destination "${destinationName}" could not be read: ${ledger.error}`}</p>
          ) : ledger.listed ? (
            <LedgerFacts check={ledger} />
          ) : (
            <p>{`This object is not listed in the ledger of destination "${destinationName}".`}</p>
          )}
        </section>
      </article>
    </Layout>
  );
}
