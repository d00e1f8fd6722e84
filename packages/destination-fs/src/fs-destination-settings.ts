/** Settings for {@link createFsDestination}. */
export interface FsDestinationSettings {
  /**
   * The folder objects are archived into, absolute or relative to the working directory. The
   * destination keeps its own files in a reserved `.sentcopy` folder inside it.
   *
   * The first successful `probe()` or `put()` remembers which folder this is (its device and
   * inode). Afterwards every write checks it first, so a volume that was unmounted (leaving the
   * empty mount point on the disk beneath) or a folder that was replaced fails writes and probes as
   * `unreachable` instead of archiving where nobody will look.
   */
  root: string;
  /**
   * Whether the first `probe()` or `put()` may create `root` (with its parents, mode
   * `directoryMode`) when it is missing. After that first success the root is never created
   * again: a root that disappears is an outage, not a fresh start. Set `false` when the root is a
   * mounted volume, so a worker started before the volume is mounted waits instead of archiving
   * onto the disk beneath.
   * @default true
   */
  createRoot?: boolean;
  /**
   * Whether `root` must be a mount point (Linux: listed in `/proc/self/mountinfo`, bind mounts
   * included; elsewhere: on another device than its parent) for the first `probe()` or `put()` to
   * accept it. Turn on when the root is a dedicated volume: a worker started while the volume is not
   * mounted then waits (its probe fails `unreachable`) instead of archiving into the empty mount
   * point on the disk beneath.
   * @default false
   */
  requireMountPoint?: boolean;
  /**
   * Whether to fsync each object, its metadata sidecar, every folder the write created and the
   * folders that received new entries, before `put()` resolves, so an acknowledged object survives
   * a power loss. Turn off only for throwaway folders (tests).
   * @default true
   */
  fsync?: boolean;
  /**
   * Permission bits of archived objects and sidecar files (an integer such as `0o600`). Applied
   * exactly, whatever the process umask. Messages hold personal data, so only the owner can read
   * them by default.
   * @default 0o600
   */
  fileMode?: number;
  /**
   * Permission bits of the folders the destination creates (the root when it creates it, key
   * folders, `.sentcopy`). Applied exactly, whatever the process umask. Existing folders are left as
   * they are.
   * @default 0o700
   */
  directoryMode?: number;
}
