// The message page's style sheet, served by the viewer under /assets/message.css (no CDN, no font download).
const messageCss = `
.message { max-width: 1200px; margin: 0 auto; padding: 0 1rem 2rem; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.45; }
.message h1 { font-size: 1.4rem; margin: 0.8rem 0; overflow-wrap: anywhere; }
.message h2 { font-size: 1.15rem; margin: 1.2rem 0 0.5rem; }
.message h3 { font-size: 1rem; margin: 1rem 0 0.4rem; }
.message a:focus-visible, .message pre:focus-visible, .message summary:focus-visible, .message iframe:focus-visible { outline: 3px solid #1a5fb4; outline-offset: 2px; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0.5rem 0; }
.facts dt { font-weight: 600; color: #333; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.hash { font-size: 0.85em; overflow-wrap: anywhere; }
.ok { color: #1b6e20; }
.bad, .problem { color: #a51d2d; }
.problem { background: #fdecea; border-left: 4px solid #a51d2d; padding: 0.4rem 0.8rem; }
.note { color: #444; font-size: 0.92em; }
table.fields, table.recipients, .template table { border-collapse: collapse; margin: 0.5rem 0; width: 100%; }
table.fields th, table.fields td, table.recipients th, table.recipients td, .template th, .template td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
table.fields th[scope="row"], .template th[scope="row"] { white-space: nowrap; overflow-wrap: normal; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
.tabs ul { display: flex; flex-wrap: wrap; gap: 0.25rem; list-style: none; padding: 0; margin: 0.5rem 0 0; border-bottom: 2px solid #ccc; }
.tabs a { display: block; padding: 0.35rem 0.8rem; border: 1px solid #ccc; border-bottom: none; border-radius: 4px 4px 0 0; text-decoration: none; color: #1a5fb4; background: #f6f6f6; }
.tabs a[aria-current="page"] { background: #fff; color: #000; font-weight: 600; border-color: #888; }
.tab-panel { padding: 0.6rem 0; }
.email-frame { width: 100%; height: 60vh; min-height: 320px; border: 1px solid #bbb; background: #fff; }
pre.source, pre.json { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; border: 1px solid #ddd; padding: 0.6rem; max-height: 60vh; overflow: auto; font-size: 0.85rem; }
.warning { border: 2px solid #c64600; background: #fff4e5; padding: 0.6rem 1rem; margin: 0.5rem 0; }
.warning h2 { margin-top: 0; }
.actions { display: flex; gap: 0.8rem; flex-wrap: wrap; }
.button { display: inline-block; padding: 0.4rem 0.9rem; border: 1px solid #555; border-radius: 4px; background: #fff; color: #000; text-decoration: none; }
.button.danger { background: #c64600; border-color: #8a3100; color: #fff; }
.conversation { max-width: 38rem; }
.conversation-to { color: #555; }
.bubble { border-radius: 14px; padding: 0.6rem 0.9rem; margin: 0.4rem 0 0.4rem 3rem; }
.bubble-sms { background: #dbe9ff; }
.bubble-whatsapp { background: #dcf8c6; }
.bubble-body { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 0.4rem; }
.bubble-body.empty { color: #666; font-style: italic; }
.bubble-meta { font-size: 0.8rem; color: #444; text-align: right; margin: 0; }
.media code, .links code { overflow-wrap: anywhere; }
.notification { max-width: 26rem; padding: 0.7rem 0.9rem; margin: 0.5rem 0 1rem; box-shadow: 0 1px 4px rgba(0,0,0,0.25); }
.notification p { margin: 0.1rem 0; overflow-wrap: anywhere; }
.notification-ios { border-radius: 16px; background: #f2f2f7; }
.notification-android { border-radius: 8px; background: #fff; border-left: 4px solid #3ddc84; }
.notification-web { border-radius: 4px; background: #fff; border: 1px solid #bbb; }
.notification-generic { border-radius: 6px; background: #fafafa; border: 1px dashed #999; }
.notification-app, .notification-meta { font-size: 0.8rem; color: #555; }
.notification-title { font-weight: 600; }
.downloads ul { padding-left: 1.2rem; }
.integrity { border-top: 2px solid #ccc; margin-top: 1.5rem; }
`;

/** The message module's static assets, by file name: the viewer serves each under `/assets/NAME`. */
export const messageAssets: ReadonlyMap<string, { readonly type: string; readonly body: string }> = new Map([['message.css', { type: 'text/css; charset=utf-8', body: messageCss }]]);
