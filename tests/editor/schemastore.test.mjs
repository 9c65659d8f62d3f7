// The schemas the way SchemaStore's CI checks a contribution, with an independent validator (Ajv,
// the one SchemaStore uses): both schemas compile under Ajv's draft 2020-12 strict mode with the
// keywords SchemaStore registers and only the ones they declare beyond those; the catalog follows SchemaStore's rules for entries; and
// the site's schemastore/ folder (written by `cargo xtask publish`) is laid out as a contribution,
// its positive tests (JSON, YAML, TOML) pass and its negative tests fail.
//
// Run by `cargo xtask editor-test`, which writes the site first (SITE_DIR).

import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Ajv2020Module from 'ajv/dist/2020.js';
import YAML from 'yaml';
import { parse as parseToml } from 'smol-toml';

const Ajv2020 = Ajv2020Module.default;
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const siteDir = process.env.SITE_DIR ? path.resolve(process.env.SITE_DIR) : path.join(root, 'target', 'site');
const storeDir = path.join(siteDir, 'schemastore');
const NAMES = {
  'openai-connection-extra': 'openai-connection-extra.schema.json',
  'openai-connection': 'openai-connection.schema.json',
  'openai-connection-extra.airflow': 'openai-connection-extra.airflow.schema.json',
};

const readJson = async (file) => JSON.parse(await readFile(file, 'utf8'));
const validation = await readJson(path.join(storeDir, 'schema-validation.json'));

// The keywords SchemaStore's CI registers for every schema itself (`cargo xtask editor-test`
// passes the list it keeps beside the code that leaves them out of `unknownKeywords`).
const REGISTERED = JSON.parse(process.env.SCHEMASTORE_KEYWORDS ?? '[]');

/**
 * Ajv as SchemaStore's CI makes it for a 2020-12 schema: strict mode, the keywords it registers
 * for every schema, then the schema's declared `unknownKeywords` (declaring a registered one again
 * throws "already defined", as there).
 */
function ajv(keywords, registered = REGISTERED) {
  const instance = new Ajv2020({ strict: true, allErrors: true });
  for (const keyword of registered.concat(keywords)) instance.addKeyword(keyword);
  return instance;
}

const keywordsOf = (name) => validation.options[`${name}.json`]?.unknownKeywords ?? [];

test('both schemas compile under Ajv 2020-12 strict mode as SchemaStore\'s CI configures it', async () => {
  assert.ok(REGISTERED.includes('markdownDescription'), 'SCHEMASTORE_KEYWORDS is passed in');
  for (const [name, file] of Object.entries(NAMES)) {
    const keywords = keywordsOf(name);
    assert.deepEqual(keywords.filter((k) => REGISTERED.includes(k)), [], `${name}: declares no keyword SchemaStore registers`);
    assert.ok(validation.highSchemaVersion.includes(`${name}.json`), `${name}: declared as 2020-12`);
    const copies = [
      path.join(root, 'schema', file),
      path.join(root, 'schema', 'v1', file),
      path.join(siteDir, 'v1', file),
      path.join(siteDir, 'latest', file),
      path.join(storeDir, 'src', 'schemas', 'json', `${name}.json`),
    ];
    for (const copy of copies) {
      const schema = await readJson(copy);
      assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema', copy);
      assert.match(schema.$id, /^https?:\/\//, `${copy}: $id is an absolute URL`);
      ajv(keywords).compile(schema);
    }
    // The keywords are really needed: leaving out one the schema uses fails strict mode.
    const schema = await readJson(copies[0]);
    const text = JSON.stringify(schema);
    const used = REGISTERED.filter((k) => text.includes(`"${k}":`));
    assert.ok(used.includes('markdownDescription'), `${name}: uses markdownDescription`);
    for (const keyword of used) {
      assert.throws(() => ajv(keywords, REGISTERED.filter((k) => k !== keyword)).compile(schema), new RegExp(`unknown keyword: "${keyword}"`), keyword);
    }
    for (const keyword of keywords) {
      assert.throws(() => ajv(keywords.filter((k) => k !== keyword)).compile(schema), new RegExp(`unknown keyword: "${keyword}"`), keyword);
    }
    // Declaring a registered keyword again is what failed SchemaStore's CI before.
    assert.throws(() => ajv(['markdownDescription']), /already defined/);
  }
});

test('schema/catalog.json follows SchemaStore\'s rules for catalog entries', async () => {
  const catalog = await readJson(path.join(root, 'schema', 'catalog.json'));
  const published = await readJson(path.join(siteDir, 'catalog.json'));
  assert.deepEqual(published, catalog, 'the site publishes the checked-in catalog (default base URL)');
  assert.equal(catalog.$schema, 'https://json.schemastore.org/schema-catalog.json');
  assert.equal(typeof catalog.version, 'number');
  const seen = new Set();
  for (const entry of catalog.schemas) {
    assert.deepEqual(Object.keys(entry).filter((key) => !['name', 'description', 'fileMatch', 'url', 'versions'].includes(key)), []);
    for (const field of ['name', 'description']) {
      const text = entry[field];
      assert.equal(typeof text, 'string', `${entry.url}: ${field}`);
      assert.ok(!/[,. \t-]$/u.test(text), `${field} "${text}" ends with punctuation`);
      assert.ok(!text.toLowerCase().includes('schema'), `${field} "${text}" says "schema"`);
      assert.ok(!text.includes('\n'), `${field} is one line`);
    }
    assert.match(entry.url, /^https:\/\/.+\.json$/);
    for (const glob of entry.fileMatch) {
      if (glob.includes('/')) assert.ok(glob.startsWith('**/'), glob);
      assert.ok(!seen.has(glob), `${glob} listed twice`);
      seen.add(glob);
    }
    for (const extension of ['json', 'yaml', 'yml', 'toml']) {
      assert.ok(entry.fileMatch.some((glob) => glob.endsWith(`.${extension}`)), `${entry.url}: .${extension} files`);
    }
  }
  assert.equal(catalog.schemas.length, Object.keys(NAMES).length);
});

async function testFiles(kind, name) {
  const directory = path.join(storeDir, 'src', kind, name);
  if (!existsSync(directory)) return [];
  return (await readdir(directory)).sort().map((file) => path.join(directory, file));
}

/** A test file's document, read as SchemaStore reads it. */
async function documentOf(file) {
  const text = await readFile(file, 'utf8');
  if (file.endsWith('.json')) return JSON.parse(text);
  if (file.endsWith('.yaml') || file.endsWith('.yml')) return YAML.parse(text);
  if (file.endsWith('.toml')) return parseToml(text);
  throw new Error(`unexpected test file ${file}`);
}

test('schemastore/: positive tests in three formats pass, negative tests fail, each with its pragma', async (t) => {
  // Every test folder has its schema, and only folders are under src/test and src/negative_test.
  for (const kind of ['test', 'negative_test']) {
    for (const folder of await readdir(path.join(storeDir, 'src', kind))) {
      assert.ok(existsSync(path.join(storeDir, 'src', 'schemas', 'json', `${folder}.json`)), `${kind}/${folder} has a schema`);
    }
  }
  for (const name of Object.keys(NAMES)) {
    const schemaPath = path.join(storeDir, 'src', 'schemas', 'json', `${name}.json`);
    const validate = ajv(keywordsOf(name)).compile(await readJson(schemaPath));
    const positive = await testFiles('test', name);
    const negative = await testFiles('negative_test', name);
    const extensions = new Set(positive.map((file) => path.extname(file)));
    assert.deepEqual([...extensions].sort(), ['.json', '.toml', '.yaml'], `${name}: tests in JSON, YAML and TOML`);
    assert.ok(negative.length >= 3, `${name}: negative tests`);
    for (const [file, valid] of [...positive.map((f) => [f, true]), ...negative.map((f) => [f, false])]) {
      await t.test(path.relative(storeDir, file), async () => {
        const text = await readFile(file, 'utf8');
        const relative = path.relative(path.dirname(file), schemaPath);
        if (file.endsWith('.yaml')) assert.equal(text.split('\n')[0], `# yaml-language-server: $schema=${relative}`);
        if (file.endsWith('.toml')) assert.equal(text.split('\n')[0], `#:schema ${relative}`);
        assert.ok(!text.startsWith('\uFEFF'), 'no byte order mark');
        const accepted = validate(await documentOf(file));
        assert.equal(accepted, valid, JSON.stringify(validate.errors?.[0]));
      });
    }
  }
});
