export { embeddedObject, OfflineViewerMissingError, offlinePageParts, offlineViewerScript } from './offline-page.js';
export type { OfflinePageParts } from './offline-page.js';
