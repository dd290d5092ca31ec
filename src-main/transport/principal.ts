import type { Context } from 'koa';
import type { Principal } from '../../src-shared/access.ts';

/** Who is making a request, and how they proved it (decided by access/, read by any route). */
export interface AuthPrincipal extends Principal {
  kind: 'owner' | 'user';
  via: 'owner_token' | 'access_token' | 'ticket';
  /** When the credential stops being valid (epoch ms); undefined for the owner token. */
  expiresAt?: number;
}

interface AuthState {
  principal?: AuthPrincipal | null;
}

/** The request's principal, once the access guard has run (undefined for public routes without a credential). */
export const principalOf = (ctx: Context): AuthPrincipal | undefined => (ctx.state as AuthState).principal ?? undefined;
