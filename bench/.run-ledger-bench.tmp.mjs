const m = await import('/work/wt-ledger-worker/bench/ledger.mjs');
await m.runWorkerLedgerBench();
