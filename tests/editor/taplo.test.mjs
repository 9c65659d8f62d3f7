// What taplo (the TOML toolkit behind the Even Better TOML extension; here its CLI, the `taplo`
// wheel) does with the published schemas on TOML connection files. The README's editor table says
// exactly this; a case that starts behaving differently fails here, so the table gets revisited.
//
// Measured: taplo reads a 2020-12 schema as draft-07. It enforces `type`, `enum`, bounds,
// `required`, `additionalProperties` (so `openai_client_kwargs` is closed) and `if`/`then` (so
// `custom` with both sources is flagged), and it ignores `unevaluatedProperties`: a misspelt key
// at the top of an `extra`, or a key of another provider, is not flagged.
//
// Run by `cargo xtask editor-test`, which installs taplo into a venv under target/ (TAPLO) and
// writes the site (SITE_DIR).

import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const siteDir = process.env.SITE_DIR ? path.resolve(process.env.SITE_DIR) : path.join(root, 'target', 'site');
const taplo = process.env.TAPLO;
const work = path.join(path.dirname(siteDir), 'taplo-work');
const extraSchema = pathToFileURL(path.join(root, 'schema', 'openai-connection-extra.schema.json')).href;
const connectionSchema = pathToFileURL(path.join(root, 'schema', 'openai-connection.schema.json')).href;

/** `taplo lint` on `file`: the errors as `line:column message`, sorted and deduplicated. */
async function lint(file, schema, config) {
  assert.ok(taplo && existsSync(taplo), 'TAPLO names the taplo program (run cargo xtask editor-test)');
  const settings = config ? ['--config', config] : ['--no-auto-config'];
  const args = ['lint', ...settings, '--colors', 'never', ...(schema ? ['--schema', schema] : []), file];
  let output;
  try {
    const { stdout, stderr } = await run(taplo, args, { cwd: work });
    output = stdout + stderr;
  } catch (error) {
    output = (error.stdout ?? '') + (error.stderr ?? '');
    assert.equal(error.code, 1, `taplo failed to run: ${output}`);
  }
  // Each error is "error: MESSAGE" followed by "┌─ PATH:LINE:COLUMN".
  const found = new Set();
  const lines = output.split('\n');
  lines.forEach((line, index) => {
    const message = line.match(/^error: (.*)$/)?.[1];
    const at = lines[index + 1]?.match(/┌─ .*:(\d+):(\d+)$/);
    if (message && at) found.add(`${at[1]}:${at[2]} ${message}`);
  });
  return [...found].sort();
}

let counter = 0;
async function lintText(text, schema = extraSchema) {
  const file = path.join(work, `case-${++counter}.toml`);
  await writeFile(file, text);
  return lint(file, schema);
}

await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });

const extraJson = JSON.parse(await readFile(fileURLToPath(extraSchema), 'utf8'));
/** taplo's message for an unknown provider name, from the schema's list. */
const UNKNOWN_AWS = `"aws" is not one of ${JSON.stringify(extraJson.$defs.workload_identity.properties.workload_identity_provider.enum)}`;

const GCP = 'auth_type = "workload_identity"\nworkload_identity_provider = "gcp"\nidentity_provider_id = "i"\nservice_account_id = "s"\n';

test('taplo: every valid fixture as TOML passes, found through its #:schema directive', async () => {
  let checked = 0;
  for (const name of ['openai-connection-extra', 'openai-connection']) {
    const directory = path.join(siteDir, 'schemastore', 'src', 'test', name);
    for (const file of (await readdir(directory)).filter((f) => f.endsWith('.toml')).sort()) {
      const text = await readFile(path.join(directory, file), 'utf8');
      assert.match(text, /^#:schema \.\.\/\.\.\/schemas\/json\//);
      assert.deepEqual(await lint(path.join(directory, file)), [], file);
      // The directive is what checks the file: the same file with a bad auth_type fails.
      if (text.includes('auth_type = "')) {
        const broken = path.join(work, `broken-${file}`);
        await writeFile(broken, text.replace(/^#:schema \.\.\/\.\.\//, `#:schema ${directory}/../../`).replace(/auth_type = "\w+"/, 'auth_type = "apikey"'));
        assert.ok((await lint(broken)).some((e) => e.includes('"apikey" is not one of')), `${file} broken`);
      }
      checked += 1;
    }
  }
  assert.ok(checked >= 10, `${checked} TOML files`);
});

test('taplo flags wrong types, unknown enum values, bounds and missing ids, at their line', async () => {
  assert.deepEqual(await lintText('auth_type = 5\n'), ['1:13 5 is not of type "string"', '1:13 5 is not one of ["api_key","workload_identity"]']);
  assert.deepEqual(
    await lintText(GCP.replace('"gcp"', '"aws"')),
    [`2:30 ${UNKNOWN_AWS}`],
  );
  assert.deepEqual(await lintText('[openai_client_kwargs]\nmax_retries = -1\n'), ['2:15 -1 is less than the minimum of 0']);
  const missing = await lintText('auth_type = "workload_identity"\nworkload_identity_provider = "gcp"\nservice_account_id = "s"\n');
  assert.ok(missing.length > 0 && missing.every((e) => e.endsWith('"identity_provider_id" is a required property')), missing.join('\n'));
  // A whole connection: a value inside [extra].
  assert.deepEqual(
    await lintText('conn_type = "openai"\n\n[extra]\n' + GCP.replace('"gcp"', '"aws"'), connectionSchema),
    [`5:30 ${UNKNOWN_AWS}`],
  );
});

test('taplo flags unknown keys where the schema closes an object with additionalProperties', async () => {
  const typo = await lintText('[openai_client_kwargs]\ntimeuot = 5\n');
  assert.ok(typo.length > 0 && typo.every((e) => e.includes("Additional properties are not allowed ('timeuot' was unexpected)")), typo.join('\n'));
  const connection = await lintText('conn_type = "openai"\nhostname = "x"\n', connectionSchema);
  assert.ok(connection.some((e) => e.includes("('hostname' was unexpected)")), connection.join('\n'));
  // custom with both sources: the `if`/`then` forbids token_command.
  const both = await lintText(GCP.replace('"gcp"', '"custom"') + 'token_provider = "t"\ntoken_command = ["a"]\n');
  assert.ok(both.length > 0 && both.every((e) => e.startsWith('6:') && e.includes('False schema does not allow')), both.join('\n'));
});

test('taplo does NOT flag a misspelt key or a key of another provider in an extra (unevaluatedProperties)', async () => {
  // If one of these starts failing, taplo learned unevaluatedProperties: update the README's table.
  assert.deepEqual(await lintText(GCP + 'audiance = "x"\n'), []);
  assert.deepEqual(await lintText(GCP + 'resource = "https://management.azure.com/"\n'), []);
  assert.deepEqual(await lintText('auth_type = "api_key"\nidentity_provider_id = "i"\n'), []);
  assert.deepEqual(await lintText('conn_type = "openai"\n\n[extra]\n' + GCP + 'audiance = "x"\n', connectionSchema), []);
});

test('taplo: a .taplo.toml rule associates file names with the schemas', async () => {
  const config = path.join(work, '.taplo.toml');
  await writeFile(
    config,
    `[[rule]]\ninclude = ["**/*.openai-connection-extra.toml"]\n[rule.schema]\nurl = "${extraSchema}"\n\n` +
      `[[rule]]\ninclude = ["**/*.openai-connection.toml"]\n[rule.schema]\nurl = "${connectionSchema}"\n`,
  );
  const broken = GCP.replace('"gcp"', '"aws"');
  const named = path.join(work, 'prod.openai-connection-extra.toml');
  await writeFile(named, broken);
  assert.deepEqual(await lint(named, undefined, config), [`2:30 ${UNKNOWN_AWS}`]);
  const connection = path.join(work, 'prod.openai-connection.toml');
  await writeFile(connection, 'conn_type = "openai"\nhostname = "x"\n');
  assert.ok((await lint(connection, undefined, config)).some((e) => e.includes("('hostname' was unexpected)")));
  // A file name no rule matches is not checked.
  const other = path.join(work, 'prod.toml');
  await writeFile(other, broken);
  assert.deepEqual(await lint(other, undefined, config), []);
});
