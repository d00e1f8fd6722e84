import type { BundleManifest } from './bundle-manifest.js';

/** README.txt of a bundle: what it holds, how to check it offline, and what the check proves. */
export function bundleReadme(manifest: BundleManifest): string {
  const missing = manifest.missing.length === 0 ? '' : `\n${manifest.missing.length} object(s) the search found could not be read when the bundle was made; manifest.json lists them under "missing".\n`;
  return `sentcopy export bundle
======================

Made ${manifest.created_at} by ${manifest.query.who} with ${manifest.query.tool}.
It holds ${manifest.objects.length} archived message(s): the exact bytes sentcopy stored, one file each.
${missing}
What is in it
-------------
objects/<destination>/<key>   each message exactly as stored (gzip, LZ4 frame, or plain JSON,
                              as its name ends: .gz, .lz4, .json); open with gzip -dc or lz4 -dc
manifest.json                 what was exported, by whom, with which search (recipients only as
                              hashes), and for each object its SHA-256, size, codec, message id,
                              channel, send time, project and ledger chain
SHA256SUMS                    the SHA-256 of every file above, in the format sha256sum -c reads
viewer.html                   open it in any browser: it lists and shows the messages and checks
                              each one's SHA-256; it needs no network and loads nothing

How to check it, offline
------------------------
With standard tools (Linux, macOS with coreutils, WSL):

    unzip bundle.zip -d b && cd b && sha256sum -c SHA256SUMS

Every line must say OK. With sentcopy installed (no configuration or network needed):

    sentcopy verify-bundle bundle.zip

It exits 0 when every object matches the manifest and SHA256SUMS, and 4 naming each object that
is altered, missing or extra.

In a browser: open viewer.html. Each message is marked "verified" or "ALTERED". The page checks
the copy of each message it carries; to check the files themselves, pick this ZIP (or the folder
it was unzipped to) under "Check the bundle's files".

What the check proves
---------------------
A match proves each file's bytes are exactly the bytes whose SHA-256 the archive recorded when the
message was stored (manifest.json says where each SHA-256 comes from: "ledger" is the archive's
hash-chained ledger, "store" the object's own metadata), so nothing was changed since. It does not
by itself prove who made the bundle: anyone can rewrite a file and its line in SHA256SUMS together.
To tie the bundle to the archive, compare the SHA-256s in manifest.json with the archive's ledger
(\`sentcopy ls --json\`, \`sentcopy verify --complete\`), or keep the SHA-256 of this ZIP file with
the record of the hand-over.
`;
}
