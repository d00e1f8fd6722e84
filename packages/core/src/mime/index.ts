export { completeRawMimeMessage, rawMimeDerivedFields, rawMimeDerivedMarker } from './complete-raw-mime-message.js';
export { decodeRawMime, decodeRawMimePrefix, encodeRawMime } from './raw-mime-bytes.js';
export { headerSection, maxRawMimeHeaderBytes, readRawMimeHeaders } from './read-raw-mime-headers.js';
export type { RawMimeHeaders } from './read-raw-mime-headers.js';
