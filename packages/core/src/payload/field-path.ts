// Field paths as validation issues and serialization errors show them: `attachments[1].bytes`, `headers.X-Foo`, `extras["a b"]`.

const identifierKey = /^[A-Za-z_$][\w$-]*$/;

/** Longest key shown in a path; longer keys are cut (they are field names, but need not be short). */
const longestKeyInPath = 64;

/** The path of `key` inside the object at `parent` (`''` for the root). */
export function keyPath(parent: string, key: string): string {
  if (key.length <= longestKeyInPath && identifierKey.test(key)) return parent === '' ? key : `${parent}.${key}`;
  const shown = key.length > longestKeyInPath ? `${key.slice(0, longestKeyInPath)}…` : key;
  return `${parent}[${JSON.stringify(shown)}]`;
}

/** The path of item `index` of the array at `parent`. */
export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}
