/** Bearer-key authentication, checked in `onRequest` so no body is read for a refused call. */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** A constant-time check of `Authorization: Bearer <key>` against the deployment key. */
export function bearerChecker(apiKey: string): (authorization: string | undefined) => boolean {
  const expected = digest(apiKey);
  return (authorization) => {
    if (!authorization || !authorization.startsWith('Bearer ')) return false;
    return timingSafeEqual(digest(authorization.slice(7).trim()), expected);
  };
}
