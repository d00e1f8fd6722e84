import { messagePath } from '../viewer-context.js';
import { Layout } from '../ui/layout.js';
import type { ResultDetails, SearchPage } from './run-search.js';
import { searchParameters, type FieldProblem, type SearchQuery } from './search-query.js';

/** What the search form offers and shows. */
export interface SearchFormProps {
  readonly query?: SearchQuery;
  /** The recipient as typed, only when re-showing a POSTed form with a problem (never from the URL). */
  readonly typedRecipient?: string;
  readonly problems: readonly FieldProblem[];
  readonly channels: readonly string[];
  readonly projects: readonly string[];
  readonly destinations: readonly string[];
  /** Why text search is unavailable, when it is. */
  readonly textUnavailable?: string;
}

function FieldProblems({ field, problems }: { field: string; problems: readonly FieldProblem[] }) {
  return (
    <>
      {problems
        .filter((problem) => problem.field === field)
        .map((problem) => (
          <p class="field-problem" id={`${field}-problem`} role="alert">
            {`${field[0]!.toUpperCase()}${field.slice(1)}: ${problem.problem}`}
          </p>
        ))}
    </>
  );
}

function Choice({ name, label, values, selected, problems }: { name: string; label: string; values: readonly string[]; selected?: string; problems: readonly FieldProblem[] }) {
  return (
    <div>
      <label for={name}>{label}</label>
      <select id={name} name={name}>
        <option value="">any</option>
        {values.map((value) => (
          <option value={value} selected={value === selected}>
            {value}
          </option>
        ))}
      </select>
      <FieldProblems field={name} problems={problems} />
    </div>
  );
}

function Text({ name, label, value, placeholder, problems, disabled, note }: { name: string; label: string; value?: string; placeholder?: string; problems: readonly FieldProblem[]; disabled?: boolean; note?: string }) {
  return (
    <div class={name === 'recipient' || name === 'text' ? 'wide' : undefined}>
      <label for={name}>{label}</label>
      <input id={name} name={name} type="text" value={value ?? ''} placeholder={placeholder} autocomplete="off" spellcheck={false} disabled={disabled} aria-describedby={note === undefined ? undefined : `${name}-note`} />
      {note === undefined ? null : (
        <p class="note" id={`${name}-note`}>
          {note}
        </p>
      )}
      <FieldProblems field={name} problems={problems} />
    </div>
  );
}

/** The search form: POSTed, so the recipient typed never appears in a URL. */
export function SearchForm({ query, typedRecipient, problems, channels, projects, destinations, textUnavailable }: SearchFormProps) {
  const byHash = query !== undefined && query.recipientHashes.length > 0 && typedRecipient === undefined;
  return (
    <form class="search" method="post" action="/" aria-label="Search the archive">
      <Text
        name="recipient"
        label="Recipient (email address, phone or push token)"
        value={typedRecipient}
        placeholder="name@example.com or +15550100100"
        problems={problems}
        note={byHash ? 'This search is by a recipient; only its hash is kept. Type the address again to change it, or leave empty to keep it.' : 'Found as to, cc or bcc. Only its hash leaves this page.'}
      />
      {byHash ? query.recipientHashes.map((hash) => <input type="hidden" name="rh" value={hash} />) : null}
      <Text
        name="text"
        label="Text in subject or body"
        value={query?.text}
        placeholder={textUnavailable === undefined ? 'words, "a phrase", ship*, subject:refund' : ''}
        problems={problems}
        disabled={textUnavailable !== undefined}
        note={textUnavailable ?? 'SQLite FTS5 syntax: all words must occur; "an exact phrase"; ship* a prefix; OR, NOT.'}
      />
      <Text name="campaign" label="Campaign" value={query?.campaign} problems={problems} />
      <Choice name="channel" label="Channel" values={channels} selected={query?.channel} problems={problems} />
      <Choice name="project" label="Project" values={projects} selected={query?.project} problems={problems} />
      <Choice name="destination" label="Destination" values={destinations} selected={query?.destination} problems={problems} />
      <Text name="since" label="Sent since (UTC)" value={query?.since} placeholder="2026-01-31, 2026-01 or 2026" problems={problems} />
      <Text name="until" label="Sent until (UTC, inclusive)" value={query?.until} placeholder="2026-02-28" problems={problems} />
      <FieldProblems field="page" problems={problems} />
      <FieldProblems field="form" problems={problems} />
      <div class="actions">
        <button type="submit">Search</button>
        <a href="/">Clear</a>
        <span class="note">Newest first, 50 per page.</span>
      </div>
    </form>
  );
}

const sentText = (sentAt: number) => new Date(sentAt).toISOString();

/** The results table with paging, or the empty state. */
export function SearchResults({ query, result, details }: { query: SearchQuery; result: SearchPage; details: readonly ResultDetails[] }) {
  const link = (page: number) => {
    const parameters = searchParameters({ ...query, page });
    const text = parameters.toString();
    return text === '' ? '/' : `/?${text}`;
  };
  const from = (result.page - 1) * 50 + 1;
  return (
    <section aria-labelledby="results-heading">
      <h2 id="results-heading">{result.total === 0 ? 'No messages match' : `${result.total} message${result.total === 1 ? '' : 's'} match`}</h2>
      {result.unsearched.map((entry) => (
        <p class="banner error" role="alert">{`Destination "${entry.destination}" was not searched: ${entry.reason}.`}</p>
      ))}
      {result.total > 0 && result.objects.length === 0 ? (
        <div class="empty">
          <p>{`This page is past the last one: these filters match ${result.total} message${result.total === 1 ? '' : 's'} on ${result.pageCount} page${result.pageCount === 1 ? '' : 's'}.`}</p>
          <p>
            <a href={link(1)}>Go to the first page</a>
          </p>
        </div>
      ) : result.total === 0 ? (
        <div class="empty">
          <p>Nothing in {result.destinations.length === 0 ? 'the searched destinations' : result.destinations.join(', ')} matches these filters.</p>
          <p>Check the spelling of the address, widen the dates, or remove a filter.</p>
        </div>
      ) : (
        <>
          <p class="note">{`Showing ${from}–${from + result.objects.length - 1} of ${result.total}, newest first (answered from the ${result.source === 'index' ? 'local index' : 'ledger segments'}).`}</p>
          <table>
            <thead>
              <tr>
                <th scope="col">Sent (UTC)</th>
                <th scope="col">Channel</th>
                <th scope="col">Recipient</th>
                <th scope="col">Subject or first line</th>
                <th scope="col">Campaign</th>
                <th scope="col">Project</th>
                <th scope="col">Destination</th>
              </tr>
            </thead>
            <tbody>
              {result.objects.map((object, index) => {
                const detail = details[index] ?? {};
                return (
                  <tr>
                    <td class="time">{sentText(object.sentAt)}</td>
                    <td>{object.channel}</td>
                    <td class="mono">{detail.recipient ?? '—'}</td>
                    <td class="summary">
                      <a href={messagePath(object.destination, object.key)}>{detail.summary ?? (detail.problem === undefined ? `(no subject) ${object.messageId}` : object.messageId)}</a>
                      {object.version ? <span class="note"> (a second version of this message id)</span> : null}
                      {detail.problem === undefined ? null : <p class="field-problem">{`Could not be read: ${detail.problem}`}</p>}
                    </td>
                    <td>{object.campaignId ?? object.canvasStepId ?? '—'}</td>
                    <td>{object.projectId}</td>
                    <td>{object.destination}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <nav class="pages" aria-label="Pages">
            {result.page > 1 ? (
              <a href={link(result.page - 1)} rel="prev">
                ← Newer (previous page)
              </a>
            ) : null}
            <span>{`Page ${result.page} of ${result.pageCount}`}</span>
            {result.page < result.pageCount ? (
              <a href={link(result.page + 1)} rel="next">
                Older (next page) →
              </a>
            ) : null}
          </nav>
          <form method="post" action="/export.zip" class="export">
            {[...searchParameters({ ...query, page: 1 })].map(([name, value]) => (
              <input type="hidden" name={name} value={value} />
            ))}
            <button type="submit">{`Export ${result.total === 1 ? 'this message' : `these ${result.total} messages`} (.zip with a manifest and an offline viewer)`}</button>
          </form>
        </>
      )}
    </section>
  );
}

/** The whole search page. */
export function SearchPageView(props: SearchFormProps & { user: string; result?: SearchPage; details?: readonly ResultDetails[]; banner?: string }) {
  return (
    <Layout title="Search" user={props.user}>
      <h1>Search the archive</h1>
      {props.banner === undefined ? null : (
        <p class="banner error" role="alert">
          {props.banner}
        </p>
      )}
      <SearchForm {...props} />
      {props.result === undefined || props.query === undefined ? (
        props.problems.length > 0 ? null : (
          <p class="note">Type a recipient, a campaign or a date range (or just press Search for the newest messages). Every search is written to the access log.</p>
        )
      ) : (
        <SearchResults query={props.query} result={props.result} details={props.details ?? []} />
      )}
    </Layout>
  );
}
