// The published JSON Schemas as VS Code's JSON engine (vscode-json-languageservice, the same
// library inside VS Code, Monaco and the JSON language server other editors run) sees them.
//
// The schemas are found the way an editor finds them: an association with `fileMatch` patterns
// (taken from schema/catalog.json, the SchemaStore catalog `cargo xtask schema` writes), or the
// document's own `"$schema"` key; their text comes through the service's `schemaRequestService`
// hook, which reads the files under schema/. Nothing hands a parsed schema to the service.
//
// Run with `cargo xtask editor-test` (or `node --test editor.test.mjs` here). Set
// EDITOR_TEST_SCHEMA_DIR to serve the schema files from another folder (used to check that a
// broken schema makes this test fail).

import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import jls from 'vscode-json-languageservice';

const { TextDocument } = jls;

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const schemaDir = path.join(root, 'schema');
const servedDir = process.env.EDITOR_TEST_SCHEMA_DIR
  ? path.resolve(process.env.EDITOR_TEST_SCHEMA_DIR)
  : schemaDir;

const EXTRA_FILE = 'openai-connection-extra.schema.json';
const CONNECTION_FILE = 'openai-connection.schema.json';
const extraUri = pathToFileURL(path.join(schemaDir, EXTRA_FILE)).href;
const connectionUri = pathToFileURL(path.join(schemaDir, CONNECTION_FILE)).href;

const extraSchema = JSON.parse(await readFile(path.join(servedDir, EXTRA_FILE), 'utf8'));
const connectionSchema = JSON.parse(await readFile(path.join(servedDir, CONNECTION_FILE), 'utf8'));

// --- the language service, set up as VS Code's JSON language server sets it up -----------------

/** A language service whose schema requests are recorded; `associations` as in `json.schemas`. */
function service(associations) {
  const requested = [];
  const ls = jls.getLanguageService({
    schemaRequestService: async (uri) => {
      requested.push(uri);
      const file = fileURLToPath(uri);
      // Every schema lives in schema/; EDITOR_TEST_SCHEMA_DIR swaps the folder, not the names.
      const relative = path.relative(schemaDir, file);
      if (relative.startsWith('..') || path.isAbsolute(relative)) {
        throw new Error(`unexpected schema request: ${uri}`);
      }
      return readFile(path.join(servedDir, relative), 'utf8');
    },
    // What VS Code's JSON server does for a relative `$schema`: resolve against the document.
    workspaceContext: { resolveRelativePath: (relative, resource) => new URL(relative, resource).href },
    clientCapabilities: jls.ClientCapabilities.LATEST,
  });
  ls.configure({ validate: true, allowComments: false, schemas: associations });
  return { ls, requested };
}

/** The `json.schemas` associations in schema/catalog.json, pointed at the local files. */
async function catalogAssociations() {
  const file = path.join(schemaDir, 'catalog.json');
  assert.ok(existsSync(file), 'schema/catalog.json is missing: run `cargo xtask schema`');
  const catalog = JSON.parse(await readFile(file, 'utf8'));
  assert.equal(catalog.$schema, 'https://json.schemastore.org/schema-catalog.json');
  assert.equal(catalog.version, 1);
  const airflowFile = 'openai-connection-extra.airflow.schema.json';
  const airflow = JSON.parse(await readFile(path.join(servedDir, airflowFile), 'utf8'));
  const byId = new Map([
    [extraSchema.$id, extraUri],
    [connectionSchema.$id, connectionUri],
    [airflow.$id, pathToFileURL(path.join(schemaDir, airflowFile)).href],
  ]);
  assert.deepEqual(
    catalog.schemas.map((entry) => entry.url).sort(),
    [...byId.keys()].sort(),
    'the catalog lists the three schemas by their $id',
  );
  return catalog.schemas.map((entry) => {
    assert.ok(entry.name && entry.description, `catalog entry ${entry.url} has a name and description`);
    assert.ok(entry.fileMatch.length > 0, `catalog entry ${entry.url} has fileMatch patterns`);
    return { uri: byId.get(entry.url), fileMatch: entry.fileMatch };
  });
}

const associated = service(await catalogAssociations());

// Document names that the catalog's `*.openai-connection-extra.json` and
// `*.openai-connection.json` patterns match.
const EXTRA_DOC = pathToFileURL(path.join(root, 'scratch', 'demo.openai-connection-extra.json')).href;
const CONNECTION_DOC = pathToFileURL(path.join(root, 'scratch', 'demo.openai-connection.json')).href;

// VS Code's settings for a `.json` file: comments and trailing commas are errors.
const JSON_MODE = { comments: 'error', trailingCommas: 'error' };

async function diagnostics(text, uri = EXTRA_DOC, { ls } = associated) {
  const document = TextDocument.create(uri, 'json', 1, text);
  const found = await ls.doValidation(document, ls.parseJSONDocument(document), JSON_MODE);
  // 1-based line:column, as the editor's status bar shows it.
  return found
    .map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.message}`)
    .sort(byPosition);
}

function byPosition(a, b) {
  const [la, ca] = a.split(' ')[0].split(':').map(Number);
  const [lb, cb] = b.split(' ')[0].split(':').map(Number);
  return la - lb || ca - cb || a.localeCompare(b);
}

/** Completion at the `|` in `text`. */
async function complete(text, uri = EXTRA_DOC) {
  const offset = text.indexOf('|');
  assert.ok(offset >= 0, 'the document marks the cursor with |');
  const document = TextDocument.create(uri, 'json', 1, text.replace('|', ''));
  const { ls } = associated;
  const list = await ls.doComplete(document, document.positionAt(offset), ls.parseJSONDocument(document));
  return list?.items ?? [];
}

const keyLabels = (items) => items.filter((i) => i.kind === jls.CompletionItemKind.Property).map((i) => i.label).sort();
const markdown = (documentation) => (typeof documentation === 'string' ? documentation : documentation?.value ?? '');

/** The document's kind by the parser's rule: `conn_type` or `extra` makes a whole connection. */
function isConnection(text) {
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) && ('conn_type' in value || 'extra' in value);
  } catch {
    return false;
  }
}

/** The URI a fixture is opened under, so that the catalog's fileMatch picks its schema. */
function documentUri(file, text) {
  const base = path.basename(file, '.json').replace(/\.openai-connection(-extra)?$/, '');
  const suffix = isConnection(text) ? '.openai-connection.json' : '.openai-connection-extra.json';
  return pathToFileURL(path.join(path.dirname(file), base + suffix)).href;
}

async function jsonFiles(directory) {
  if (!existsSync(directory)) return [];
  return (await readdir(directory)).filter((name) => name.endsWith('.json')).sort().map((name) => path.join(directory, name));
}

// --- diagnostics ---------------------------------------------------------------------------------

// Fixtures under tests/fixtures/invalid, with exactly the diagnostics the editor shows. A fixture
// added later and not listed here must still get at least one diagnostic.
const INVALID = {
  'audience-with-azure.json': ['6:3 Property audience is not allowed.'],
  'auth-type-number.json': [
    '2:16 Incorrect type. Expected "string".',
    '2:16 Value is not accepted. Valid values: "api_key", "workload_identity".',
  ],
  'auth-type-unknown.json': ['2:16 Value is not accepted. Valid values: "api_key", "workload_identity".'],
  'auth-type-wrong-case.json': [
    '2:16 Value is not accepted. Valid values: "api_key", "workload_identity".',
    '3:3 Property workload_identity_provider is not allowed.',
    '4:3 Property identity_provider_id is not allowed.',
    '5:3 Property service_account_id is not allowed.',
  ],
  'connection-conn-type-wrong.json': ['2:16 Value must be "openai".'],
  'connection-extra-array.json': ['3:12 Incorrect type. Expected an object, a string holding a JSON object, or null.'],
  'connection-password-number.json': ['3:15 Incorrect type. Expected one of string, null.'],
  'connection-port-out-of-range.json': ['3:11 Value is above the maximum of 65535.'],
  'connection-unknown-key.json': ['3:3 Property hostname is not allowed.'],
  'custom-both-sources.json': ['7:3 Set exactly one of "token_provider" and "token_command", not both.'],
  'custom-command-empty-arg.json': ['8:5 String is shorter than the minimum length of 1.'],
  'custom-command-empty.json': ['6:20 Array has too few items. Expected 1 or more.'],
  'custom-command-not-array.json': ['6:20 Incorrect type. Expected "array".'],
  // A `required` is reported at the object's `{` and cannot be reworded (editor-schema-notes.md).
  'custom-missing-source.json': ['1:1 Missing property "token_provider".'],
  'custom-timeout-zero.json': ['9:36 Value is below the exclusive minimum of 0.'],
  'custom-token-type-unknown.json': ['7:17 Value is not accepted. Valid values: "jwt", "id".'],
  'duplicate-key.json': ['4:3 Duplicate object key', '6:3 Duplicate object key'],
  'empty-identity-provider-id.json': ['4:27 String is shorter than the minimum length of 1.'],
  'id-wrong-type.json': ['5:25 Incorrect type. Expected "string".'],
  'kwargs-api-key-empty.json': ['3:16 String is shorter than the minimum length of 1.'],
  'kwargs-base-url-ftp.json': ['3:17 "base_url" must be an absolute http or https URL, such as "https://api.openai.com/v1".'],
  'kwargs-base-url-relative.json': ['3:17 "base_url" must be an absolute http or https URL, such as "https://api.openai.com/v1".'],
  'kwargs-headers-number.json': ['4:18 Incorrect type. Expected "string".'],
  'kwargs-max-retries-fraction.json': ['3:20 Incorrect type. Expected "integer".'],
  'kwargs-max-retries-negative.json': ['3:20 Value is below the minimum of 0.'],
  'kwargs-not-object.json': ['2:27 Incorrect type. Expected "object".'],
  'kwargs-query-not-map.json': ['3:22 Incorrect type. Expected "object".'],
  'kwargs-timeout-string.json': ['3:16 Incorrect type. Expected "number".'],
  'kwargs-timeout-zero.json': ['3:16 Value is below the exclusive minimum of 0.'],
  'kwargs-unknown-key.json': ['3:5 Property base_urll is not allowed.'],
  'missing-identity-provider-id.json': ['1:1 Missing property "identity_provider_id".'],
  'missing-provider.json': ['1:1 Missing property "workload_identity_provider".'],
  'missing-service-account-id.json': ['1:1 Missing property "service_account_id".'],
  'null-value.json': ['6:15 Incorrect type. Expected "string".'],
  'provider-dash.json': ['3:33 Value is not accepted. Valid values: "kubernetes", "azure", "gcp", "custom", "github_actions", "x509".'],
  'provider-unknown.json': ['3:33 Value is not accepted. Valid values: "kubernetes", "azure", "gcp", "custom", "github_actions", "x509".'],
  'provider-wrong-case.json': ['3:33 Value is not accepted. Valid values: "kubernetes", "azure", "gcp", "custom", "github_actions", "x509".'],
  'refresh-buffer-negative.json': ['6:29 Value is below the minimum of 0.'],
  'refresh-buffer-too-large.json': ['6:29 Value is above the exclusive maximum of 18446744073709552000.'],
  'durations-too-large.json': [
    '7:36 Value is above the exclusive maximum of 18446744073709552000.',
    '8:39 Value is above the exclusive maximum of 18446744073709552000.',
  ],
  'refresh-buffer-string.json': ['6:29 Incorrect type. Expected "number".'],
  'resource-with-kubernetes.json': ['6:3 Property resource is not allowed.'],
  'root-array.json': ['1:1 Incorrect type. Expected "object".'],
  'root-string.json': ['1:1 Incorrect type. Expected "object".'],
  'schema-key-number.json': ['2:14 Incorrect type. Expected "string".'],
  'secret-on-typo-line.json': ['2:28 Property api_kye is not allowed.'],
  'syntax-comment.json': ['2:3 Comments are not permitted in JSON.'],
  'syntax-missing-brace.json': ['2:24 Expected comma or closing brace'],
  'syntax-single-quotes.json': ['1:2 Property keys must be doublequoted', '1:15 Value expected'],
  'syntax-trailing-comma.json': ['2:25 Trailing comma'],
  'token-file-path-with-gcp.json': ['6:3 Property token_file_path is not allowed.'],
  'token-type-with-gcp.json': ['6:3 Property token_type is not allowed.'],
  'typo-provider-key.json': [
    '1:1 Missing property "workload_identity_provider".',
    '3:3 Property workload_identity_providr is not allowed.',
  ],
  'typo-top-level-key.json': ['2:3 Property openai_client_kwarg is not allowed.'],
  'unknown-top-level-key.json': ['3:3 Property colour is not allowed.'],
  'workload-key-under-api-key.json': ['3:3 Property workload_identity_provider is not allowed.'],
  'workload-key-without-auth-type.json': ['2:3 Property identity_provider_id is not allowed.'],
  'certificate-path-with-kubernetes.json': ['6:3 Property certificate_path is not allowed.'],
  'x509-ca-bundle-not-string.json': ['8:21 Incorrect type. Expected "string".'],
  'x509-certificate-path-empty.json': ['6:23 String is shorter than the minimum length of 1.'],
  'x509-missing-private-key.json': ['1:1 Missing property "private_key_path".'],
  'x509-token-file-path.json': ['8:3 Property token_file_path is not allowed.'],
  'deeply-nested-beyond-limit.json': ['1:51 Incorrect type. Expected "string".'],
  'deeply-nested-junk.json': ['1:52 Incorrect type. Expected "string".'],
  'empty-string-key.json': ['1:2 Property  is not allowed.'],
  'huge-integer-max-retries.json': ['2:43 Value is above the maximum of 4294967295.'],
  'ids-whitespace-type-array.json': ['4:27 Incorrect type. Expected "string".'],
  'infinity-like-string.json': ['3:16 Incorrect type. Expected "number".'],
  // Decoded as VS Code does, with U+FFFD for the bad bytes, the value is no longer an accepted one.
  'invalid-utf8.json': ['2:16 Value is not accepted. Valid values: "api_key", "workload_identity".'],
  'nan-like-string.json': ['6:29 Incorrect type. Expected "number".'],
  'nan-literal.json': ['2:39 Value expected'],
  'root-null.json': ['1:1 Incorrect type. Expected "object".'],
  'root-number.json': ['1:1 Incorrect type. Expected "object".'],
  'root-true.json': ['1:1 Incorrect type. Expected "object".'],
  'ten-megabytes.json': ['1:26 Property padding is not allowed.'],
  // JavaScript reads 1e400 as Infinity, above the bound every number of seconds has (2^64).
  'huge-number-out-of-range.json': ['2:39 Value is above the exclusive maximum of 18446744073709552000.'],
};

// Invalid fixtures whose fault no editor can show; each is checked to get no diagnostic, so the
// day the editor does see it this list has to be revisited. The CLI and the parser report them.
const EDITOR_BLIND = {
  // VS Code decodes the file and drops the byte order mark before the JSON engine sees the text.
  'bom.json': 'the editor strips the BOM',
  // An `extra` stored as a string is opaque to a schema: its content is JSON inside a string.
  'connection-extra-bad-json-string.json': 'the fault is inside a string value',
  'connection-extra-string-invalid.json': 'the fault is inside a string value',
  // The JSON engine treats an empty document as "nothing yet", not an error.
  'syntax-empty.json': 'an empty document has no diagnostic in VS Code',
};

test('invalid fixtures: each gets the diagnostics the editor shows', async (t) => {
  const files = await jsonFiles(path.join(root, 'tests', 'fixtures', 'invalid'));
  const names = files.map((file) => path.basename(file));
  assert.ok(files.length > 0, 'tests/fixtures/invalid has fixtures');
  for (const file of files) {
    const name = path.basename(file);
    await t.test(name, async () => {
      let text = await readFile(file, 'utf8');
      if (name in EDITOR_BLIND) {
        text = text.replace(/^\uFEFF/, '');
        assert.deepEqual(await diagnostics(text, documentUri(file, text)), [], EDITOR_BLIND[name]);
        return;
      }
      const found = await diagnostics(text, documentUri(file, text));
      if (name in INVALID) {
        assert.deepEqual(found, [...INVALID[name]].sort(byPosition));
      } else {
        // A fixture added after this table: it must at least be flagged (add it to INVALID).
        assert.ok(found.length > 0, `${name} gets no diagnostic in the editor; list it in EDITOR_BLIND with the reason`);
      }
    });
  }
  assert.deepEqual(
    [...Object.keys(INVALID), ...Object.keys(EDITOR_BLIND)].filter((name) => !names.includes(name)),
    [],
    'table entries without a fixture',
  );
});

test('the issue\'s fault classes are located on the key or value and name it', async () => {
  // A required id that is missing: named, at the object's `{` (where VS Code puts a `required`).
  assert.deepEqual(
    await diagnostics('{\n  "auth_type": "workload_identity",\n  "workload_identity_provider": "gcp",\n  "service_account_id": "sa"\n}'),
    ['1:1 Missing property "identity_provider_id".'],
  );
  // Inside a whole connection the same `required` is reported on the "extra" key.
  assert.deepEqual(
    await diagnostics(
      '{\n  "conn_type": "openai",\n  "extra": {"auth_type": "workload_identity", "workload_identity_provider": "azure", "service_account_id": "sa"}\n}',
      CONNECTION_DOC,
    ),
    ['3:3 Missing property "identity_provider_id".'],
  );
  // An unknown provider: on the value, listing the accepted ones.
  const unknown = await diagnostics(
    '{"auth_type": "workload_identity", "workload_identity_provider": "aws", "identity_provider_id": "i", "service_account_id": "s"}',
  );
  assert.deepEqual(unknown, ['1:66 Value is not accepted. Valid values: "kubernetes", "azure", "gcp", "custom", "github_actions", "x509".']);
  // A key of another provider, for every provider, on that key.
  const foreign = { kubernetes: 'audience', azure: 'token_file_path', gcp: 'resource', custom: 'audience', github_actions: 'token_type' };
  for (const [provider, key] of Object.entries(foreign)) {
    const text = `{\n  "auth_type": "workload_identity",\n  "workload_identity_provider": "${provider}",\n  "identity_provider_id": "i",\n  "service_account_id": "s",\n  "token_provider": "t",\n  "${key}": "x"\n}`;
    const expected = provider === 'custom' ? [] : ['6:3 Property token_provider is not allowed.'];
    assert.deepEqual(await diagnostics(text), [...expected, `7:3 Property ${key} is not allowed.`], provider);
  }
  // A typo'd key at the top level, in the client options and in a provider's keys.
  assert.deepEqual(await diagnostics('{"auth_typ": "api_key"}'), ['1:2 Property auth_typ is not allowed.']);
  assert.deepEqual(await diagnostics('{"openai_client_kwargs": {"timeuot": 5}}'), ['1:27 Property timeuot is not allowed.']);
  assert.deepEqual(
    await diagnostics('{"auth_type": "workload_identity", "workload_identity_provider": "azure", "identity_provider_id": "i", "service_account_id": "s", "client-id": "c"}'),
    ['1:131 Property client-id is not allowed.'],
  );
  // Bad `openai_client_kwargs` values, on the value, in a whole connection too.
  assert.deepEqual(
    await diagnostics('{"conn_type": "openai", "extra": {"openai_client_kwargs": {"base_url": "localhost:8080", "max_retries": "3"}}}', CONNECTION_DOC),
    [
      '1:72 "base_url" must be an absolute http or https URL, such as "https://api.openai.com/v1".',
      '1:105 Incorrect type. Expected "integer".',
    ],
  );
});

test('valid fixtures and examples get no diagnostic at all', async (t) => {
  const valid = await jsonFiles(path.join(root, 'tests', 'fixtures', 'valid'));
  const examples = await jsonFiles(path.join(root, 'examples'));
  assert.ok(valid.length > 0, 'tests/fixtures/valid has fixtures');
  assert.ok(examples.length > 0, 'examples/ has examples');
  // Fixtures are opened under a name the catalog matches; examples under their own name, so
  // their `"$schema"` line is what finds the schema, as for a user who opens one.
  const cases = [
    ...valid.map((file) => [file, (text) => documentUri(file, text)]),
    ...examples.map((file) => [file, () => pathToFileURL(file).href]),
  ];
  for (const [file, uriOf] of cases) {
    await t.test(path.relative(root, file), async () => {
      const text = await readFile(file, 'utf8');
      const uri = uriOf(text);
      assert.deepEqual(await diagnostics(text, uri), []);
      // "No diagnostic" must not mean "no schema": the editor reports which schema it applied.
      const { ls } = associated;
      const document = TextDocument.create(uri, 'json', 1, text);
      const status = ls.getLanguageStatus(document, ls.parseJSONDocument(document));
      assert.deepEqual(status.schemas, [isConnection(text) ? connectionUri : extraUri], 'the schema applied');
    });
  }
  // The schemas came through the hook.
  assert.ok(associated.requested.includes(extraUri), 'the extra schema was requested');
  assert.ok(associated.requested.includes(connectionUri), 'the connection schema was requested');
});

// --- completion ------------------------------------------------------------------------------------

const WI = ['identity_provider_id', 'openai_client_kwargs', 'refresh_buffer_seconds', 'service_account_id'];
const PROVIDER_KEYS = {
  kubernetes: ['token_file_path'],
  azure: ['api_version', 'client_id', 'msi_res_id', 'object_id', 'resource'],
  gcp: ['audience'],
  custom: ['token_command', 'token_command_timeout_seconds', 'token_provider', 'token_type'],
  github_actions: ['audience'],
  x509: ['ca_bundle_path', 'certificate_path', 'private_key_path'],
};

test('completion: top level of an empty object offers auth_type and openai_client_kwargs', async () => {
  assert.deepEqual(keyLabels(await complete('{|}')), ['auth_type', 'openai_client_kwargs']);
  assert.deepEqual(keyLabels(await complete('{\n  |\n}')), ['auth_type', 'openai_client_kwargs']);
  // Under api_key nothing of workload identity is offered.
  assert.deepEqual(keyLabels(await complete('{"auth_type": "api_key", |}')), ['openai_client_kwargs']);
});

test('completion: auth_type workload_identity adds the workload-identity keys', async () => {
  assert.deepEqual(
    keyLabels(await complete('{"auth_type": "workload_identity", |}')),
    ['workload_identity_provider', ...WI].sort(),
  );
  // A key completion inserts the default, so the editor writes a working value.
  const items = await complete('{"auth_type": "workload_identity", |}');
  const buffer = items.find((item) => item.label === 'refresh_buffer_seconds');
  assert.equal(buffer.textEdit.newText, '"refresh_buffer_seconds": ${1:1200}');
});

for (const [provider, own] of Object.entries(PROVIDER_KEYS)) {
  test(`completion: provider ${provider} offers its own keys and no other provider's`, async () => {
    const offered = keyLabels(
      await complete(`{"auth_type": "workload_identity", "workload_identity_provider": "${provider}", |}`),
    );
    const foreign = Object.entries(PROVIDER_KEYS)
      .filter(([other]) => other !== provider)
      .flatMap(([, keys]) => keys)
      .filter((key) => !own.includes(key));
    assert.deepEqual(offered.filter((key) => foreign.includes(key)), [], 'keys of other providers');
    assert.deepEqual(offered, [...own, ...WI].sort());
    // The same narrowing inside a whole connection's `extra`.
    const nested = keyLabels(
      await complete(
        `{"conn_type": "openai", "extra": {"auth_type": "workload_identity", "workload_identity_provider": "${provider}", |}}`,
        CONNECTION_DOC,
      ),
    );
    assert.deepEqual(nested, [...own, ...WI].sort());
  });
}

/** Value completion at `|`: labels and documentation, in schema order. */
async function values(text) {
  const items = (await complete(text)).filter((item) => item.kind === jls.CompletionItemKind.Value);
  return Object.fromEntries(items.map((item) => [JSON.parse(item.label), markdown(item.documentation)]));
}

function enumDescriptions(schema) {
  assert.ok(Array.isArray(schema.enum) && Array.isArray(schema.markdownEnumDescriptions));
  return Object.fromEntries(schema.enum.map((value, index) => [value, schema.markdownEnumDescriptions[index]]));
}

test('completion: values of auth_type, workload_identity_provider and token_type come with their descriptions', async () => {
  const cases = [
    ['{"auth_type": |}', extraSchema.properties.auth_type, ['api_key', 'workload_identity']],
    [
      '{"auth_type": "workload_identity", "workload_identity_provider": |}',
      extraSchema.$defs.workload_identity.properties.workload_identity_provider,
      ['azure', 'custom', 'gcp', 'github_actions', 'kubernetes', 'x509'],
    ],
    [
      '{"auth_type": "workload_identity", "workload_identity_provider": "custom", "token_type": |}',
      extraSchema.$defs.custom.properties.token_type,
      ['id', 'jwt'],
    ],
  ];
  for (const [text, schema, expected] of cases) {
    const offered = await values(text);
    assert.deepEqual(Object.keys(offered).sort(), expected, text);
    for (const [value, description] of Object.entries(offered)) {
      assert.ok(description.length > 20, `${value} has a description`);
      assert.equal(description, enumDescriptions(schema)[value], `${value}: the description from the schema`);
    }
  }
});

// --- hover -----------------------------------------------------------------------------------------

/** Every key a document can hold, walking `properties` (not the conditions of `if`/`not`). */
function declaredKeys(schema, into = new Set()) {
  if (Array.isArray(schema)) {
    schema.forEach((item) => declaredKeys(item, into));
  } else if (schema && typeof schema === 'object') {
    for (const [keyword, child] of Object.entries(schema)) {
      if (keyword === 'if' || keyword === 'not') continue;
      if (keyword === 'properties') {
        for (const [key, sub] of Object.entries(child)) {
          if (typeof sub === 'object') into.add(key);
        }
      }
      declaredKeys(child, into);
    }
  }
  return into;
}

/** Hover text on each key of `text`, with the key's schema. */
async function hovers(text, uri, schemaOf) {
  const document = TextDocument.create(uri, 'json', 1, text);
  const { ls } = associated;
  const parsed = ls.parseJSONDocument(document);
  const found = [];
  for (const match of text.matchAll(/"([$\w]+)":/g)) {
    const key = match[1];
    const hover = await ls.doHover(document, document.positionAt(match.index + 2), parsed);
    const contents = hover ? [hover.contents].flat().map(markdown).join('\n\n') : '';
    found.push({ key, contents, schema: schemaOf(key) });
  }
  return found;
}

test('hover: every key shows its description with the default', async () => {
  const kwargs = extraSchema.properties.openai_client_kwargs.properties;
  const documents = [
    [
      JSON.stringify({
        auth_type: 'api_key',
        openai_client_kwargs: Object.fromEntries(Object.keys(kwargs).map((key) => [key, null])),
      }),
      EXTRA_DOC,
      (key) => kwargs[key] ?? extraSchema.properties[key],
    ],
    [
      JSON.stringify(Object.fromEntries(Object.keys(connectionSchema.properties).filter((k) => k !== '$schema').map((k) => [k, null]))),
      CONNECTION_DOC,
      (key) => connectionSchema.properties[key],
    ],
  ];
  for (const provider of Object.keys(PROVIDER_KEYS)) {
    const own = extraSchema.$defs[provider].properties;
    const common = extraSchema.$defs.workload_identity.properties;
    const document = { auth_type: 'workload_identity', workload_identity_provider: provider };
    for (const key of [...Object.keys(common), ...Object.keys(own)]) document[key] ??= null;
    documents.push([
      JSON.stringify(document, null, 2),
      EXTRA_DOC,
      (key) => own[key] ?? common[key] ?? extraSchema.properties[key],
    ]);
  }
  const hovered = new Set();
  for (const [text, uri, schemaOf] of documents) {
    for (const { key, contents, schema } of await hovers(text, uri, schemaOf)) {
      hovered.add(key);
      assert.ok(schema?.markdownDescription, `${key} has a description in the schema`);
      assert.ok(contents.startsWith(schema.markdownDescription), `hover on ${key} shows its description; got:\n${contents}`);
      // Each key says its default, or why it has none (required, or one of a required pair).
      assert.match(contents, /Default: |Required under workload identity|Set exactly one of/, `hover on ${key}`);
      if (schema.default !== undefined && typeof schema.default !== 'object') {
        assert.ok(contents.includes(`Default: `) && contents.includes(String(schema.default)), `hover on ${key} names the default ${schema.default}`);
      }
    }
  }
  // `$schema` is hovered in the `$schema` test below (a document naming a schema uses that one).
  const all = new Set([...declaredKeys(extraSchema), ...declaredKeys(connectionSchema)]);
  all.delete('$schema');
  assert.deepEqual([...all].filter((key) => !hovered.has(key)).sort(), [], 'keys never hovered');
});

// --- a document that names its schema ----------------------------------------------------------

test('a document with its own "$schema" (a relative path) is validated with no association', async () => {
  const bare = service([]);
  const file = path.join(root, 'tests', 'fixtures', 'valid', 'with-schema-key.json');
  const uri = pathToFileURL(file).href;
  const text = await readFile(file, 'utf8');
  assert.match(text, /"\$schema": "(\.\.\/)+schema\/openai-connection-extra\.schema\.json"/);

  // Without the key, nothing validates the document (so what follows is the key's doing).
  const withoutKey = '{\n  "auth_type": "workload_identity",\n  "colour": "blue"\n}';
  assert.deepEqual(await diagnostics(withoutKey, uri, bare), []);
  assert.deepEqual(bare.requested, []);

  assert.deepEqual(await diagnostics(text, uri, bare), []);
  assert.deepEqual(bare.requested, [extraUri], 'the relative path resolved to schema/ and was fetched through the hook');

  const broken = text.replace('"audience"', '"audiance"').replace('"service_account_id": "sa-gcp"', '"service_account_id": "sa-gcp",\n  "token_file_path": "/t"');
  assert.deepEqual(await diagnostics(broken, uri, bare), ['7:3 Property token_file_path is not allowed.']);

  const document = TextDocument.create(uri, 'json', 1, text);
  const hover = await bare.ls.doHover(document, { line: 1, character: 4 }, bare.ls.parseJSONDocument(document));
  assert.ok(markdown([hover.contents].flat()[0]).startsWith(extraSchema.properties.$schema.markdownDescription));

  // And a whole connection naming the connection schema.
  const connectionText = '{\n  "$schema": "../../../schema/openai-connection.schema.json",\n  "conn_type": "openai",\n  "extra": {"auth_type": "workload_identity", "workload_identity_provider": "gcp", "identity_provider_id": "i", "service_account_id": "s", "resource": "r"}\n}';
  assert.deepEqual(await diagnostics(connectionText, uri, bare), ['4:140 Property resource is not allowed.']);
  assert.ok(bare.requested.includes(connectionUri));
});

// --- the Airflow-only schema -------------------------------------------------------------------
//
// schema/openai-connection-extra.airflow.schema.json is what Airflow's OpenAI provider accepts,
// derived from the same types as the others (`cargo xtask schema`); `openai-conn validate
// --profile airflow` gives the same verdicts. A document names it with its own `"$schema"`.

const AIRFLOW_FILE = 'openai-connection-extra.airflow.schema.json';
const airflowUri = pathToFileURL(path.join(schemaDir, AIRFLOW_FILE)).href;
const airflowSchema = JSON.parse(await readFile(path.join(servedDir, AIRFLOW_FILE), 'utf8'));
const AIRFLOW_DOC = pathToFileURL(path.join(root, 'scratch', 'airflow.extra.json')).href;
const airflowService = service([{ uri: airflowUri, fileMatch: ['*.extra.json'] }]);
const airflowDiagnostics = (text) => diagnostics(text, AIRFLOW_DOC, airflowService);

async function airflowComplete(text) {
  const offset = text.indexOf('|');
  const document = TextDocument.create(AIRFLOW_DOC, 'json', 1, text.replace('|', ''));
  const { ls } = airflowService;
  const list = await ls.doComplete(document, document.positionAt(offset), ls.parseJSONDocument(document));
  return list?.items ?? [];
}

test('airflow schema: the reference example and every provider Airflow knows are accepted', async () => {
  assert.equal(airflowSchema.$id, 'https://openai-conn.github.io/schema/v1/openai-connection-extra.airflow.schema.json');
  for (const [provider, extra] of [
    ['kubernetes', ''],
    ['azure', ', "client_id": "c"'],
    ['gcp', ', "audience": "https://api.openai.com/v1"'],
    ['custom', ', "token_provider": "my_company.tokens.get_token", "token_type": "id"'],
  ]) {
    const text = `{"auth_type": "workload_identity", "workload_identity_provider": "${provider}", "identity_provider_id": "i", "service_account_id": "s"${extra}}`;
    assert.deepEqual(await airflowDiagnostics(text), [], provider);
  }
  const document = TextDocument.create(AIRFLOW_DOC, 'json', 1, '{"auth_type": "api_key"}');
  const status = airflowService.ls.getLanguageStatus(document, airflowService.ls.parseJSONDocument(document));
  assert.deepEqual(status.schemas, [airflowUri], 'the Airflow schema applied');
});

test('airflow schema: what Airflow rejects or ignores is flagged where it is written', async () => {
  // A provider Airflow lacks: on the value, listing only the providers Airflow has.
  assert.deepEqual(
    await airflowDiagnostics('{"auth_type": "workload_identity", "workload_identity_provider": "github_actions", "identity_provider_id": "i", "service_account_id": "s"}'),
    ['1:66 Value is not accepted. Valid values: "kubernetes", "azure", "gcp", "custom".'],
  );
  // token_command and its timeout: not allowed, and custom needs token_provider.
  assert.deepEqual(
    await airflowDiagnostics('{\n  "auth_type": "workload_identity",\n  "workload_identity_provider": "custom",\n  "identity_provider_id": "i",\n  "service_account_id": "s",\n  "token_command": ["vault"],\n  "token_command_timeout_seconds": 5\n}'),
    [
      '1:1 Missing property "token_provider".',
      '6:3 Property token_command is not allowed.',
      '7:3 Property token_command_timeout_seconds is not allowed.',
    ],
  );
  // A token_provider that is not a dotted import path: on the value, in words.
  assert.deepEqual(
    await airflowDiagnostics('{"auth_type": "workload_identity", "workload_identity_provider": "custom", "identity_provider_id": "i", "service_account_id": "s", "token_provider": "vault_jwt"}'),
    ['1:150 "token_provider" must be a dotted Python import path, such as "my_company.tokens.get_openai_subject_token".'],
  );
});

test('airflow schema: completion offers only what Airflow reads', async () => {
  const providers = (await airflowComplete('{"auth_type": "workload_identity", "workload_identity_provider": |}'))
    .filter((item) => item.kind === jls.CompletionItemKind.Value)
    .map((item) => JSON.parse(item.label))
    .sort();
  assert.deepEqual(providers, ['azure', 'custom', 'gcp', 'kubernetes']);
  assert.deepEqual(
    keyLabels(await airflowComplete('{"auth_type": "workload_identity", "workload_identity_provider": "custom", |}')),
    ['token_provider', 'token_type', ...WI].sort(),
  );
});
