import { JsonNumber, stringifyJson } from '@sentcopy/core';
import type { MessageText } from '@sentcopy/ledger-index';

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const display = (value: unknown) => (typeof value === 'string' ? value : value === undefined || value === null ? '' : JsonNumber.isInstance(value) ? value.text : stringifyJson(value));
const list = (value: unknown): string[] => (typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);

/** A JSON value pretty-printed as escaped text (exact numbers kept). */
export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  return (
    <section class="block" aria-label={label}>
      <pre class="json" tabindex={0}>
        {stringifyJson(value, 2)}
      </pre>
    </section>
  );
}

/** Media URLs as text: they are what was sent, and opening one would tell its host the message was looked at. */
function MediaList({ urls }: { urls: readonly string[] }) {
  if (urls.length === 0) return null;
  return (
    <div class="media">
      <p>{`Media (${urls.length}, not loaded by the viewer):`}</p>
      <ul>
        {urls.map((url) => (
          <li>
            <code>{url}</code>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Properties shared by the channel views. */
export interface ChannelViewProps {
  /** The message document (exact numbers as JsonNumber). */
  readonly document: Record<string, unknown>;
  /** The masked recipient, for the header of the bubble or card. */
  readonly to: string;
  /** When it was sent, ISO 8601 UTC. */
  readonly sentAt?: string;
}

/** SMS and WhatsApp: one bubble, the body as text, provider and time, media as text, a WhatsApp template's name and parameters. */
export function ConversationView({ document, to, sentAt, channel }: ChannelViewProps & { channel: string }) {
  const body = document['body'];
  const template = text(document['template_name']);
  const params = document['template_params'];
  const provider = text(document['provider']);
  // Not a documented field, but senders often keep the sending number or sender id beside the body.
  const sender = text(document['from']) ?? text(document['from_number']) ?? text(document['sender_id']);
  const entries: [string, unknown][] = Array.isArray(params) ? params.map((value, index) => [`{{${index + 1}}}`, value]) : typeof params === 'object' && params !== null ? Object.entries(params) : [];
  return (
    <section class="conversation" aria-label={`${channel} conversation`}>
      <p class="conversation-to">{`To ${to}`}</p>
      <div class={`bubble bubble-${channel === 'whatsapp' ? 'whatsapp' : 'sms'}`}>
        {typeof body === 'string' ? <p class="bubble-body">{body}</p> : body === undefined || body === null ? <p class="bubble-body empty">(no body)</p> : <JsonBlock value={body} label="Structured body" />}
        {template === undefined ? null : (
          <div class="template">
            <p>
              Template <code>{template}</code>
            </p>
            {entries.length === 0 ? null : (
              <table>
                <caption>Template parameters</caption>
                <thead>
                  <tr>
                    <th scope="col">Parameter</th>
                    <th scope="col">Value</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map(([name, value]) => (
                    <tr>
                      <th scope="row">{name}</th>
                      <td>{display(value)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        )}
        <MediaList urls={list(document['media_urls'])} />
        <p class="bubble-meta">
          {[
            sender === undefined ? undefined : `from ${sender}`,
            provider === undefined ? undefined : `via ${provider}`,
            text(document['subscription_group']) === undefined ? undefined : `group ${text(document['subscription_group'])}`,
            sentAt,
          ]
            .filter((part) => part !== undefined)
            .join(' · ')}
        </p>
      </div>
    </section>
  );
}

/** Every leaf of a JSON object as a path and a value, for the payload table. */
function leaves(value: unknown, prefix = '', found: [string, string][] = [], depth = 0): [string, string][] {
  if (depth < 16 && typeof value === 'object' && value !== null && !JsonNumber.isInstance(value)) {
    const items: [string, unknown][] = Array.isArray(value) ? value.map((item, index) => [`${prefix}[${index}]`, item]) : Object.entries(value).map(([name, item]) => [prefix === '' ? name : `${prefix}.${name}`, item]);
    if (items.length === 0) found.push([prefix, Array.isArray(value) ? '[]' : '{}']);
    for (const [path, item] of items) leaves(item, path, found, depth + 1);
  } else found.push([prefix, display(value)]);
  return found;
}

/** Push: a notification preview in the style of its platform, then the payload as a table and as JSON. */
export function PushView({ document, to, sentAt, shown }: ChannelViewProps & { shown: MessageText }) {
  const platform = (text(document['platform']) ?? 'unknown').toLowerCase();
  const style = platform === 'ios' || platform === 'apns' ? 'ios' : platform === 'android' || platform === 'fcm' ? 'android' : platform === 'web' || platform === 'webpush' ? 'web' : 'generic';
  const payload = document['payload'];
  return (
    <section class="push" aria-label="Push notification">
      <div class={`notification notification-${style}`}>
        <p class="notification-app">{`${text(document['app_id']) ?? 'unknown app'} · ${text(document['platform']) ?? 'platform not given'}`}</p>
        <p class="notification-title">{shown.subject ?? '(no title)'}</p>
        <p class="notification-body">{shown.body ?? '(no body)'}</p>
        <p class="notification-meta">{`To ${to}${sentAt === undefined ? '' : ` · ${sentAt}`}`}</p>
      </div>
      {payload === undefined || payload === null ? (
        <p>No payload was stored.</p>
      ) : (
        <>
          <table class="fields">
            <caption>Payload</caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {leaves(payload).map(([path, value]) => (
                <tr>
                  <th scope="row">
                    <code>{path}</code>
                  </th>
                  <td>{value}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <JsonBlock value={payload} label="Payload as JSON" />
        </>
      )}
    </section>
  );
}

/** A channel the viewer has no special view for (channels are open): its fields, then the document as JSON. */
export function FieldsView({ document }: { document: Record<string, unknown> }) {
  return (
    <section aria-label="Fields">
      <table class="fields">
        <caption>Fields</caption>
        <tbody>
          {Object.entries(document).map(([name, value]) => (
            <tr>
              <th scope="row">
                <code>{name}</code>
              </th>
              <td>{display(value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <JsonBlock value={document} label="Message as JSON" />
    </section>
  );
}
