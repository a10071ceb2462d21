// CSRF protection by double submit: every page with a form sets a random token in a SameSite=Strict,
// HttpOnly cookie and the same token in a hidden field; a POST must carry both, equal. Another site can
// neither read the cookie nor make the browser send it.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const CSRF_COOKIE = 'pgfn_csrf';
export const CSRF_FIELD = '_csrf';

export function newCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return decodeURIComponent(part.slice(at + 1).trim());
  }
  return undefined;
}

export function csrfCookie(token: string, secure: boolean): string {
  return `${CSRF_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** Whether the posted field matches the cookie (both present, same length, equal in constant time). */
export function csrfValid(cookieHeader: string | undefined, field: unknown): boolean {
  const cookie = cookieValue(cookieHeader, CSRF_COOKIE);
  if (cookie === undefined || typeof field !== 'string' || field.length !== cookie.length || cookie.length < 32) return false;
  return timingSafeEqual(Buffer.from(cookie), Buffer.from(field));
}
