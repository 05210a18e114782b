import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { build } from 'esbuild';
import { DASHBOARD_BUILD, DASHBOARD_SOURCE } from './location.js';

export interface DashboardBuild {
  /** Asset file names (under assets/), content-hashed. */
  assets: string[];
  /** Total bytes of index.html and the assets, uncompressed. */
  bytes: number;
}

/**
 * Bundles the dashboard with esbuild: one minified ES module and one style
 * sheet, named by content hash, and index.html pointing at them. Runs in
 * `npm install` (prepare) and `npm test` (pretest), after codegen, whose
 * dashboard/gql/ documents the bundle imports.
 *
 * The new build is written beside the old one and swapped in by two renames:
 * a gateway serving the folder (or a second `npm test` starting) never finds
 * it half written or gone.
 */
export async function buildDashboard(outdir = DASHBOARD_BUILD): Promise<DashboardBuild> {
  const staging = `${outdir}.${process.pid}.new`;
  rmSync(staging, { recursive: true, force: true });
  try {
    const built = await buildInto(staging);
    const retired = `${outdir}.${process.pid}.old`;
    // Another build may swap its own folder in between our two renames: then ours goes in on the next try.
    for (let attempt = 1; ; attempt++) {
      rmSync(retired, { recursive: true, force: true });
      renameIfPresent(outdir, retired);
      try {
        renameSync(staging, outdir);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (attempt === 3 || (code !== 'ENOTEMPTY' && code !== 'EEXIST')) throw error;
      }
    }
    rmSync(retired, { recursive: true, force: true });
    return built;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

async function buildInto(outdir: string): Promise<DashboardBuild> {
  const assetsDir = join(outdir, 'assets');
  const result = await build({
    entryPoints: { app: join(DASHBOARD_SOURCE, 'src/main.ts'), styles: join(DASHBOARD_SOURCE, 'src/styles.css') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome111', 'firefox115', 'safari16.4'],
    entryNames: '[name]-[hash]',
    outdir: assetsDir,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    tsconfig: join(DASHBOARD_SOURCE, 'tsconfig.json'),
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
  const script = outputs.find((name) => name.startsWith('app-') && name.endsWith('.js'));
  const styles = outputs.find((name) => name.startsWith('styles-') && name.endsWith('.css'));
  if (!script || !styles) throw new Error(`dashboard build: missing outputs in ${outputs.join(', ')}`);
  // The page's icon, named by content hash like the bundle (browsers ask for one; without it every load logs a 404).
  const iconBody = readFileSync(join(DASHBOARD_SOURCE, 'icon.svg'));
  const icon = `icon-${createHash('sha256').update(iconBody).digest('hex').slice(0, 8).toUpperCase()}.svg`;
  writeFileSync(join(assetsDir, icon), iconBody);
  const html = readFileSync(join(DASHBOARD_SOURCE, 'index.html'), 'utf8')
    .replace('{{script}}', script)
    .replace('{{styles}}', styles)
    .replace('{{icon}}', icon);
  mkdirSync(outdir, { recursive: true });
  writeFileSync(join(outdir, 'index.html'), html);
  const bytes =
    Buffer.byteLength(html) + iconBody.length + Object.entries(result.metafile.outputs).reduce((sum, [, output]) => sum + output.bytes, 0);
  return { assets: [...outputs, icon].map((name) => relative(assetsDir, join(assetsDir, name))), bytes };
}
