import { describe, expect, it } from 'vitest';
import { CLIENT_EVENT_TYPES, EVENT_EXAMPLES, KNOWLEDGE_EVENT_EXAMPLES } from '../../../src-shared/event-examples.ts';
import {
  CATALOGUED_TYPES,
  SERVER_NAMESPACES,
  SERVER_TYPES,
  namespaceOf,
  validateEventInput,
} from '../../../src-shared/events.ts';
import { PUBLISH_EXAMPLES, publishBodyDocument } from '../../../src-shared/publish-body.ts';

describe('event examples (shown by /openapi.json for POST /events)', () => {
  it('cover every type a client may publish, and each passes the catalogue', () => {
    const clientTypes = CATALOGUED_TYPES.filter(
      (type) => !SERVER_NAMESPACES.includes(namespaceOf(type)) && !SERVER_TYPES.includes(type),
    );
    expect([...CLIENT_EVENT_TYPES].sort()).toEqual([...clientTypes].sort());
    for (const type of CLIENT_EVENT_TYPES) {
      expect(validateEventInput({ type, data: EVENT_EXAMPLES[type] }), type).toMatchObject({ ok: true });
    }
  });

  it('are valid against the documented body, single and batch', () => {
    for (const [name, example] of Object.entries(PUBLISH_EXAMPLES)) {
      expect(publishBodyDocument().safeParse(example.value).success, name).toBe(true);
    }
    expect(publishBodyDocument().safeParse({ type: 'system.started', data: { version: '1', pid: 1 } }).success).toBe(
      false,
    );
    expect(publishBodyDocument().safeParse({}).success).toBe(false);
  });

  it('cover every knowledge.* type, each passing the catalogue (as the server publishes them)', () => {
    const types = CATALOGUED_TYPES.filter((type) => namespaceOf(type) === 'knowledge');
    expect(Object.keys(KNOWLEDGE_EVENT_EXAMPLES).sort()).toEqual([...types].sort());
    for (const [type, data] of Object.entries(KNOWLEDGE_EVENT_EXAMPLES)) {
      expect(validateEventInput({ type, data }, { allowServerTypes: true }), type).toMatchObject({ ok: true });
      expect(validateEventInput({ type, data }).ok, `${type} from a client`).toBe(false);
    }
  });
});
