export { compileKeyLayout } from './compile-key-layout.js';
export type { KeyLayout } from './compile-key-layout.js';
export { KeyLayoutError } from './key-layout-error.js';
export { keyLayoutPresets } from './key-layout-presets.js';
export type { KeyLayoutPresetName } from './key-layout-presets.js';
export { normalizeRecipient } from './normalize-recipient.js';
export { safeSegment } from './safe-segment.js';
export { escapeVersionLikeKey, parseVersionKey, versionIdDigits, versionKey } from './version-key.js';
export type { VersionKeyParts } from './version-key.js';
