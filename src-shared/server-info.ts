import { z } from 'zod';

/** `<workspace>/.lookout/server.json`: how the CLI and other tools find a running server. */
export const ServerInfo = z.object({
  url: z.string(),
  port: z.number().int(),
  pid: z.number().int(),
  token: z.string(),
  version: z.string(),
  started_at: z.string(),
});
export type ServerInfo = z.infer<typeof ServerInfo>;

export const Health = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  /** Equal to server.json's started_at: tells this server from a process that reused its pid. */
  started_at: z.string(),
  uptime_s: z.number(),
  memory_mb: z.number(),
  store: z.object({
    status: z.enum(['ok', 'error']),
    schema_version: z.number().int(),
    last_sequence_number: z.number().int(),
    /** `sqlite` (the default) or `postgres` (team mode). */
    dialect: z.enum(['sqlite', 'postgres']).optional(),
    /** Why the store is not ok, in words (the database URL without its password). */
    error: z.string().optional(),
  }),
  /** `degraded` while lookout.log cannot be written (a full disk): the server keeps serving. */
  log: z.object({
    status: z.enum(['ok', 'degraded']),
    error: z.string().optional(),
    dropped_lines: z.number().int(),
  }),
});
export type Health = z.infer<typeof Health>;
