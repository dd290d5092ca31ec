import type { Role, SignInResponse, User } from '../../src-shared/access.ts';
import type { Runtime } from '../../src-main/runtime.ts';
import { api } from './runtime.ts';

/** A signed-in browser-like session: the access token, the refresh cookie and the binding. */
export interface Signed {
  access: string;
  cookie: string;
  binding: string;
  body: SignInResponse;
  setCookie: string;
}

export function refreshCookieOf(response: Response): { cookie: string; setCookie: string } {
  const setCookie = response.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0] ?? '', setCookie };
}

export async function signedFrom(response: Response): Promise<Signed> {
  if (response.status !== 200) throw new Error(`sign-in answered ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as SignInResponse;
  const { cookie, setCookie } = refreshCookieOf(response);
  return { access: body.access_token, binding: body.refresh_binding, body, cookie, setCookie };
}

export const signIn = (runtime: Runtime, json: unknown, headers: Record<string, string> = {}) =>
  fetch(`${runtime.url}/api/v1/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(json),
  });

export async function addUser(
  runtime: Runtime,
  name: string,
  role: Role,
  password = 'correct horse battery',
): Promise<User> {
  const response = await api(runtime, '/api/v1/users', { method: 'POST', json: { name, role, password } });
  if (response.status !== 201)
    throw new Error(`creating ${name} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as User;
}

export async function userSession(runtime: Runtime, name: string, role: Role): Promise<Signed> {
  await addUser(runtime, name, role);
  return signedFrom(await signIn(runtime, { name, password: 'correct horse battery' }));
}

export const refresh = (runtime: Runtime, signed: { cookie?: string; binding?: string }) =>
  fetch(`${runtime.url}/api/v1/auth/refresh`, {
    method: 'POST',
    headers: {
      ...(signed.cookie ? { cookie: signed.cookie } : {}),
      ...(signed.binding ? { 'x-refresh-binding': signed.binding } : {}),
    },
  });

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
