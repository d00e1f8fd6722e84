declare module 'lz4js' {
  /** Decodes one LZ4 frame. */
  export function decompress(source: Uint8Array, maxSize?: number): Uint8Array;
}
