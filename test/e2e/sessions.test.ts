import { describe, expect, it } from 'vitest';
import { api, startRuntime } from '../helpers/runtime.ts';
import { useChromium } from './use-chromium.ts';

/** The Sessions view end to end: spans in over OTLP, a session row, its models, a waterfall, a price. */

const chromium = useChromium();

const TRACE = 'abcdefabcdefabcdefabcdefabcdef01';
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
const int = (key: string, value: number) => ({ key, value: { intValue: String(value) } });
const at = (ms: number) => String((BigInt(Date.now()) + BigInt(ms)) * 1_000_000n);

describe('the Sessions view', () => {
  it('lists a session with its tokens, expands per model, draws the trace, and costs with an edited price', async () => {
    const runtime = await startRuntime();
    const ingest = await api(runtime, '/v1/traces', {
      method: 'POST',
      json: {
        resourceSpans: [
          {
            resource: { attributes: [str('service.name', 'e2e-agent'), str('session.id', 'session-e2e')] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: TRACE,
                    spanId: '0000000000000001',
                    name: 'invoke_agent',
                    startTimeUnixNano: at(0),
                    endTimeUnixNano: at(4000),
                  },
                  {
                    traceId: TRACE,
                    spanId: '0000000000000002',
                    parentSpanId: '0000000000000001',
                    name: 'chat gpt-4o',
                    startTimeUnixNano: at(500),
                    endTimeUnixNano: at(2500),
                    attributes: [
                      str('gen_ai.request.model', 'gpt-4o'),
                      int('gen_ai.usage.input_tokens', 2000),
                      int('gen_ai.usage.output_tokens', 100),
                    ],
                  },
                ],
              },
            ],
          },
        ],
      },
    });
    expect(ingest.status).toBe(200);

    const { page, errors } = await chromium.open(runtime);
    await page.getByRole('button', { name: 'Sessions' }).click();
    const row = page.getByRole('row', { name: /session-e2e/ });
    await row.waitFor();
    expect(await row.textContent()).toContain('e2e-agent');
    expect(await row.textContent()).toContain('2000');
    await row.click();
    await page.getByRole('cell', { name: 'gpt-4o', exact: true }).waitFor();
    await page.getByRole('button', { name: TRACE.slice(0, 8) }).click();
    const waterfall = page.getByLabel(`trace ${TRACE}`);
    await waterfall.getByText('chat gpt-4o').waitFor();
    expect(await waterfall.getByText('invoke_agent').count()).toBe(1);

    await page.getByRole('button', { name: 'Prices' }).click();
    await page.getByRole('button', { name: 'Add a model' }).click();
    await page.getByLabel('model', { exact: true }).fill('gpt-4o');
    await page.getByLabel('input price').fill('5');
    await page.getByLabel('output price').fill('10');
    await page.getByRole('button', { name: 'Save prices' }).click();
    await page.getByText('Saved.').waitFor();
    // 2000 × $5/M + 100 × $10/M = $0.0110
    await page.getByRole('row', { name: /session-e2e.*\$0\.0110/ }).waitFor();
    expect(errors).toEqual([]);
  });
});
