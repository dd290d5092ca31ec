import { CliError } from './output.ts';

/**
 * The item a person named by its id or an unambiguous prefix of it (at least 4
 * characters), as git names commits; otherwise one line saying what to do.
 */
export function findByIdPrefix<T extends { id: string }>(
  items: readonly T[],
  ref: string,
  noun: string,
  listCommand: string,
): T {
  const exact = items.find((item) => item.id === ref);
  if (exact) return exact;
  const matches = ref.length >= 4 ? items.filter((item) => item.id.startsWith(ref)) : [];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1)
    throw new CliError(`${noun} id ${ref} is ambiguous (${matches.length} ${noun}s); give more of it`);
  throw new CliError(`no ${noun} ${JSON.stringify(ref)}; \`${listCommand}\` shows them`);
}
