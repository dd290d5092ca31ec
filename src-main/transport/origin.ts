import type { IncomingMessage } from 'node:http';
import { LookoutError } from '../errors.ts';

/**
 * Whether a request comes from another origin, including another port on this machine
 * (which browsers count as the same *site*): an `Origin` that is not ours, or a
 * `Sec-Fetch-Site` of another site or another origin of this site without one.
 * Origins listed in LOOKOUT_CORS_ORIGINS are trusted on purpose.
 */
export function foreignOrigin(req: IncomingMessage, allowedOrigins: ReadonlySet<string>): LookoutError | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedOrigins.has(origin))
    return new LookoutError(
      'forbidden_origin',
      `Origin ${origin.slice(0, 200)} may not write here or open a stream; add it to LOOKOUT_CORS_ORIGINS if you trust it`,
    );
  const site = req.headers['sec-fetch-site'];
  if ((site === 'cross-site' || site === 'same-site') && origin === undefined)
    return new LookoutError('forbidden_origin', `a ${site} request may not write here`);
  return undefined;
}
