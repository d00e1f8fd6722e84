export { codePointLength, defaultMaxMessageBytes, exceedsCodePoints, maxMessageIdLength, messageIdProblem } from './message-limits.js';
