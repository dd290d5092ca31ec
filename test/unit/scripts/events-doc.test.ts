import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOGUE, CATALOGUED_TYPES } from '../../../src-shared/events.ts';
import { EVENTS_DOC, formattedEventsDoc, renderEventsDoc } from '../../../scripts/events-doc.ts';

describe('docs/events.md', () => {
  it('is what the schemas in src-shared/events.ts say (regenerate with `npm run docs:events`)', async () => {
    const checkedIn = fs.readFileSync(EVENTS_DOC, 'utf8');
    expect(checkedIn, 'docs/events.md is stale: run `npm run docs:events`').toBe(await formattedEventsDoc());
  });

  it('has a section for every catalogued type, and each required field is marked required', () => {
    const page = renderEventsDoc();
    for (const type of CATALOGUED_TYPES) {
      expect(page).toContain(`### \`${type}\``);
      const section = page.slice(page.indexOf(`### \`${type}\``)).split('\n### ')[0]!;
      const shape = CATALOGUE[type].shape as Record<string, { safeParse: (v: unknown) => { success: boolean } }>;
      for (const [field, schema] of Object.entries(shape)) {
        // A field is required exactly when leaving it out fails validation.
        const required = !schema.safeParse(undefined).success;
        expect(section, `${type}.${field}`).toMatch(
          new RegExp(`\\| \`${field}\` \\|[^|]*\\| ${required ? 'yes' : 'no'} \\|`),
        );
      }
    }
  });
});
