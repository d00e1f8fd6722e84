import { viewerCss } from './viewer-css.js';

/** The base assets every viewer page uses, served under `/assets/NAME`: the style sheet. */
export const viewerAssets: ReadonlyMap<string, { readonly type: string; readonly body: string }> = new Map([['viewer.css', { type: 'text/css; charset=utf-8', body: viewerCss }]]);
