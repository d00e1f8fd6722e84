import { brazeProfile } from './braze-profile.js';
import type { Profile, ProfileName } from './profile.js';
import { clevertapProfile, iterableProfile, sentcopyProfile } from './v1-profiles.js';

/** Every built-in profile by name. */
export const profiles: Readonly<Record<ProfileName, Profile>> = Object.freeze({
  sentcopy: sentcopyProfile,
  braze: brazeProfile,
  clevertap: clevertapProfile,
  iterable: iterableProfile,
});

/** Names of the built-in profiles, sentcopy's own first. */
export const profileNames: readonly ProfileName[] = Object.freeze(Object.keys(profiles) as ProfileName[]);

/** True when `value` names a built-in profile. */
export function isProfileName(value: unknown): value is ProfileName {
  return typeof value === 'string' && Object.hasOwn(profiles, value);
}

/** The built-in profile called `name`; throws a `TypeError` listing the valid names otherwise. */
export function getProfile(name: string): Profile {
  if (isProfileName(name)) return profiles[name];
  throw new TypeError(`Unknown profile "${name}". Use one of: ${profileNames.join(', ')}.`);
}
