export { compileKeyLayout } from './compile-key-layout.js';
export type { KeyLayout, KeyLayoutOptions } from './compile-key-layout.js';
export { KeyLayoutError } from './key-layout-error.js';
export { isKeyLayoutPresetName, keyLayoutPresets } from './key-layout-presets.js';
export type { KeyLayoutPresetName } from './key-layout-presets.js';
export { normalizeRecipient } from './normalize-recipient.js';
export { RecipientKeyError } from './recipient-key-error.js';
export { safeSegment } from './safe-segment.js';
