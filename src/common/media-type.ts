/** The media type of a Content-Type value, lower-cased and without parameters (`text/event-stream`). */
export function mediaTypeOf(contentType: string | null | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase();
}
