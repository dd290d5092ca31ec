import path from 'node:path';
import { z } from 'zod';

/** What one launch asks of the app. A second launch hands it to the first. */
export const LaunchRequest = z.strictObject({
  workspace: z
    .string()
    .min(1)
    .refine((dir) => path.isAbsolute(dir), { error: 'must be an absolute path' })
    .optional(),
});
export type LaunchRequest = z.infer<typeof LaunchRequest>;

/**
 * Reads `--workspace DIR` / `--workspace=DIR` from a command line, resolving a relative
 * DIR against the directory the launch happened in (for a second launch that is the
 * second process's directory, not ours). The last occurrence wins, as with most CLIs.
 * Everything else on the line — Electron's and Chromium's own switches, the app path
 * in development — is ignored, not rejected: those are not ours to judge.
 */
export function parseLaunchArgs(argv: readonly string[], cwd: string): LaunchRequest {
  let workspace: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg === '--workspace') {
      const value = argv[i + 1];
      if (value !== undefined && !value.startsWith('--')) {
        workspace = value;
        i++;
      }
    } else if (arg.startsWith('--workspace=')) {
      const value = arg.slice('--workspace='.length);
      if (value) workspace = value;
    }
  }
  return workspace === undefined ? {} : { workspace: path.resolve(cwd, workspace) };
}

/**
 * What a second launch asked for. The first instance gets both the second one's argv
 * and the `additionalData` it passed to requestSingleInstanceLock; the latter is
 * preferred (Chromium may reorder or add switches to argv) but only once it validates —
 * it comes from another process, so it is input like any other.
 */
export function secondInstanceRequest(
  argv: readonly string[],
  workingDirectory: string,
  additionalData: unknown,
): LaunchRequest {
  const data = LaunchRequest.safeParse(additionalData);
  if (data.success && data.data.workspace !== undefined) return data.data;
  return parseLaunchArgs(argv, workingDirectory);
}
