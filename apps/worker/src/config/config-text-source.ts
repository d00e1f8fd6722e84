/**
 * Where the worker's configuration text comes from: the local file (`createFileConfigSource`, the
 * default) or a JetStream key-value bucket shared by a cluster (`openJetStreamConfigStore`).
 */
export interface ConfigTextSource {
  /**
   * Reads the current configuration text; `undefined` when there is none. Rejects with a
   * `ConfigError` to say itself what is wrong (e.g. `the file does not exist`); any other rejection
   * is reported as `it cannot be read (<code>)`.
   */
  read(): Promise<string | undefined>;
  /** Names the source in errors and logs, e.g. `the sentcopy-config bucket`. @default the configuration file's path */
  readonly description?: string;
  /** The text is shared by a cluster of workers, so it is validated as such (no relative paths). @default false */
  readonly shared?: boolean;
  /** Told what became of each new text: applied, or refused with the problems (paths, never values). */
  report?(outcome: { readonly text: string; readonly problem?: string }): void;
  /** Calls `onChange` whenever the text may have changed; returns a function that stops watching. */
  watch(onChange: () => void): () => void;
}
