import { z } from 'zod';

/**
 * Wire shapes and names of the access layer (principals, roles, tokens), shared by the
 * server, the dashboard and the CLI.
 */

/** Roles, each including the one before. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** What a route needs: a role, or nothing at all (`public`). */
export const REQUIRED_ROLES = ['public', ...ROLES] as const;
export type RequiredRole = (typeof REQUIRED_ROLES)[number];

/** Whether a principal holding `have` may use something that needs `need`. */
export function roleAllows(have: Role | undefined, need: RequiredRole): boolean {
  if (need === 'public') return true;
  if (have === undefined) return false;
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** What each role may do, in words (the docs and the dashboard's tooltips use it). */
export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  viewer: 'read anything: history, streams, state, lists, docs',
  operator: 'also publish events, run commands and collections, create and start tasks, post to discussions',
  admin: 'also manage users, agents and settings, rotate the signing key',
};

// Names on the wire (the header and cookie names are in protocol.ts with the others).
/** Where the page keeps its refresh binding (localStorage is per origin, so per port). */
export const REFRESH_BINDING_STORAGE_KEY = 'lookout.refresh_binding';
/** Close code for a WebSocket whose access token expired: reconnect with a fresh one. */
export const CLOSE_TOKEN_EXPIRED = 4401;
/** Close code for a WebSocket whose principal was disabled or signed out everywhere. */
export const CLOSE_REVOKED = 4403;

/**
 * A user's name: 1–64 letters (any script), digits, `.`, `_`, `-`, compared after NFC
 * normalisation and case folding, so `Zoë` and `zoë` are one name.
 */
export const UserName = z
  .string()
  .min(1, 'a name needs at least one character')
  .max(64, 'a name has at most 64 characters')
  // Combining marks are allowed so a decomposed `Zoë` is the same name as a composed one.
  .regex(/^[\p{L}\p{M}\p{N}._-]+$/u, 'a name has letters, digits, ".", "_" or "-" only')
  .transform((name) => name.normalize('NFC'));

/** Passwords: 8–1024 characters (longer is refused before any hashing). */
export const Password = z
  .string()
  .min(8, 'a password needs at least 8 characters')
  .max(1024, 'a password has at most 1024 characters');

export const SignInRequest = z.union([
  z.strictObject({
    name: z.string().max(256),
    password: z.string().max(1024, 'a password has at most 1024 characters'),
  }),
  z.strictObject({ code: z.string().min(1).max(256) }),
  z.strictObject({ token: z.string().min(1).max(1024) }),
]);
export type SignInRequest = z.infer<typeof SignInRequest>;

export const Principal = z.object({
  id: z.string(),
  name: z.string(),
  role: Role,
});
export type Principal = z.infer<typeof Principal>;

export const SignInResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('seconds until the access token expires'),
  refresh_binding: z.string().describe('send as X-Refresh-Binding with the refresh cookie to /auth/refresh'),
  user: Principal,
});
export type SignInResponse = z.infer<typeof SignInResponse>;

export const TicketResponse = z.object({
  ticket: z.string().describe('single use: connect with /ws?ticket=… or /api/v1/sse?ticket=…'),
  expires_in: z.number().int(),
});
export type TicketResponse = z.infer<typeof TicketResponse>;

export const CodeResponse = z.object({
  code: z.string().describe('single use; sign in with {"code"} within expires_in seconds'),
  expires_in: z.number().int(),
});
export type CodeResponse = z.infer<typeof CodeResponse>;

export const User = z.object({
  id: z.string(),
  name: z.string(),
  role: Role,
  created_at: z.string(),
  last_sign_in_at: z.string().nullable(),
  disabled: z.boolean(),
});
export type User = z.infer<typeof User>;

export const UsersList = z.object({ users: z.array(User) });
export type UsersList = z.infer<typeof UsersList>;

export const CreateUserRequest = z.strictObject({
  name: UserName,
  role: Role,
  password: Password,
});
export type CreateUserRequest = z.input<typeof CreateUserRequest>;

export const UpdateUserRequest = z
  .strictObject({
    role: Role.optional(),
    password: Password.optional(),
    disabled: z.boolean().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'send at least one of role, password, disabled');
export type UpdateUserRequest = z.infer<typeof UpdateUserRequest>;
