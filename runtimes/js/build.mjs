// Builds a JavaScript handler into a component of the handler world: run by lambda-sim (src/guest/js.rs) as
//   node build.mjs CODE STAGE DEFAULT_HANDLER OUT
// CODE is the function's folder (or one file). Each of its top-level modules (.mjs, .js, .cjs) is bundled by esbuild
// into CommonJS text that the runtime evaluates in init; a module that does not bundle (a syntax error, an import that
// cannot be resolved) is kept as the error Lambda would report when init imports it, and reported here as a warning
// with its file, line and column. STAGE holds the runtime, the bundles and the WIT world; OUT is the component.
import { build } from 'esbuild';
import { componentize } from '@bytecodealliance/componentize-js';
import { readdirSync, statSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [code, stage, defaultHandler, out] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const root = statSync(code).isDirectory() ? resolve(code) : dirname(resolve(code));
const files = statSync(code).isDirectory()
  ? readdirSync(root).filter((f) => ['.mjs', '.js', '.cjs'].includes(extname(f)))
  : [basename(code)];

const sources = {};
for (const file of files.sort()) {
  const name = basename(file, extname(file));
  const shown = `/var/task/${file}`;
  try {
    const result = await build({
      entryPoints: [join(root, file)],
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
      absWorkingDir: root,
    });
    sources[name] = { file: shown, source: result.outputFiles[0].text };
  } catch (e) {
    const first = (e.errors && e.errors[0]) || { text: String(e) };
    const where = first.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}` : file;
    const unresolved = /Could not resolve/.test(first.text);
    console.error(`lambda-sim: warning: ${where}: ${first.text}`);
    sources[name] = {
      file: shown,
      error: unresolved
        ? {
            type: 'Runtime.ImportModuleError',
            // As Node.js words it on Lambda.
            message: `Error: Cannot find package '${(first.text.match(/"([^"]+)"/) || [])[1] ?? first.text}' imported from ${shown}`,
            trace: [],
          }
        : {
            type: 'Runtime.UserCodeSyntaxError',
            message: `SyntaxError: ${first.text}`,
            trace: [`    at ${shown}:${first.location ? first.location.line : 0}`],
          },
    };
  }
}

mkdirSync(join(stage, 'wit'), { recursive: true });
copyFileSync(join(here, 'lambda_sim_runtime.js'), join(stage, 'lambda_sim_runtime.js'));
copyFileSync(join(here, 'handler.wit'), join(stage, 'wit', 'handler.wit'));
writeFileSync(
  join(stage, 'lambda_sim_sources.js'),
  `// Written by lambda-sim for this build.\nexport const SOURCES = ${JSON.stringify(sources)};\n` +
    `export const DEFAULT_HANDLER = ${JSON.stringify(defaultHandler)};\n`,
);
const { component } = await componentize({
  sourcePath: join(stage, 'lambda_sim_runtime.js'),
  witPath: join(stage, 'wit'),
  worldName: 'handler',
  // No outbound HTTP: a handler reaches downstream services through the world's `services` interface.
  disableFeatures: ['http', 'fetch-event'],
});
writeFileSync(out, component);
