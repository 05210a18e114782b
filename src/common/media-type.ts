/** The media type of a Content-Type value, lower-cased and without parameters (`text/event-stream`). */
export function mediaTypeOf(contentType: string | null | undefined): string | undefined {
  if (contentType === null || contentType === undefined) return undefined;
  // Read several times per request: no array from split().
  const end = contentType.indexOf(';');
  return (end < 0 ? contentType : contentType.slice(0, end)).trim().toLowerCase();
}
