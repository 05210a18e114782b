/** Header fields as Node's HTTP parser and undici give them: lower-case names, repeated fields as arrays. */
export type HeaderFields = Readonly<Record<string, string | string[] | undefined>>;

/** One header's value as a WHATWG `Headers.get` reads it: null when absent, repeated fields joined by ", ". */
export function headerValue(headers: HeaderFields, lowerCaseName: string): string | null {
  const value = headers[lowerCaseName];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}
