import type { EmailAttachmentView, HeaderRow } from './email-parts.js';
import { emailFrameDocument, emailFramePolicy, emailFramePolicyWithImages, type SanitizedEmail } from './sanitize-email.js';

/** The email page's tabs, in order. */
export const emailTabs = ['rendered', 'text', 'amp', 'html', 'headers', 'attachments', 'raw'] as const;
/** One tab of the email page (`?tab=`). */
export type EmailTab = (typeof emailTabs)[number];

const tabLabels: Record<EmailTab, string> = { rendered: 'Rendered', text: 'Plain text', amp: 'AMP source', html: 'HTML source', headers: 'Headers', attachments: 'Attachments', raw: 'Raw MIME' };

/** What the remote-image switch is at: off, asking (the warning), or on. */
export type ImagesState = 'off' | 'ask' | 'on';

/** Properties of {@link EmailView}. */
export interface EmailViewProps {
  /** The message page's path, for tab and image links. */
  readonly path: string;
  readonly tab: EmailTab;
  readonly images: ImagesState;
  /** The HTML part sanitized (with remote images kept only when `images` is `on`), when there is one. */
  readonly sanitized?: SanitizedEmail;
  readonly plainText?: string;
  readonly ampSource?: string;
  readonly htmlSource?: string;
  readonly headers: readonly HeaderRow[];
  readonly attachments: readonly EmailAttachmentView[];
  /** Raw MIME with recipient headers masked, when the email carries raw MIME. */
  readonly rawMime?: string;
}

const tabHref = (path: string, tab: EmailTab) => (tab === 'rendered' ? path : `${path}?tab=${tab}`);

/** An email: tabs as plain links (no script), the rendering in a sandboxed frame that runs no script and loads nothing remote unless asked. */
export function EmailView(props: EmailViewProps) {
  const tabs = emailTabs.filter((tab) => tab !== 'raw' || props.rawMime !== undefined);
  return (
    <section class="email" aria-label="Email">
      <nav class="tabs" aria-label="Views of this email">
        <ul>
          {tabs.map((tab) => (
            <li>
              <a href={tabHref(props.path, tab)} aria-current={tab === props.tab ? 'page' : undefined}>
                {tab === 'attachments' ? `${tabLabels[tab]} (${props.attachments.length})` : tabLabels[tab]}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="tab-panel">
        <EmailTabPanel {...props} />
      </div>
    </section>
  );
}

function SourceBlock({ source, label, missing }: { source: string | undefined; label: string; missing: string }) {
  if (source === undefined) return <p>{missing}</p>;
  return (
    <section class="block" aria-label={label}>
      <pre class="source" tabindex={0}>
        {source}
      </pre>
    </section>
  );
}

function EmailTabPanel(props: EmailViewProps) {
  switch (props.tab) {
    case 'text':
      return <SourceBlock source={props.plainText} label="Plain text" missing="This email has no plain-text part." />;
    case 'amp':
      return <SourceBlock source={props.ampSource} label="AMP source (never run)" missing="This email has no AMP part." />;
    case 'html':
      return <SourceBlock source={props.htmlSource} label="HTML source" missing="This email has no HTML part." />;
    case 'raw':
      return <SourceBlock source={props.rawMime} label="Raw MIME (recipient headers masked)" missing="This email carries no raw MIME." />;
    case 'headers':
      return props.headers.length === 0 ? (
        <p>No headers were stored with this email.</p>
      ) : (
        <table class="fields">
          <caption>Headers (recipient addresses masked)</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {props.headers.map((row) => (
              <tr>
                <th scope="row">{row.name}</th>
                <td>{row.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      );
    case 'attachments':
      return props.attachments.length === 0 ? (
        <p>This email has no attachment.</p>
      ) : (
        <table class="fields">
          <caption>Attachments (downloaded, never opened in the viewer)</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Size</th>
              <th scope="col">File</th>
            </tr>
          </thead>
          <tbody>
            {props.attachments.map((attachment, index) => (
              <tr>
                <td class="file-name">{attachment.fileName === '' ? '(no name)' : attachment.fileName}</td>
                <td>{attachment.contentType}</td>
                <td>{`${attachment.bytes.byteLength} bytes`}</td>
                <td>
                  <a href={`${props.path}/attachments/${index}`} download>{`Download attachment ${index + 1}`}</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      );
    default:
      return <RenderedPanel {...props} />;
  }
}

function RenderedPanel(props: EmailViewProps) {
  const { sanitized, images, path } = props;
  if (sanitized === undefined) return <SourceBlock source={props.plainText} label="Plain text" missing="This email has neither an HTML nor a plain-text body." />;
  const remoteCount = sanitized.remoteImages.length;
  return (
    <>
      {images === 'ask' ? (
        <section class="warning" aria-labelledby="images-warning-title" aria-describedby="images-warning-text">
          <h2 id="images-warning-title">Load remote images?</h2>
          <p id="images-warning-text">
            {`This email has ${remoteCount} remote image(s). Loading them contacts the sender's servers: it tells the sender that this message was opened, when, and from where (your network address and browser), and may mark the message as read in their analytics. The loading is recorded in the access log.`}
          </p>
          <ul class="hosts">
            {[...new Set(sanitized.remoteImages.map((url) => hostOf(url)))].map((host) => (
              <li>
                <code>{host}</code>
              </li>
            ))}
          </ul>
          <p class="actions">
            <a class="button danger" href={`${path}?images=load`}>
              {`Load ${remoteCount} remote image(s)`}
            </a>
            <a class="button" href={path}>
              Keep them blocked
            </a>
          </p>
        </section>
      ) : images === 'on' ? (
        <p class="note">
          {`Remote images are loaded on this page (${remoteCount}). `}
          <a href={path}>Block them again</a>
        </p>
      ) : remoteCount > 0 ? (
        <p class="note">
          {`${remoteCount} remote image(s) blocked. `}
          <a href={`${path}?images=ask`}>Load remote images…</a>
        </p>
      ) : null}
      <iframe
        class="email-frame"
        title="The email as rendered (no script runs, links open nothing)"
        sandbox=""
        csp={images === 'on' ? emailFramePolicyWithImages : emailFramePolicy}
        referrerpolicy="no-referrer"
        srcdoc={emailFrameDocument(sanitized.html, images === 'on' ? emailFramePolicyWithImages : emailFramePolicy)}
      />
      {sanitized.links.length === 0 ? null : (
        <details class="links">
          <summary>{`Links in this email (${sanitized.links.length}), as text`}</summary>
          <ol>
            {sanitized.links.map((link) => (
              <li>
                <code>{link}</code>
              </li>
            ))}
          </ol>
        </details>
      )}
    </>
  );
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
