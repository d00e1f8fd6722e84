/** Settings for {@link createFsDestination}. */
export interface FsDestinationSettings {
  /**
   * The folder objects are archived into, absolute or relative to the working directory. Created
   * (with its parents) on the first `put()` or `probe()` if missing. The destination keeps its own
   * files in a reserved `.sentcopy` folder inside it.
   */
  root: string;
  /**
   * Whether to fsync each object, its metadata sidecar and their folders before `put()` resolves,
   * so an acknowledged object survives a power loss. Turn off only for throwaway folders (tests).
   * @default true
   */
  fsync?: boolean;
}
