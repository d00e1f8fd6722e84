export { startThreadWithProcessFlags } from './start-thread.js';
