// The published schemas as the YAML language server (yaml-language-server, the engine of the VS
// Code "YAML" extension and of the YAML support in Neovim, Helix, Zed, ...) sees them, on YAML
// connection documents.
//
// The server's own language service is driven through its JS API, set up as its LSP server sets
// it up: schemas found by `yaml.schemas`-style associations (the fileMatch patterns of
// schema/catalog.json) or by the document's `# yaml-language-server: $schema=` modeline, their text
// read through the `schemaRequestService` hook. Nothing hands a parsed schema to the service.
//
// Run by `cargo xtask editor-test`, which first writes the site (SITE_DIR) whose
// schemastore/src/test/ holds every valid fixture as YAML with a modeline.

import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const yls = require('yaml-language-server/out/server/src/languageservice/yamlLanguageService.js');
const { TextDocument } = require('vscode-languageserver-textdocument');

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const schemaDir = path.join(root, 'schema');
const siteDir = process.env.SITE_DIR ? path.resolve(process.env.SITE_DIR) : path.join(root, 'target', 'site');

const EXTRA_FILE = 'openai-connection-extra.schema.json';
const extraUri = pathToFileURL(path.join(schemaDir, EXTRA_FILE)).href;
const extraSchema = JSON.parse(await readFile(path.join(schemaDir, EXTRA_FILE), 'utf8'));
const connectionSchema = JSON.parse(await readFile(path.join(schemaDir, 'openai-connection.schema.json'), 'utf8'));

/** A YAML language service whose schema requests are recorded; `schemas` as in `yaml.schemas`. */
function service(schemas) {
  const requested = [];
  const ls = yls.getLanguageService({
    schemaRequestService: async (uri) => {
      requested.push(uri);
      if (!uri.startsWith('file:')) throw new Error(`unexpected schema request: ${uri}`);
      return readFile(fileURLToPath(uri), 'utf8');
    },
    // What the server does for a relative modeline path: resolve it against the document.
    workspaceContext: { resolveRelativePath: (relative, resource) => new URL(relative, resource).href },
    clientCapabilities: {},
  });
  ls.configure({ validate: true, hover: true, completion: true, schemas });
  return { ls, requested };
}

/** The associations of schema/catalog.json, pointed at the local files. */
async function catalogAssociations() {
  const catalog = JSON.parse(await readFile(path.join(schemaDir, 'catalog.json'), 'utf8'));
  const local = new Map([
    [extraSchema.$id, extraUri],
    [connectionSchema.$id, pathToFileURL(path.join(schemaDir, 'openai-connection.schema.json')).href],
    [
      'https://openai-conn.github.io/schema/v1/openai-connection-extra.airflow.schema.json',
      pathToFileURL(path.join(schemaDir, 'openai-connection-extra.airflow.schema.json')).href,
    ],
  ]);
  return catalog.schemas.map((entry) => {
    assert.ok(local.has(entry.url), `${entry.url} is one of the local schemas`);
    assert.ok(['*.openai-connection-extra.yaml', '*.openai-connection.yaml', '*.openai-connection-extra.airflow.yaml'].some((glob) => entry.fileMatch.includes(glob)));
    return { uri: local.get(entry.url), fileMatch: entry.fileMatch };
  });
}

const associated = service(await catalogAssociations());
const EXTRA_DOC = pathToFileURL(path.join(root, 'scratch', 'demo.openai-connection-extra.yaml')).href;
const CONNECTION_DOC = pathToFileURL(path.join(root, 'scratch', 'demo.openai-connection.yml')).href;

// The service caches a parsed document by URI and version, as an editor sends a new version with
// every change: every document made here gets a version of its own.
let version = 0;
const open = (uri, text) => TextDocument.create(uri, 'yaml', ++version, text);

async function diagnostics(text, uri = EXTRA_DOC, { ls } = associated) {
  const document = open(uri, text);
  const found = await ls.doValidation(document, false);
  return found.map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.message}`).sort();
}

/** Completion at the `|` in `text`. */
async function complete(text, uri = EXTRA_DOC) {
  const offset = text.indexOf('|');
  assert.ok(offset >= 0, 'the document marks the cursor with |');
  const document = open(uri, text.replace('|', ''));
  const list = await associated.ls.doComplete(document, document.positionAt(offset), false);
  return list?.items ?? [];
}

// LSP CompletionItemKind: 10 Property, 12 Value.
const keyLabels = (items) => items.filter((i) => i.kind === 10).map((i) => i.label).sort();
const valueLabels = (items) => items.filter((i) => i.kind === 12).map((i) => i.label).sort();
const markdown = (documentation) => (typeof documentation === 'string' ? documentation : documentation?.value ?? '');

async function filesIn(directory, extension) {
  if (!existsSync(directory)) return [];
  return (await readdir(directory)).filter((name) => name.endsWith(extension)).sort().map((name) => path.join(directory, name));
}

/** The provider names, in the schema's order. */
const PROVIDERS = extraSchema.$defs.workload_identity.properties.workload_identity_provider.enum;
// Each provider's own keys, from the schema (a provider added to the model is covered here too);
// the JSON test spells the same table out, which anchors it.
const PROVIDER_KEYS = Object.fromEntries(
  PROVIDERS.map((provider) => {
    const own = extraSchema.$defs[provider].properties ?? {};
    return [provider, Object.keys(own).filter((key) => typeof own[key] === 'object').sort()];
  }),
);

const GCP = 'auth_type: workload_identity\nworkload_identity_provider: gcp\nidentity_provider_id: idp-gcp-123\nservice_account_id: sa-gcp-456\n';

// --- diagnostics ---------------------------------------------------------------------------------

test('a misspelt key and a key of another provider are flagged at their line', async () => {
  assert.deepEqual(await diagnostics(GCP + 'audiance: https://api.openai.com/v1\n'), ['5:1 Property audiance is not allowed.']);
  assert.deepEqual(await diagnostics(GCP + 'resource: https://management.azure.com/\n'), ['5:1 Property resource is not allowed.']);
  assert.deepEqual(await diagnostics('auth_typ: api_key\n'), ['1:1 Property auth_typ is not allowed.']);
  assert.deepEqual(await diagnostics('openai_client_kwargs:\n  timeuot: 5\n'), ['2:3 Property timeuot is not allowed.']);
  // A key of another provider, for every provider.
  // For every provider, a key that only other providers have.
  for (const provider of PROVIDERS) {
    const key = Object.entries(PROVIDER_KEYS)
      .filter(([other]) => other !== provider)
      .flatMap(([, keys]) => keys)
      .find((candidate) => !PROVIDER_KEYS[provider].includes(candidate) && candidate !== 'token_provider');
    // A provider's required keys (x509's two paths) come after, so the lines above stay put.
    const required = (extraSchema.$defs[provider].allOf ?? []).flatMap((entry) => entry.required ?? []);
    const text = `auth_type: workload_identity\nworkload_identity_provider: ${provider}\nidentity_provider_id: i\nservice_account_id: s\ntoken_provider: t\n${key}: x\n${required.map((name) => `${name}: p\n`).join('')}`;
    const expected = provider === 'custom' ? [] : ['5:1 Property token_provider is not allowed.'];
    assert.deepEqual(await diagnostics(text), [...expected, `6:1 Property ${key} is not allowed.`].sort(), provider);
  }
  // Inside a whole connection's `extra`.
  assert.deepEqual(
    await diagnostics(`conn_type: openai\nextra:\n  auth_type: workload_identity\n  workload_identity_provider: gcp\n  identity_provider_id: i\n  service_account_id: s\n  resource: r\n`, CONNECTION_DOC),
    ['7:3 Property resource is not allowed.'],
  );
});

test('wrong values are flagged on the value, with the accepted ones', async () => {
  assert.deepEqual(await diagnostics('auth_type: workload\n'), ['1:12 Value is not accepted. Valid values: "api_key", "workload_identity".']);
  assert.deepEqual(
    await diagnostics('auth_type: workload_identity\nworkload_identity_provider: aws\nidentity_provider_id: i\nservice_account_id: s\n'),
    [`2:29 Value is not accepted. Valid values: ${PROVIDERS.map((p) => JSON.stringify(p)).join(', ')}.`],
  );
  assert.deepEqual(await diagnostics('openai_client_kwargs:\n  max_retries: -1\n'), ['2:16 Value is below the minimum of 0.']);
  assert.deepEqual(
    await diagnostics('openai_client_kwargs:\n  base_url: localhost:8080\n'),
    ['2:13 "base_url" must be an absolute http or https URL, such as "https://api.openai.com/v1".'],
  );
  // A missing required id is named.
  const missing = await diagnostics('auth_type: workload_identity\nworkload_identity_provider: gcp\nservice_account_id: s\n');
  assert.equal(missing.length, 1, missing.join('\n'));
  assert.match(missing[0], /Missing property "identity_provider_id"/);
  // Custom with both sources: the second one is flagged with the schema's own message.
  assert.deepEqual(
    await diagnostics('auth_type: workload_identity\nworkload_identity_provider: custom\nidentity_provider_id: i\nservice_account_id: s\ntoken_provider: t\ntoken_command: [a]\n'),
    ['6:1 Set exactly one of "token_provider" and "token_command", not both.'],
  );
  // A value or a document of the wrong type: one diagnostic naming the type (no schema titles).
  for (const root of ['[]', '42', 'null', '"text"']) {
    assert.deepEqual(await diagnostics(`${root}\n`), ['1:1 Incorrect type. Expected "object".'], root);
  }
  assert.deepEqual(await diagnostics('openai_client_kwargs: 5\n'), ['1:23 Incorrect type. Expected "object".']);
  // A whole connection whose `extra` has the wrong type.
  assert.deepEqual(
    await diagnostics('conn_type: openai\nextra: [1]\n', CONNECTION_DOC),
    ['2:8 Incorrect type. Expected an object, a string holding a JSON object, or null.'],
  );
});

test('every valid fixture, as YAML with its modeline, gets no diagnostic; every SchemaStore negative test gets one', async (t) => {
  const names = ['openai-connection-extra', 'openai-connection'];
  const bare = service([]);
  let checked = 0;
  for (const name of names) {
    const valid = await filesIn(path.join(siteDir, 'schemastore', 'src', 'test', name), '.yaml');
    assert.ok(valid.length >= 3, `${name}: YAML tests in ${siteDir} (run cargo xtask editor-test)`);
    for (const file of valid) {
      await t.test(path.relative(siteDir, file), async () => {
        const text = await readFile(file, 'utf8');
        assert.match(text.split('\n')[0], /^# yaml-language-server: \$schema=\.\.\/\.\.\/schemas\/json\//);
        // Opened with no association at all: only the modeline can find the schema.
        assert.deepEqual(await diagnostics(text, pathToFileURL(file).href, bare), []);
        checked += 1;
      });
    }
    const negative = await filesIn(path.join(siteDir, 'schemastore', 'src', 'negative_test', name), '.json');
    assert.ok(negative.length >= 3, `${name}: negative tests`);
    for (const file of negative) {
      await t.test(path.relative(siteDir, file), async () => {
        // JSON is YAML; opened under a name the catalog associates.
        const text = await readFile(file, 'utf8');
        const uri = name === 'openai-connection' ? CONNECTION_DOC : EXTRA_DOC;
        assert.ok((await diagnostics(text, uri)).length > 0, 'flagged');
      });
    }
  }
  assert.ok(checked > 10);
  // The modeline's relative path was resolved to the site's copies, which were fetched.
  assert.ok(bare.requested.some((uri) => uri.endsWith('/schemastore/src/schemas/json/openai-connection-extra.json')));
});

test('the modeline associates a file with the schema, and nothing else does', async () => {
  const bare = service([]);
  const uri = pathToFileURL(path.join(root, 'scratch', 'conn.yaml')).href;
  const broken = GCP + 'audiance: x\n';
  // With no modeline and no association nothing is checked.
  assert.deepEqual(await diagnostics(broken, uri, bare), []);
  assert.deepEqual(bare.requested, []);
  const modeline = '# yaml-language-server: $schema=../schema/openai-connection-extra.schema.json\n';
  assert.deepEqual(await diagnostics(modeline + broken, uri, bare), ['6:1 Property audiance is not allowed.']);
  assert.deepEqual(bare.requested, [extraUri]);
  // A modeline wins over a catalog association: a whole connection's schema on an extra's name.
  const connectionModeline = '# yaml-language-server: $schema=../schema/openai-connection.schema.json\n';
  assert.deepEqual(await diagnostics(connectionModeline + 'conn_type: openai\nhostname: x\n', EXTRA_DOC), ['3:1 Property hostname is not allowed.']);
});

// --- completion ----------------------------------------------------------------------------------

const WI = ['identity_provider_id', 'openai_client_kwargs', 'refresh_buffer_seconds', 'service_account_id'];
test('the providers\' keys read from the schema are the documented ones', () => {
  assert.deepEqual(PROVIDER_KEYS.gcp, ['audience']);
  assert.deepEqual(PROVIDER_KEYS.azure, ['api_version', 'client_id', 'msi_res_id', 'object_id', 'resource']);
  assert.deepEqual(PROVIDER_KEYS.custom, ['token_command', 'token_command_timeout_seconds', 'token_provider', 'token_type']);
});

test('completion: the top level offers auth_type and openai_client_kwargs, never $schema', async () => {
  assert.deepEqual(keyLabels(await complete('|')), ['auth_type', 'openai_client_kwargs']);
  assert.deepEqual(keyLabels(await complete('auth_type: api_key\n|')), ['openai_client_kwargs']);
});

test('completion: after workload_identity_provider: gcp the GCP key is offered and no Azure key', async () => {
  const offered = keyLabels(await complete('auth_type: workload_identity\nworkload_identity_provider: gcp\n|'));
  assert.ok(offered.includes('audience'), offered.join(', '));
  for (const azure of PROVIDER_KEYS.azure) assert.ok(!offered.includes(azure), `${azure} offered: ${offered.join(', ')}`);
});

for (const [provider, own] of Object.entries(PROVIDER_KEYS)) {
  test(`completion: provider ${provider} offers exactly its own keys and the workload-identity keys`, async () => {
    const text = `auth_type: workload_identity\nworkload_identity_provider: ${provider}\n|`;
    assert.deepEqual(keyLabels(await complete(text)), [...own, ...WI].sort());
    // The same inside a whole connection's `extra`.
    const nested = `conn_type: openai\nextra:\n  auth_type: workload_identity\n  workload_identity_provider: ${provider}\n  |`;
    assert.deepEqual(keyLabels(await complete(nested, CONNECTION_DOC)), [...own, ...WI].sort());
  });
}

test('completion: a key is inserted with its default, and enum values come with their descriptions', async () => {
  const items = await complete('auth_type: workload_identity\nworkload_identity_provider: gcp\n|');
  const buffer = items.find((item) => item.label === 'refresh_buffer_seconds');
  assert.match(buffer.insertText ?? buffer.textEdit?.newText, /^refresh_buffer_seconds: \$\{1:1200\}/);
  const values = await complete('auth_type: workload_identity\nworkload_identity_provider: |');
  assert.deepEqual(valueLabels(values), [...PROVIDERS].sort());
  const schema = extraSchema.$defs.workload_identity.properties.workload_identity_provider;
  for (const item of values.filter((i) => i.kind === 12)) {
    const index = schema.enum.indexOf(item.label);
    assert.ok(markdown(item.documentation).includes(schema.markdownEnumDescriptions[index]), `${item.label}: ${markdown(item.documentation)}`);
  }
});

// --- hover ---------------------------------------------------------------------------------------

test('hover: every key shows its description', async () => {
  const kwargs = extraSchema.properties.openai_client_kwargs.properties;
  const cases = [[
    `auth_type: api_key\nopenai_client_kwargs:\n${Object.keys(kwargs).map((key) => `  ${key}:`).join('\n')}\n`,
    EXTRA_DOC,
    (key) => kwargs[key] ?? extraSchema.properties[key],
  ]];
  cases.push([
    Object.keys(connectionSchema.properties).filter((key) => key !== '$schema').map((key) => `${key}:`).join('\n') + '\n',
    CONNECTION_DOC,
    (key) => connectionSchema.properties[key],
  ]);
  for (const [provider] of Object.entries(PROVIDER_KEYS)) {
    const own = extraSchema.$defs[provider].properties;
    const common = extraSchema.$defs.workload_identity.properties;
    const keys = [...Object.keys(common), ...Object.keys(own).filter((key) => typeof own[key] === 'object')];
    const lines = ['auth_type: workload_identity', `workload_identity_provider: ${provider}`, ...keys.filter((k) => k !== 'workload_identity_provider').map((k) => `${k}:`)];
    cases.push([lines.join('\n') + '\n', EXTRA_DOC, (key) => (typeof own[key] === 'object' ? own[key] : undefined) ?? common[key] ?? extraSchema.properties[key]]);
  }
  let hovered = 0;
  for (const [text, uri, schemaOf] of cases) {
    const document = open(uri, text);
    for (const [index, line] of text.split('\n').entries()) {
      const match = line.match(/^(\s*)([\w$]+):/);
      if (!match) continue;
      const key = match[2];
      const hover = await associated.ls.doHover(document, { line: index, character: match[1].length + 1 });
      const contents = hover ? [hover.contents].flat().map(markdown).join('\n\n') : '';
      const schema = schemaOf(key);
      assert.ok(schema?.markdownDescription, `${key} has a description`);
      // The description comes first, as in VS Code: no heading above it.
      assert.ok(contents.startsWith(schema.markdownDescription), `hover on ${key} shows its description; got:\n${contents}`);
      hovered += 1;
    }
  }
  assert.ok(hovered > 25, `${hovered} keys hovered`);
});
