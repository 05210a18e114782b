/**
 * Keeps the mutation audit replayable: every breakage in the catalogue must
 * still find its text in src/ exactly where it says, so a refactoring that
 * moves the code fails here, not silently months later in `npm run test:mutations`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyMutation, MUTATIONS } from './catalogue.js';

describe('mutation catalogue', () => {
  it.each(MUTATIONS.map((m) => [m.feature, m] as const))('%s still applies to src/', (_feature, mutation) => {
    const source = readFileSync(mutation.file, 'utf8');
    expect(applyMutation(source, mutation)).not.toBe(source);
  });
});
