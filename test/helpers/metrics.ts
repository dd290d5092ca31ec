import parsePrometheusTextFormat, { type MetricFamily, type Sample } from 'parse-prometheus-text-format';
import { expect } from 'vitest';
import type { Runtime } from '../../src-main/runtime.ts';
import { api } from './runtime.ts';

export interface Scrape {
  families: Map<string, MetricFamily>;
  /** The sample of `name` whose labels include `labels`; its number (a counter or gauge). */
  value: (name: string, labels?: Record<string, string>) => number;
  sample: (name: string, labels?: Record<string, string>) => Sample | undefined;
  /**
   * The `_count` of one labelled histogram series. The parser folds every series of a
   * labelled histogram into one (it only handles unlabelled ones), so these lines are read
   * from the text, which the parser has accepted as a whole.
   */
  histogramCount: (name: string, labels: Record<string, string>) => number | undefined;
  /** The label sets of a histogram's series, from its `_count` lines. */
  histogramSeries: (name: string) => Record<string, string>[];
}

function countLines(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const prefix = `${name}_count{`;
  return text
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => {
      const close = line.lastIndexOf('}');
      const labels = Object.fromEntries(
        [...line.slice(prefix.length, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
      );
      return { labels, value: Number(line.slice(close + 1).trim()) };
    });
}

/** GET /metrics with the token, parsed by a real Prometheus text-format parser. */
export async function scrape(runtime: Runtime): Promise<Scrape> {
  const res = await api(runtime, '/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const families = new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family]));
  const sample = (name: string, labels: Record<string, string> = {}) =>
    families.get(name)?.metrics.find((m) => Object.entries(labels).every(([key, value]) => m.labels?.[key] === value));
  const matches = (labels: Record<string, string>, wanted: Record<string, string>) =>
    Object.entries(wanted).every(([key, value]) => labels[key] === value);
  return {
    families,
    sample,
    histogramCount: (name, labels) => countLines(text, name).find((line) => matches(line.labels, labels))?.value,
    histogramSeries: (name) => countLines(text, name).map((line) => line.labels),
    value: (name, labels) => {
      const found = sample(name, labels);
      if (found?.value === undefined) throw new Error(`no sample ${name} ${JSON.stringify(labels ?? {})}`);
      return Number(found.value);
    },
  };
}
