import type { FastifyInstance } from 'fastify';
import { jsonTextTooDeep, MAX_JSON_DEPTH } from '../common/json-depth.js';
import { ValidationError } from '../errors/index.js';

const forbiddenKeys = () =>
  ValidationError.field('body', 'Request body must not contain a "__proto__" key, or a "constructor" key holding "prototype"');

/** Only asked on the error path: whether plain JSON.parse reads what the guarded parser refused. */
function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every `application/json` body (REST and `/graphql`): Fastify's own parser
 * (prototype-poisoning protection included), behind a nesting bound of
 * MAX_JSON_DEPTH — deeper is a 400 VALIDATION_ERROR, never a stack overflow
 * later on (SPEC §14). The size bound (413) is Fastify's `bodyLimit`.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, raw, done) => {
    const body = raw.toString(); // parseAs 'string': already a string
    // No body at all, though the client labelled it JSON (many send the header on every request, a DELETE
    // included): the same as no body, not a JSON syntax error.
    if (body === '') {
      done(null, undefined);
      return;
    }
    if (jsonTextTooDeep(body)) {
      done(ValidationError.field('body', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`, { max_depth: MAX_JSON_DEPTH }), undefined);
      return;
    }
    // Callback style: the outcome goes to `done`; the typing also allows a promise, which this form never returns.
    void parseJson(request, body, (error, value) => {
      // Fastify reports a refused "__proto__" key as "not valid JSON"; say what was refused instead.
      if (error && isJson(body)) done(forbiddenKeys(), undefined);
      else done(error, value);
    });
  });
}
