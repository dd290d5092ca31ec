import type { CataloguedType, EventData } from './events.ts';

/** The types a client may publish: every catalogued type the server does not keep to itself (SERVER_NAMESPACES, SERVER_TYPES). */
export type ClientEventType = Exclude<
  CataloguedType,
  | `system.${string}`
  | `session.${string}`
  | `agent.${string}`
  | `task.${string}`
  | `sandbox.${string}`
  | `knowledge.${string}`
  | `auth.${string}`
  | 'git.operation_completed'
>;

/**
 * One realistic `data` per client-publishable type, checked against the catalogue by a
 * test: /openapi.json shows them as the examples of `POST /api/v1/events`, so a reader
 * sees a real event rather than `"data": "string"`.
 */
export const EVENT_EXAMPLES: { [T in ClientEventType]: EventData<T> } = {
  'workflow.started': { workflow_id: 'w-42', name: 'nightly-tests' },
  'workflow.step_completed': { workflow_id: 'w-42', name: 'nightly-tests', step: 'unit', duration_ms: 8123 },
  'workflow.finished': { workflow_id: 'w-42', name: 'nightly-tests', duration_ms: 61_500 },
  'workflow.failed': { workflow_id: 'w-42', name: 'nightly-tests', step: 'e2e', error: 'dashboard.test.ts: timed out' },
  'chat.message_sent': { agent: 'claude', conversation_id: 'c-7', text: 'Run the tests and fix what fails.' },
  'chat.message_received': { agent: 'claude', conversation_id: 'c-7', text: 'All 212 tests pass.' },
  'chat.thinking_started': { agent: 'claude', conversation_id: 'c-7' },
  'chat.thinking_finished': { agent: 'claude', conversation_id: 'c-7', duration_ms: 4200 },
  'file.created': { path: 'src/feature/new-module.ts' },
  'file.modified': { path: 'src/app.ts' },
  'file.deleted': { path: 'src/old-module.ts' },
  'state.epic_created': { epic_id: 'E3', title: 'Offline mode' },
  'state.story_created': { story_id: 'S12', epic_id: 'E3', title: 'Cache the last snapshot' },
  'state.story_transitioned': { story_id: 'S12', from: 'todo', to: 'in progress' },
  'git.commit_created': {
    sha: '3f2a9c1',
    message: 'Cache the last snapshot for offline start',
    author: 'Ada',
    branch: 'main',
    committed_at: '2026-11-23T17:49:02+01:00',
  },
  'git.checked_out': {
    from: '3f2a9c1d0b7e6a5f4c3b2a1908f7e6d5c4b3a291',
    to: '9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d',
    branch: 'feature/offline',
    branch_checkout: true,
  },
  'git.merged': { sha: '5b4a3c2d1e0f', message: "Merge branch 'feature/offline'", branch: 'main', squash: false },
  'otel.span': {
    trace_id: '5b8efff798038103d269b633813fc60c',
    span_id: 'eee19b7ec3c1b174',
    parent_span_id: 'eee19b7ec3c1b173',
    name: 'chat claude-sonnet-4',
    kind: 'client',
    start_time: '2026-11-23T17:49:02.123Z',
    end_time: '2026-11-23T17:49:04.623Z',
    duration_ms: 2500,
    status: { code: 'ok' },
    attributes: { 'gen_ai.request.model': 'claude-sonnet-4', 'gen_ai.usage.input_tokens': 1200 },
    resource: { 'service.name': 'my-agent' },
    service_name: 'my-agent',
    gen_ai: { model: 'claude-sonnet-4', input_tokens: 1200, output_tokens: 310 },
  },
  'otel.log': {
    time: '2026-11-23T17:49:04.700Z',
    severity_number: 9,
    severity_text: 'INFO',
    body: 'claude_code.api_request',
    event_name: 'claude_code.api_request',
    attributes: { model: 'claude-sonnet-4', input_tokens: 1200, output_tokens: 310, cost_usd: 0.0083 },
    resource: { 'service.name': 'claude-code' },
    session_id: 'b3c1e2d4-session',
    gen_ai: { model: 'claude-sonnet-4', input_tokens: 1200, output_tokens: 310, cost_usd: 0.0083 },
  },
  'otel.metrics': {
    resource: { 'service.name': 'claude-code' },
    metrics: [{ name: 'claude_code.token.usage', type: 'sum', unit: 'tokens', data_points: 4 }],
    data_points: 4,
  },
  'tool.call_started': {
    session_id: 'b3c1e2d4-session',
    agent: 'claude-code',
    tool_name: 'Bash',
    input: { command: 'npm test' },
  },
  'tool.call_finished': {
    session_id: 'b3c1e2d4-session',
    agent: 'claude-code',
    tool_name: 'Bash',
    output: { stdout: '212 passed' },
  },
  'tool.call_failed': { session_id: 'b3c1e2d4-session', agent: 'claude-code', tool_name: 'Edit', error: 'no match' },
  'agent_session.started': { session_id: 'b3c1e2d4-session', agent: 'claude-code', source: 'startup' },
  'agent_session.ended': { session_id: 'b3c1e2d4-session', agent: 'claude-code', reason: 'prompt_input_exit' },
  'agent_session.stopped': { session_id: 'b3c1e2d4-session', agent: 'claude-code', subagent: false },
  'agent_session.notification': {
    session_id: 'b3c1e2d4-session',
    agent: 'claude-code',
    message: 'Claude needs your permission to use Bash',
  },
  'agent_session.compacting': { session_id: 'b3c1e2d4-session', agent: 'claude-code', trigger: 'auto' },
  'ceremony.started': { ceremony_id: 'standup-monday', name: 'Stand-up' },
  'ceremony.message': { ceremony_id: 'standup-monday', speaker: 'claude', text: 'Yesterday: offline cache.' },
  'ceremony.ended': { ceremony_id: 'standup-monday' },
  'kanban.card_moved': { card_id: 'K-9', from: 'doing', to: 'done', title: 'Offline cache' },
  'kanban.card_updated': { card_id: 'K-9', title: 'Offline cache (snapshot only)' },
};

export const CLIENT_EVENT_TYPES = Object.keys(EVENT_EXAMPLES) as ClientEventType[];

/**
 * Realistic `data` of the events the knowledge base publishes (server-only types), checked
 * against the catalogue by a test: fixtures for the dashboard and the docs.
 */
export const KNOWLEDGE_EVENT_EXAMPLES: {
  [T in Extract<CataloguedType, `knowledge.${string}`>]: EventData<T>;
} = {
  'knowledge.document_added': {
    document_id: 'k9d8c7b6a5f4',
    title: 'Offline mode notes',
    source: 'docs/offline.md',
    tags: ['design'],
    chunk_count: 7,
    bytes: 9214,
    replaced: false,
  },
  'knowledge.document_deleted': { document_id: 'k9d8c7b6a5f4', title: 'Offline mode notes' },
};
