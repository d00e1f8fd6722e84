export { bundleFiles, bundleFormatVersion, bundleObjectPath, objectsFolder } from './bundle-manifest.js';
export type { BundleLedgerEntry, BundleManifest, BundleManifestObject, BundleQuery, BundleSummary } from './bundle-manifest.js';
export { bundleItems, bundleResponse, exportAssets, ExportRequestError, exportFilters, findForExport, registerExportRoutes, viewerExportLimit } from './bundle-response.js';
export { verifyBundle } from './verify-bundle.js';
export type { BundleCheck, BundleProblem, BundleProblemKind } from './verify-bundle.js';
export { BundleTooLargeError, maxBundleBytes, maxBundleObjects, writeBundle } from './write-bundle.js';
export type { BundleItem, BundleProgress, WriteBundleOptions, WriteBundleResult } from './write-bundle.js';
