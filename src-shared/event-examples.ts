import type { CataloguedType, EventData } from './events.ts';

/** The types a client may publish: every catalogued type the server does not keep to itself (SERVER_NAMESPACES, SERVER_TYPES). */
export type ClientEventType = Exclude<
  CataloguedType,
  | `system.${string}`
  | `session.${string}`
  | `agent.${string}`
  | `task.${string}`
  | `sandbox.${string}`
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
  'ceremony.started': { ceremony_id: 'standup-monday', name: 'Stand-up' },
  'ceremony.message': { ceremony_id: 'standup-monday', speaker: 'claude', text: 'Yesterday: offline cache.' },
  'ceremony.ended': { ceremony_id: 'standup-monday' },
  'kanban.card_moved': { card_id: 'K-9', from: 'doing', to: 'done', title: 'Offline cache' },
  'kanban.card_updated': { card_id: 'K-9', title: 'Offline cache (snapshot only)' },
};

export const CLIENT_EVENT_TYPES = Object.keys(EVENT_EXAMPLES) as ClientEventType[];
