// Smoke test for server.mjs: node smoke.mjs (or npm run smoke). No dependencies.
// Exits 0 on success; non-zero with a message naming the failed step otherwise.

import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(HERE, 'server.mjs');

const API = { id: 'api-client', secret: 'api-client-secret-0123456789abcdef' };
const RS = { id: 'rs-client', secret: 'rs-client-secret-0123456789abcdef' };
const RS_POST = { id: 'rs-client-post', secret: 'rs-client-post-secret-0123456789abcdef' };

let step = 'setup';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jwtgate-provider-smoke-'));
const keysFile = path.join(tmp, 'keys.json');

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function log(msg) {
  process.stdout.write(`smoke: ${msg}\n`);
}

// ------------------------------------------------------------ child process

function start(extraEnv = {}) {
  return new Promise((resolve, rejectRaw) => {
    const proc = spawn(process.execPath, [SERVER], {
      env: { ...process.env, PORT: '0', KEYS_FILE: keysFile, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let ready = null;
    const reject = (err) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      rejectRaw(err);
    };
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not print its ready line within 20 s; stderr:\n${stderr}`));
    }, 20000);
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => { stderr += d; });
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      stdout += d;
      if (ready) return; // anything after the ready line is reported by stop()
      const nl = stdout.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      const line = stdout.slice(0, nl);
      try {
        ready = JSON.parse(line);
      } catch {
        reject(new Error(`ready line is not JSON: ${JSON.stringify(line)}`));
        return;
      }
      const keys = Object.keys(ready).sort().join(',');
      if (keys !== 'issuer,port' || !Number.isInteger(ready.port) || ready.port <= 0
        || ready.issuer !== `http://127.0.0.1:${ready.port}`) {
        reject(new Error(`unexpected ready line: ${line}`));
        return;
      }
      proc.extraStdout = () => stdout.slice(nl + 1);
      resolve({ proc, ...ready, stderr: () => stderr });
    });
    proc.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`server exited early (code ${code}, signal ${sig}); stderr:\n${stderr}`));
    });
  });
}

function stop(srv) {
  return new Promise((resolve, reject) => {
    const { proc } = srv;
    if (proc.exitCode !== null || proc.signalCode !== null) {
      reject(new Error(`server already exited (code ${proc.exitCode}, signal ${proc.signalCode})`));
      return;
    }
    const timer = setTimeout(() => {
      process.kill(proc.pid, 'SIGKILL');
      reject(new Error('server did not exit within 10 s of SIGTERM'));
    }, 10000);
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`server exited with code ${code} signal ${sig} after SIGTERM`));
      else if (proc.extraStdout()) reject(new Error(`extra stdout output: ${JSON.stringify(proc.extraStdout())}`));
      else resolve();
    });
    process.kill(proc.pid, 'SIGTERM');
  });
}

// ------------------------------------------------------------ HTTP helpers

async function http(url, init = {}) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10000) });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body };
}

function basic(c) {
  return `Basic ${Buffer.from(`${encodeURIComponent(c.id)}:${encodeURIComponent(c.secret)}`).toString('base64')}`;
}

function form(params) {
  return new URLSearchParams(params).toString();
}

const FORM = 'application/x-www-form-urlencoded';

async function tokenBasic(srv, params) {
  const r = await http(`${srv.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(API), 'content-type': FORM },
    body: form({ grant_type: 'client_credentials', ...params }),
  });
  check(r.status === 200, `token request ${JSON.stringify(params)} -> ${r.status} ${JSON.stringify(r.body)}`);
  check(typeof r.body.access_token === 'string', `no access_token in ${JSON.stringify(r.body)}`);
  return r.body;
}

async function introspect(srv, token, client, how) {
  const headers = { 'content-type': FORM };
  const params = { token };
  if (how === 'basic') headers.authorization = basic(client);
  else Object.assign(params, { client_id: client.id, client_secret: client.secret });
  return http(`${srv.issuer}/token/introspection`, { method: 'POST', headers, body: form(params) });
}

function decodeJwt(jwt) {
  const parts = jwt.split('.');
  check(parts.length === 3, `not a compact JWS: ${jwt.slice(0, 40)}...`);
  const [h, p] = parts.map((x, i) => (i < 2 ? JSON.parse(Buffer.from(x, 'base64url').toString('utf8')) : x));
  return { header: h, payload: p, parts };
}

function verifyRs256(jwt, jwks) {
  const { header, parts } = decodeJwt(jwt);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  check(jwk, `kid ${header.kid} not in /jwks`);
  check(!('d' in jwk), '/jwks leaks a private key member');
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2], 'base64url'));
  check(ok, `RS256 signature of token with kid ${header.kid} does not verify against /jwks`);
}

// ------------------------------------------------------------ the test

async function run() {
  step = 'start';
  let srv = await start();
  log(`started ${srv.issuer} (pid ${srv.proc.pid})`);
  check(fs.existsSync(keysFile), 'KEYS_FILE was not created');
  const keys1 = JSON.parse(fs.readFileSync(keysFile, 'utf8'));
  check(keys1.keys.length === 1 && keys1.keys[0].kid === 'key-1' && keys1.keys[0].d, 'KEYS_FILE should hold one private key key-1');

  try {
    step = 'discovery';
    const disc = await http(`${srv.issuer}/.well-known/openid-configuration`);
    check(disc.status === 200, `discovery -> ${disc.status}`);
    check(disc.body.issuer === srv.issuer, `discovery issuer ${disc.body.issuer} != ${srv.issuer}`);
    for (const [k, p] of [['jwks_uri', '/jwks'], ['token_endpoint', '/token'],
      ['introspection_endpoint', '/token/introspection'], ['revocation_endpoint', '/token/revocation']]) {
      check(disc.body[k] === `${srv.issuer}${p}`, `discovery ${k} = ${disc.body[k]}`);
    }

    step = 'jwks';
    const jwks = await http(`${srv.issuer}/jwks`);
    check(jwks.status === 200 && jwks.body.keys?.length === 1 && jwks.body.keys[0].kid === 'key-1',
      `/jwks -> ${jwks.status} ${JSON.stringify(jwks.body)}`);

    step = 'JWT access token';
    const scope = 'read:items write:items';
    const jwtTok = await tokenBasic(srv, { resource: 'https://api.test/jwt', scope });
    check(jwtTok.expires_in === 300 && jwtTok.scope === scope, `JWT token response ${JSON.stringify(jwtTok)}`);
    {
      const { header, payload } = decodeJwt(jwtTok.access_token);
      check(header.typ === 'at+jwt' && header.alg === 'RS256' && header.kid === 'key-1', `JWT AT header ${JSON.stringify(header)}`);
      check(payload.iss === srv.issuer && payload.aud === 'https://api.test/jwt' && payload.client_id === 'api-client'
        && payload.sub === 'api-client' && payload.scope === scope && payload.exp - payload.iat === 300 && payload.jti,
      `JWT AT payload ${JSON.stringify(payload)}`);
      verifyRs256(jwtTok.access_token, jwks.body);
    }

    step = 'short JWT access token';
    const shortTok = await tokenBasic(srv, { resource: 'https://api.test/short', scope: 'read:items' });
    {
      const { payload } = decodeJwt(shortTok.access_token);
      check(shortTok.expires_in === 2 && payload.exp - payload.iat === 2 && payload.aud === 'https://api.test/short',
        `short token ${JSON.stringify(shortTok)} payload ${JSON.stringify(payload)}`);
    }

    step = 'JWT access token refused by introspection';
    {
      const r = await introspect(srv, jwtTok.access_token, RS, 'basic');
      check(r.status === 400 && r.body.error === 'unsupported_token_type', `introspect JWT -> ${r.status} ${JSON.stringify(r.body)}`);
    }

    step = 'opaque access token';
    const opaque = await tokenBasic(srv, { resource: 'https://api.test/opaque', scope: 'read:items' });
    check(opaque.access_token.split('.').length === 1 && opaque.expires_in === 300, `opaque token ${JSON.stringify(opaque)}`);

    step = 'introspect opaque (rs-client, basic)';
    {
      const r = await introspect(srv, opaque.access_token, RS, 'basic');
      check(r.status === 200 && r.body.active === true && r.body.client_id === 'api-client'
        && r.body.aud === 'https://api.test/opaque' && r.body.scope === 'read:items' && r.body.iss === srv.issuer,
      `-> ${r.status} ${JSON.stringify(r.body)}`);
    }
    step = 'introspect opaque (rs-client-post, post)';
    {
      const r = await introspect(srv, opaque.access_token, RS_POST, 'post');
      check(r.status === 200 && r.body.active === true, `-> ${r.status} ${JSON.stringify(r.body)}`);
    }
    step = 'introspect with wrong secret';
    {
      const r = await introspect(srv, opaque.access_token, { id: RS.id, secret: 'wrong' }, 'basic');
      check(r.status === 401 && r.body.error === 'invalid_client', `-> ${r.status} ${JSON.stringify(r.body)}`);
    }

    step = 'revoke opaque';
    {
      const r = await http(`${srv.issuer}/token/revocation`, {
        method: 'POST',
        headers: { authorization: basic(API), 'content-type': FORM },
        body: form({ token: opaque.access_token }),
      });
      check(r.status === 200, `revocation -> ${r.status} ${JSON.stringify(r.body)}`);
      const after = await introspect(srv, opaque.access_token, RS, 'basic');
      check(after.status === 200 && after.body.active === false && Object.keys(after.body).length === 1,
        `introspect after revoke -> ${after.status} ${JSON.stringify(after.body)}`);
    }

    step = 'ID token';
    {
      const r = await http(`${srv.issuer}/test/id-token?sub=alice`);
      check(r.status === 200 && typeof r.body.id_token === 'string', `/test/id-token -> ${r.status} ${JSON.stringify(r.body)}`);
      const { header, payload } = decodeJwt(r.body.id_token);
      check(header.alg === 'RS256' && header.kid === 'key-1' && !('typ' in header), `ID token header ${JSON.stringify(header)}`);
      check(payload.iss === srv.issuer && payload.sub === 'alice' && payload.aud === 'api-client'
        && payload.exp - payload.iat === 300, `ID token payload ${JSON.stringify(payload)}`);
      verifyRs256(r.body.id_token, jwks.body);
    }

    step = 'stop';
    await stop(srv);
    log('first run OK, stopped');

    step = 'restart with ROTATE=1';
    srv = await start({ ROTATE: '1' });
    log(`restarted ${srv.issuer} (pid ${srv.proc.pid})`);
    const keys2 = JSON.parse(fs.readFileSync(keysFile, 'utf8'));
    check(keys2.keys.map((k) => k.kid).join(',') === 'key-2,key-1', `KEYS_FILE after rotation: ${keys2.keys.map((k) => k.kid)}`);

    step = 'jwks after rotation';
    const jwks2 = await http(`${srv.issuer}/jwks`);
    check(jwks2.status === 200 && jwks2.body.keys?.length === 2, `/jwks -> ${JSON.stringify(jwks2.body)}`);
    const kids = jwks2.body.keys.map((k) => k.kid).sort().join(',');
    check(kids === 'key-1,key-2', `/jwks kids ${kids}`);

    step = 'JWT access token after rotation';
    {
      const t = await tokenBasic(srv, { resource: 'https://api.test/jwt', scope });
      const { header } = decodeJwt(t.access_token);
      check(header.kid === 'key-2', `new JWT AT kid ${header.kid}, expected key-2`);
      verifyRs256(t.access_token, jwks2.body);
      // the pre-rotation token still verifies against the new JWKS (old key still published)
      verifyRs256(jwtTok.access_token, jwks2.body);
    }
    step = 'ID token after rotation';
    {
      const r = await http(`${srv.issuer}/test/id-token?sub=bob`);
      const { header, payload } = decodeJwt(r.body.id_token);
      check(header.kid === 'key-2' && payload.sub === 'bob', `ID token after rotation ${JSON.stringify({ header, payload })}`);
    }

    step = 'stop after rotation';
    await stop(srv);
    srv = null;
  } finally {
    if (srv && srv.proc.exitCode === null && srv.proc.signalCode === null) {
      try { process.kill(srv.proc.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
}

try {
  await run();
  fs.rmSync(tmp, { recursive: true, force: true });
  log('PASS');
  process.exit(0);
} catch (err) {
  process.stderr.write(`smoke: FAIL at step "${step}": ${err.message}\n`);
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(1);
}
