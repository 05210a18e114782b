/**
 * The token lives in sessionStorage only: it goes when the tab closes, is never
 * put in a URL, and sign-out removes it.
 */
const KEY = 'tmws.token';

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}

/** A message for the sign-in page after a forced sign-out (expired token), shown once. */
const MESSAGE_KEY = 'tmws.signin-message';

export function setSignInMessage(message: string): void {
  sessionStorage.setItem(MESSAGE_KEY, message);
}

export function takeSignInMessage(): string | null {
  const message = sessionStorage.getItem(MESSAGE_KEY);
  sessionStorage.removeItem(MESSAGE_KEY);
  return message;
}
