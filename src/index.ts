// Troupe's public API: every export is named here (no `export *`).

export {
  type ActorSystem,
  type ActorSystemOptions,
  type ActorSystemStats,
  createActorSystem,
  type DeliveryInspector,
} from "./actors/actor-system.ts";
export type {
  ActorContext,
  ActorInstance,
  ActorRef,
  AskOptions,
  Behavior,
  LocalActorRef,
  SpawnOptions,
} from "./actors/behavior.ts";
export type { EventStream } from "./actors/event-stream.ts";
export type {
  ActorEvent,
  BackoffEvent,
  EscalatedEvent,
  FatalEvent,
  HookFailedEvent,
  RestartedEvent,
  StartedEvent,
  StoppedEvent,
  StopReason,
} from "./actors/events.ts";
export { DEFAULT_MAILBOX_SIZE, type OverflowPolicy } from "./actors/mailbox.ts";
export type { RemoteHandler, RemotePort } from "./actors/remote.ts";
export { ACTOR_DEFAULTS } from "./actors/settings.ts";
export { type Clock, systemClock } from "./clock.ts";
export { loadConfig, type TroupeConfig } from "./config.ts";
export {
  type Alias,
  ENV_ALIASES,
  HYPERPARAMETER_ALIASES,
  LOG_LEVEL_ALIASES,
  ROUTE_ALIASES,
  type Seed,
  SPEC_ALIASES,
} from "./contract/aliases.ts";
export type { ColumnSummary, DatasetRecord } from "./contract/datasets.ts";
export type {
  ChunkEvent,
  ChunkTaskState,
  JobEvent,
  RejectedEvent,
  TaskEvent,
  WorkerEvent,
} from "./contract/events.ts";
export { taskEventsOf } from "./contract/events.ts";
export type {
  Placement,
  ResourceAvailability,
  Resources,
  WorkerResources,
} from "./contract/resources.ts";
export {
  ActorCrashedError,
  ActorNameTakenError,
  ActorOptionsError,
  ActorStoppedError,
  ArtifactNotFoundError,
  AskTimeoutError,
  CheckpointError,
  ConfigError,
  DatasetConflictError,
  DatasetInvalidError,
  DatasetNotFoundError,
  DatasetTooLargeError,
  type ErrorData,
  type FieldProblem,
  InvalidRequestError,
  InvalidTransitionError,
  JobEndedError,
  JobNotFoundError,
  JobStateConflictError,
  MailboxFullError,
  ModelUnavailableError,
  NoResponderError,
  NotReadyError,
  PayloadTooLargeError,
  PoolUnavailableError,
  RateLimitedError,
  RouteNotFoundError,
  SupervisorEscalationError,
  TrainingAbortedError,
  TrainingError,
  TrainingSpecError,
  TroupeError,
  UnauthorizedError,
  WorkerNotFoundError,
} from "./errors.ts";
export type { JobRecord } from "./jobs/job-record.ts";
export { type JobSpec, JobSpecSchema, parseJobSpec } from "./jobs/job-spec.ts";
export { JOB_STATES, type JobState, TASK_STATES, type TaskState } from "./jobs/job-state.ts";
export { createRuntime, type Runtime, type RuntimeOptions } from "./runtime.ts";
export type { ChildSpec, RestartType } from "./supervisor/child-spec.ts";
export type { Strategy } from "./supervisor/strategy.ts";
export { createSupervisor, type Supervisor, supervisorChild } from "./supervisor/supervisor.ts";
export {
  SUPERVISOR_DEFAULTS,
  type SupervisorChildOptions,
  type SupervisorOptions,
} from "./supervisor/supervisor-options.ts";
export { decodeModelJson, type ModelJson } from "./training/model-json.ts";
export {
  createTrainingPool,
  type RunOptions,
  type TrainingPool,
  type TrainingPoolOptions,
} from "./training/pool.ts";
export type {
  AggregateInput,
  AggregateResult,
  TaskInput,
  TaskResult,
  TrainingCheckpoint,
  TrainingProgress,
} from "./training/types.ts";
export { createNatsRemotePort, type NatsRemotePort } from "./transport/remote-actors.ts";
export type { WorkerHealth } from "./workers/worker-health.ts";
export type { WorkerActivity, WorkerView } from "./workers/worker-record.ts";
