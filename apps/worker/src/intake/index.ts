export { createIntakeServer } from './create-intake-server.js';
export type { GateLedger, GateRecord, IntakeEvent, IntakeLimits, IntakeRejection, IntakeServer, IntakeServerOptions, IntakeTls, Readiness } from './intake-options.js';
