import { h } from './dom.js';

/**
 * Image blocks of a tool's result, shown as images. Only raster types a
 * browser decodes without running anything: an SVG is a document, so it —
 * like any other type an upstream names — stays in the JSON as sent. The
 * bytes go to the `<img>` as a blob URL made by this page (the CSP admits
 * `blob:`, never `data:` or another origin), so a result cannot make the
 * browser fetch anything.
 */
const SHOWN_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']);

interface ImageBlock {
  type: 'image';
  data: string;
  mimeType: string;
}

function isShownImage(block: unknown): block is ImageBlock {
  const candidate = block as Partial<ImageBlock> | null;
  return (
    candidate?.type === 'image' &&
    typeof candidate.data === 'string' &&
    typeof candidate.mimeType === 'string' &&
    SHOWN_TYPES.has(candidate.mimeType)
  );
}

/** The blocks of an MCP content array this page shows as images. */
export function imagesOf(content: unknown): ImageBlock[] {
  return Array.isArray(content) ? content.filter(isShownImage) : [];
}

/** One figure per image block; a block whose data does not decode says so instead. */
export function figures(images: readonly ImageBlock[]): HTMLElement[] {
  return images.map((block, index) => {
    const label = `Image ${index + 1} of ${images.length} in the result (${block.mimeType})`;
    const bytes = decodeBase64(block.data);
    if (bytes === null) return h('p', { class: 'hint' }, `${label} is not valid base64 and is not shown.`);
    const url = URL.createObjectURL(new Blob([bytes], { type: block.mimeType }));
    const figure = h('figure', { class: 'result-image' });
    const image = h('img', { src: url, alt: label });
    // The decoded picture stays on screen once loaded; the URL is not needed after that.
    image.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
    image.addEventListener(
      'error',
      () => {
        URL.revokeObjectURL(url);
        figure.replaceChildren(h('p', { class: 'hint' }, `${label} could not be decoded as ${block.mimeType}.`));
      },
      { once: true },
    );
    figure.append(image, h('figcaption', {}, `${block.mimeType}, ${bytes.length.toLocaleString()} bytes`));
    return figure;
  });
}

/**
 * The result as JSON, with the data of each image shown above replaced by a
 * note: kilobytes of base64 say nothing to a reader (the API returns them
 * whole). Only when the result is the content array itself — its blocks are
 * the ones drawn; a result that is structured content or a text block's JSON
 * is shown as sent, whatever it holds.
 */
export function withImagesElided(result: unknown, content: unknown): unknown {
  if (!Array.isArray(result) || JSON.stringify(result) !== JSON.stringify(content)) return result;
  return result.map((block: unknown) =>
    isShownImage(block) && decodeBase64(block.data) !== null
      ? { ...block, data: `(${block.data.length} base64 characters: the image above)` }
      : block,
  );
}

function decodeBase64(data: string): Uint8Array<ArrayBuffer> | null {
  try {
    return Uint8Array.from(atob(data), (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}
