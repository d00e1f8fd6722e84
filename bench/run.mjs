// `pnpm bench`: every benchmark in one process, each printing ratios against a baseline measured in the same run.
import { runArchiverBench } from './archiver.mjs';
import { runAzureBench } from './azure.mjs';
import { runClientBench } from './client.mjs';
import { runClusterBench } from './cluster.mjs';
import { runCodecBench } from './codecs.mjs';
import { runGcsBench } from './gcs.mjs';
import { runLedgerBench } from './ledger.mjs';
import { runLedgerIndexBench } from './ledger-index.mjs';
import { runParseJsonBench } from './parse-json.mjs';
import { runRawMimeBench } from './raw-mime.mjs';
import { runS3Bench } from './s3.mjs';
import { runWorkerBench } from './worker.mjs';
import { runBacklogBench } from './worker-backlog.mjs';

console.log(`sentcopy benchmarks · node ${process.version} · ${new Date().toISOString()}`);
await runCodecBench({ print: console.log });
await runParseJsonBench({ print: console.log });
await runArchiverBench({ print: console.log });
await runLedgerBench({ print: console.log });
await runLedgerIndexBench({ print: console.log });
await runS3Bench({ print: console.log });
await runAzureBench({ print: console.log });
await runGcsBench({ print: console.log });
await runWorkerBench({ print: console.log });
await runClientBench({ print: console.log });
await runRawMimeBench({ print: console.log });
await runBacklogBench({ print: console.log });
await runClusterBench({ print: console.log });
