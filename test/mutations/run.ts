/**
 * Applies each mutation of catalogue.ts to src/, runs only its test file, and
 * restores the file, printing one Markdown row per mutation: the test must go red.
 *
 *   npm run test:mutations                 # all of them
 *   npm run test:mutations -- cors sealed  # those whose feature mentions a word
 *   MUTATION_VERBOSE=1 npm run test:mutations -- cors   # with vitest's output
 *
 * Refuses to start when src/ has uncommitted changes, and always writes the
 * original text back (also on Ctrl-C), so it never leaves a breakage behind.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { applyMutation, MUTATIONS, type Mutation } from './catalogue.js';

function run(mutation: Mutation): 'red' | 'GREEN' {
  const original = readFileSync(mutation.file, 'utf8');
  const restore = () => writeFileSync(mutation.file, original);
  const interrupted = () => {
    restore();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  try {
    writeFileSync(mutation.file, applyMutation(original, mutation));
    const filter = mutation.name ? ['-t', mutation.name] : [];
    const result = spawnSync('npx', ['vitest', 'run', '--project', mutation.project ?? 'sqlite', mutation.test, ...filter], {
      stdio: process.env.MUTATION_VERBOSE ? 'inherit' : 'ignore',
    });
    return result.status === 0 ? 'GREEN' : 'red';
  } finally {
    restore();
    process.off('SIGINT', interrupted);
  }
}

const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).stdout.trim();
if (dirty) {
  process.stderr.write(`src/ has uncommitted changes; commit or stash them first:\n${dirty}\n`);
  process.exit(2);
}
const words = process.argv.slice(2).map((w) => w.toLowerCase());
const selected = MUTATIONS.filter((m) => words.length === 0 || words.some((w) => m.feature.toLowerCase().includes(w)));
for (const m of selected) applyMutation(readFileSync(m.file, 'utf8'), m); // every breakage still applies, before running any
let survivors = 0;
process.stdout.write('| feature | breakage | test | project | result |\n| --- | --- | --- | --- | --- |\n');
for (const mutation of selected) {
  const started = Date.now();
  const result = run(mutation);
  if (result === 'GREEN') survivors += 1;
  const breakage = `\`${mutation.file}\`: ${JSON.stringify(mutation.find.split('\n')[0]?.trim())} → ${JSON.stringify(mutation.replace.split('\n')[0]?.trim())}`;
  process.stdout.write(
    `| ${mutation.feature} | ${breakage} | \`${mutation.test}\` | ${mutation.project ?? 'sqlite'} | ${result} (${Math.round((Date.now() - started) / 1000)} s) |\n`,
  );
}
process.exit(survivors > 0 ? 1 : 0);
