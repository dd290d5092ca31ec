import { z } from 'zod';

/**
 * Every error the API returns, with the HTTP status it travels with. Clients (dashboard,
 * CLI) switch on `code`; `message` is for humans and may change.
 */
export const ERROR_STATUS = {
  invalid_input: 400,
  invalid_json: 400,
  unknown_command: 400,
  /** Not HTTP Node can parse: a bad method token, a bad Content-Length, a broken chunk. */
  malformed_request: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  token_expired: 401,
  forbidden: 403,
  forbidden_host: 403,
  forbidden_origin: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  name_taken: 409,
  merge_conflict: 409,
  payload_too_large: 413,
  upgrade_required: 426,
  unsupported_media_type: 415,
  read_only: 423,
  rate_limited: 429,
  headers_too_large: 431,
  internal: 500,
  unavailable: 503,
  insufficient_storage: 507,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().regex(/^[a-z][a-z0-9_]*$/),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** One field that failed validation: `path` is dotted (`events.3.type`), `message` says why. */
export const FieldIssue = z.object({ path: z.string(), message: z.string() });
export type FieldIssue = z.infer<typeof FieldIssue>;

/** Turns zod issues into the `details` of an `invalid_input` error. */
export function fieldIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join('.') || '(root)',
    message: issue.message,
  }));
}
