export { messageAssets } from './message-assets.js';
export { displayKey, messagePagePolicy, registerMessageRoutes } from './message-routes.js';
export { emailFramePolicy, emailFramePolicyWithImages, inertCss, sanitizeEmailHtml } from './sanitize-email.js';
export type { SanitizedEmail, SanitizeEmailOptions } from './sanitize-email.js';
export { inlineImageCapBytes, inlineImages, normalizeContentId } from './inline-images.js';
export type { InlineImage } from './inline-images.js';
