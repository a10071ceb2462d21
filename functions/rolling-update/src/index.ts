// Public API of the rolling-update function (its decisions; main.ts is the process).
export { advance } from './advance.js';
export type { AdvanceOutcome } from './advance.js';
export { createHandler } from './handler.js';
export type { PatroniApi, RollingDeps } from './deps.js';
export { planRotation } from './rotation-plan.js';
export { diffPatroniConfig } from './patroni-config-diff.js';
export { planRestart } from './restart-plan.js';
export { planVolumeResize } from './volume-resize.js';
