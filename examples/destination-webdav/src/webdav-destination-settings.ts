/** Settings of {@link createWebdavDestination}. */
export interface WebdavDestinationSettings {
  /**
   * The WebDAV folder objects are stored under, `http:` or `https:`, without credentials in it,
   * e.g. `https://dav.example.com/remote.php/dav/files/archive/`. The folder must exist.
   */
  readonly url: string;
  /** Folder below `url` that holds the archive (created on first write); `/` is appended when missing. @default '' (the `url` folder itself) */
  readonly folder?: string | undefined;
  /** User name for HTTP Basic authentication; without it requests carry no credentials. */
  readonly username?: string | undefined;
  /** Password for HTTP Basic authentication (a secret: never logged, never in ids or errors). */
  readonly password?: string | undefined;
  /** Deadline of one request, in milliseconds. @default 60000 */
  readonly callTimeoutMs?: number | undefined;
}
