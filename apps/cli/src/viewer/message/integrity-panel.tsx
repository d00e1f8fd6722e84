import type { ReadResult } from '../../archive/read-object.js';
import type { LedgerCheck } from './ledger-check.js';

/** Properties of {@link IntegrityPanel}. */
export interface IntegrityPanelProps {
  readonly destinationName: string;
  readonly read: ReadResult;
  /** What the ledger says, or why it could not be read. */
  readonly ledger: LedgerCheck | { readonly error: string };
}

const verdict = (same: boolean) => (same ? <strong class="ok">match</strong> : <strong class="bad">MISMATCH</strong>);
/** An epoch-milliseconds time as ISO 8601, or the value as text when it is no valid time (a ledger written by another tool). */
export function isoTime(epochMs: unknown): string {
  const date = typeof epochMs === 'number' ? new Date(epochMs) : undefined;
  return date === undefined || Number.isNaN(date.getTime()) ? `${String(epochMs)} (not a valid time)` : date.toISOString();
}
const iso = isoTime;

/** The integrity panel: hashes recomputed now against those recorded, the ledger entry, and the chain around it, with what was and was not checked. */
export function IntegrityPanel({ destinationName, read, ledger }: IntegrityPanelProps) {
  const listed = 'listed' in ledger && ledger.listed ? ledger : undefined;
  return (
    <section class="integrity" aria-labelledby="integrity-title">
      <h2 id="integrity-title">Integrity</h2>
      <dl class="facts">
        <dt>Size</dt>
        <dd>{`${read.size} bytes stored`}</dd>
        <dt>Codec</dt>
        <dd>{read.codec}</dd>
        <dt>Profile</dt>
        <dd>{read.profile}</dd>
        <dt>Stored at</dt>
        <dd>{listed === undefined ? (read.lastModified === undefined ? 'not known' : `${read.lastModified.toISOString()} (the store's date)`) : `${iso(listed.entry.stored_at)} (ledger)`}</dd>
        <dt>SHA-256 of the stored bytes, computed now</dt>
        <dd>
          <code class="hash">{read.sha256}</code>
        </dd>
        <dt>SHA-256 recorded with the object</dt>
        <dd>
          {read.recordedSha256 === undefined ? (
            'none recorded: the bytes cannot be checked against the store'
          ) : (
            <>
              <code class="hash">{read.recordedSha256}</code> {verdict(read.recordedSha256 === read.sha256)}
            </>
          )}
        </dd>
        <dt>SHA-256 in the ledger entry</dt>
        <dd>
          {listed === undefined ? (
            'no ledger entry'
          ) : (
            <>
              <code class="hash">{listed.entry.sha256}</code> {verdict(listed.entry.sha256 === read.sha256)}
            </>
          )}
        </dd>
      </dl>
      {read.corruption.length === 0 ? null : (
        <div class="problem" role="alert">
          <p>This object is corrupt:</p>
          <ul>
            {read.corruption.map((line) => (
              <li>{line}</li>
            ))}
          </ul>
        </div>
      )}
      <h3>Ledger</h3>
      {'error' in ledger ? (
        <p class="problem" role="alert">{`The ledger of destination "${destinationName}" could not be read: ${ledger.error}`}</p>
      ) : !ledger.listed ? (
        <p class={ledger.segments === 0 ? '' : 'problem'}>
          {ledger.segments === 0
            ? `This object is not listed in any ledger: destination "${destinationName}" has no ledger segment.`
            : `This object is not listed in the ledger of destination "${destinationName}".${ledger.unreadable.length === 0 ? '' : ` ${ledger.unreadable.length} segment(s) could not be read: ${ledger.unreadable.join(', ')}.`}`}
        </p>
      ) : (
        <LedgerFacts check={ledger} />
      )}
    </section>
  );
}

/** The ledger part of the panel: where the entry is, and whether its segment still links to the next. */
export function LedgerFacts({ check }: { check: Extract<LedgerCheck, { listed: true }> }) {
  const { entry, next } = check;
  const recordedOk = check.segmentRecordedSha256 === undefined || check.segmentRecordedSha256 === check.segmentSha256;
  const chainOk = next === undefined || next.previous === check.segmentSha256;
  return (
    <>
      <dl class="facts">
        <dt>Chain (writer)</dt>
        <dd>
          <code>{check.writer}</code>
        </dd>
        <dt>Segment</dt>
        <dd>
          {`sequence ${check.seq} `}
          <code>{check.segmentKey}</code>
        </dd>
        <dt>Entry</dt>
        <dd>{`message ${entry.message_id}, ${entry.channel}, project ${entry.project_id}, ${entry.size} bytes, sent ${iso(entry.sent_at)}, stored ${iso(entry.stored_at)}${entry.version ? `, a version of ${entry.original_key ?? 'an earlier copy'}` : ''}`}</dd>
        <dt>Segment SHA-256, computed now</dt>
        <dd>
          <code class="hash">{check.segmentSha256}</code>
          {check.segmentRecordedSha256 === undefined ? ' (no hash was recorded with the segment)' : <> {verdict(recordedOk)} with the hash recorded when it was written</>}
        </dd>
        <dt>Chain status</dt>
        <dd class={chainOk && recordedOk ? 'ok' : 'bad'}>
          {next === undefined
            ? `Segment ${check.seq} is the newest segment of chain ${check.writer}: no later segment records its hash yet.`
            : next.previous === null
              ? `The next segment (${next.key}) could not be decoded, so the link from segment ${check.seq} is not proven.`
              : chainOk
                ? `The next segment (sequence ${check.seq + 1}) records this segment's hash as its predecessor: the link holds.`
                : `BROKEN: the next segment (sequence ${check.seq + 1}) records ${next.previous} as its predecessor, but this segment now hashes to ${check.segmentSha256}: it was changed after the chain went on.`}
        </dd>
      </dl>
      <p class="note">
        Checked now: this object's bytes against the hashes recorded with it and in its ledger entry, the segment listing the entry against the hash recorded with it, and the link from that segment to the next one. Not checked here: the
        other segments of the chain, other chains, and whether every stored object is listed (run <code>sentcopy verify --complete</code> for that).
      </p>
    </>
  );
}
