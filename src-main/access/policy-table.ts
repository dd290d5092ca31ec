import { REQUIRED_ROLES } from '../../src-shared/access.ts';
import type { Route } from '../http/route.ts';

/**
 * The route policies as a Markdown table (docs/security.md embeds it; a test keeps the
 * two in step), one row per mounted route, grouped by the role it needs.
 */
export function policyTable(routes: readonly { prefix: string; route: Route }[]): string {
  const rows = [...routes]
    .map(({ prefix, route }) => ({
      role: route.policy.role,
      method: route.method.toUpperCase(),
      path: `${prefix}${route.path}`,
      readOnly: route.policy.readOnly === 'blocked' ? 'refused (423)' : 'allowed',
      summary: route.summary.replaceAll('|', '\\|'),
    }))
    .sort(
      (a, b) =>
        REQUIRED_ROLES.indexOf(a.role) - REQUIRED_ROLES.indexOf(b.role) ||
        a.path.localeCompare(b.path) ||
        a.method.localeCompare(b.method),
    );
  return [
    '| needs | method | path | in read-only mode | what |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.role} | ${r.method} | \`${r.path}\` | ${r.readOnly} | ${r.summary} |`),
  ].join('\n');
}
