export {
  codePointLength,
  defaultMaxBatchMessages,
  defaultMaxBodyBytes,
  defaultMaxMessageBytes,
  exceedsCodePoints,
  maxMessageIdLength,
  messageIdProblem,
} from './message-limits.js';
