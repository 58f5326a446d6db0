// Generates the TypeScript declarations of the platform's WIT (world `service`, as a guest
// sees it: `declare module 'plughost:platform/orm@0.1.0'` ...) into types/wit with jco's type
// generator. `--check` regenerates in memory and fails when the checked-in files differ.
//
//     npm run types          # after changing wit/
//     npm run check-types    # what the integration test runs
//
// jco's CLI (`jco guest-types ../../wit`) cannot read the folder on this machine (its WASI
// filesystem shim answers ENOENT), so the WIT files are handed over as one source text,
// which is the same package.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { $init, generateTypes } from '@bytecodealliance/jco-transpile/component';

const here = dirname(fileURLToPath(import.meta.url));
const witDir = join(here, '../../../wit');
const outDir = join(here, '../types/wit');
const check = process.argv.includes('--check');

const header = 'package plughost:platform@0.1.0;';
const source = [header]
  .concat(
    readdirSync(witDir)
      .filter((name) => name.endsWith('.wit'))
      .sort()
      .map((name) => {
        const text = readFileSync(join(witDir, name), 'utf8');
        if (!text.includes(header)) throw new Error(`${name} is not in package plughost:platform@0.1.0`);
        return `// ${name}\n${text.replace(header, '')}`;
      }),
  )
  .join('\n');

await $init;
const files = generateTypes('service', {
  wit: { tag: 'source', val: source },
  world: 'service',
  guest: true,
  tlaCompat: false,
  features: { tag: 'list', val: [] },
});

const listed = (dir, prefix = '') =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? listed(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
      )
    : [];

if (check) {
  const problems = [];
  const generated = new Set(files.map(([name]) => name));
  for (const [name, content] of files) {
    const path = join(outDir, name);
    if (!existsSync(path)) problems.push(`missing: types/wit/${name}`);
    else if (readFileSync(path, 'utf8') !== new TextDecoder().decode(content)) problems.push(`differs: types/wit/${name}`);
  }
  for (const name of listed(outDir)) {
    if (!generated.has(name)) problems.push(`not generated from wit/: types/wit/${name}`);
  }
  if (problems.length > 0) {
    console.error(`the TypeScript declarations do not match wit/; run \`npm run types\` in guest-sdk/js:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`types/wit matches wit/ (${files.length} files)`);
} else {
  rmSync(outDir, { recursive: true, force: true });
  for (const [name, content] of files) {
    mkdirSync(dirname(join(outDir, name)), { recursive: true });
    writeFileSync(join(outDir, name), content);
  }
  console.log(`wrote ${files.length} files to types/wit`);
}
