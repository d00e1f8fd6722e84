import sanitizeHtml from 'sanitize-html';
import { normalizeContentId, type InlineImage } from './inline-images.js';

/** The frame's policy while remote images are off: inline styles and data: images only. */
export const emailFramePolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
/** The frame's policy once the viewer chose to load remote images: `<img>` over http(s) too, nothing else. */
export const emailFramePolicyWithImages = "default-src 'none'; style-src 'unsafe-inline'; img-src data: https: http:";

/** Options for {@link sanitizeEmailHtml}. */
export interface SanitizeEmailOptions {
  /** Keep `<img src>` pointing at http(s) URLs (the viewer agreed to load remote images). @default false */
  readonly remoteImages?: boolean;
  /**
   * The email's own attachments by normalized content id (see `inlineImages`): an `<img src="cid:…">`
   * naming one gets its data: URI, or its note in place of the image; any other `cid:` stays blank.
   * @default none
   */
  readonly inlineImages?: ReadonlyMap<string, InlineImage>;
}

/** What {@link sanitizeEmailHtml} produced. */
export interface SanitizedEmail {
  /** The HTML, safe to put into a sandboxed srcdoc frame. */
  readonly html: string;
  /** Link targets found, in order, as text (links in the rendering open nothing). */
  readonly links: readonly string[];
  /** `<img>` sources over http(s) found (loaded only with `remoteImages`). */
  readonly remoteImages: readonly string[];
}

const allowedTags = [
  'a',
  'abbr',
  'address',
  'article',
  'aside',
  'b',
  'bdi',
  'bdo',
  'big',
  'blockquote',
  'br',
  'caption',
  'center',
  'cite',
  'code',
  'col',
  'colgroup',
  'dd',
  'del',
  'details',
  'dfn',
  'div',
  'dl',
  'dt',
  'em',
  'figcaption',
  'figure',
  'font',
  'footer',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hr',
  'i',
  'img',
  'ins',
  'kbd',
  'li',
  'main',
  'mark',
  'nav',
  'ol',
  'p',
  'pre',
  'q',
  's',
  'samp',
  'section',
  'small',
  'span',
  'strike',
  'strong',
  'style',
  'sub',
  'summary',
  'sup',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'time',
  'tr',
  'tt',
  'u',
  'ul',
  'var',
  'wbr',
];
// Presentation only: no attribute that loads (background, srcset, poster, lowsrc, dynsrc), acts (on*), or navigates (href, action, formaction).
const presentational = [
  'align',
  'valign',
  'width',
  'height',
  'bgcolor',
  'border',
  'cellpadding',
  'cellspacing',
  'colspan',
  'rowspan',
  'color',
  'face',
  'size',
  'dir',
  'lang',
  'title',
  'class',
  'style',
  'role',
  'span',
  'start',
  'type',
  'nowrap',
  'hspace',
  'vspace',
  'scope',
  'summary',
];

/**
 * Makes CSS inert: every `@import` and every `url()`/`image-set()`/`src()` other than a data: URL
 * goes, and CSS escapes go first, because `u\72l(` spells `url(` to a CSS parser.
 */
export function inertCss(css: string): string {
  return (
    css
      .replace(/\\[0-9a-fA-F]{1,6}\s?|\\[\s\S]/g, '')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/@import[^;]*;?/gi, '')
      .replace(/(?:url|image-set|-webkit-image-set|src)\s*\(\s*(['"]?)(?!data:)[^)]*\)/gi, 'none')
      .replace(/expression\s*\(/gi, 'none(')
      // Whatever still names a remote location (a function spelled some way not caught above) loses it.
      .replace(/(?:https?:)?\/\/[^\s)'";]*/gi, '')
  );
}

// A fixed style with no character special to a RegExp, so the note's span is found again after sanitizing.
const inlineNoteStyle = 'display:inline-block;border:1px dashed #888;padding:4px;color:#555;font:12px sans-serif';

const remote = (url: string) => /^\s*https?:/i.test(url);

/**
 * Sanitizes an email's HTML for the viewer with `sanitize-html`: no script, no event handler, no
 * `<meta>`, `<base>`, `<link>`, form, frame, object or media element; links keep their target only
 * as a title (they open nothing); CSS loses every remote reference; `<img>` keeps a data: source,
 * and an http(s) source only with `remoteImages`. The frame's CSP is the second wall.
 */
export function sanitizeEmailHtml(html: string, options: SanitizeEmailOptions = {}): SanitizedEmail {
  const links: string[] = [];
  const images: string[] = [];
  const cleaned = sanitizeHtml(html, {
    allowedTags,
    allowVulnerableTags: true,
    nonTextTags: ['script', 'noscript', 'textarea', 'option', 'title', 'template', 'xmp', 'iframe', 'noembed', 'noframes', 'object'],
    allowedAttributes: { '*': presentational, img: [...presentational, 'src', 'alt'], a: [...presentational, 'name'] },
    allowedSchemes: [],
    allowedSchemesByTag: { img: ['data', 'http', 'https'] },
    allowProtocolRelative: false,
    transformTags: {
      '*': (tagName, attribs) => {
        const kept: Record<string, string> = { ...attribs };
        if (kept['style'] !== undefined) kept['style'] = inertCss(kept['style']);
        if (tagName === 'a') {
          const href = kept['href'];
          delete kept['href'];
          if (href !== undefined && href.trim() !== '') {
            links.push(href);
            kept['title'] = `Link (not opened by the viewer): ${href}`;
          }
        }
        if (tagName === 'img' && kept['src'] !== undefined && /^\s*cid:/i.test(kept['src'])) {
          const inline = options.inlineImages?.get(normalizeContentId(kept['src'].trim().slice(4)));
          delete kept['src'];
          if (inline !== undefined && 'dataUri' in inline) kept['src'] = inline.dataUri;
          // Too large: a note where the image was (its text is filled in below: sanitize-html gives a void element's replacement no text).
          else if (inline !== undefined) return { tagName: 'span', attribs: { style: inlineNoteStyle, title: inline.note } };
        }
        if (tagName === 'img' && kept['src'] !== undefined && remote(kept['src'])) {
          images.push(kept['src']);
          if (options.remoteImages !== true) {
            delete kept['src'];
            kept['title'] = 'Remote image not loaded';
          }
        }
        return { tagName, attribs: kept };
      },
    },
  });
  // sanitize-html passes a kept <style>'s text through untouched; its output always closes the element.
  const inert = cleaned
    .replace(/(<style\b[^>]*>)([\s\S]*?)(<\/style>)/gi, (_whole, open: string, css: string, close: string) => `${open}${inertCss(css)}${close}`)
    // The title is already escaped by sanitize-html, so it goes in as the text unchanged.
    .replaceAll(new RegExp(`(<span style="${inlineNoteStyle}" title="([^"]*)">)(</span>)`, 'g'), '$1$2$3');
  return { html: inert, links, remoteImages: images };
}

/** The document put into the sandboxed frame's `srcdoc`: the policy as a `<meta>` first, links styled as links (they keep their target as a tooltip), then the sanitized body. */
export function emailFrameDocument(sanitized: string, policy: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${policy}"><meta name="referrer" content="no-referrer"><style>a[title]{color:#1a5fb4;text-decoration:underline;cursor:help}</style></head><body>${sanitized}</body></html>`;
}
