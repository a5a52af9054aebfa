// The decision engine's public face: decide, applyOutcome, probeTargets, describeJournal and the state slice.
export { decide, heartbeatFor, refreshOwedTo, type Decision, type DecideInput, type Heartbeat, type RefreshOrder } from './decide';
export { pinActive, type PinTargetFailing } from './pin';
export { applyOutcome, type Outcome } from './outcome';
export { probeTargets, watchFirst } from './probe-targets';
export { describeJournal, isRepeat, passesIn } from './journal';
export {
  afterTimeGap,
  engineStateSchema,
  initialEngineState,
  type EngineState,
  type JournalEntry,
  type LocalStatus,
  type ReasonCode,
} from './state';
