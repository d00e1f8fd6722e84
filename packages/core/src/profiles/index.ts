export { brazeProfile } from './braze-profile.js';
export { getProfile, isProfileName, profileNames, profiles } from './get-profile.js';
export type { Profile, ProfileName, ProfileParseContext } from './profile.js';
export { clevertapProfile, iterableProfile, sentcopyProfile } from './v1-profiles.js';
