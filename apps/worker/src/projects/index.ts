export { apiKeyHashesEqual, hashApiKey } from './project-directory.js';
export type { ArchiverUse, ProjectDirectory, ProjectRoute } from './project-directory.js';
