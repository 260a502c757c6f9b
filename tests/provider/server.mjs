// Loopback OpenID provider for jwtgate integration tests.
//
// Interface (see README.md):
//   env PORT       port to bind on 127.0.0.1 (0 = pick a free one; default 0)
//   env KEYS_FILE  JSON file with the private signing JWKS ({"keys":[...]});
//                  created with one RS256 key (kid key-1) if missing
//   env ROTATE=1   before starting, prepend a new RS256 key (next kid) to KEYS_FILE
//   stdout: exactly one line {"issuer":"http://127.0.0.1:PORT","port":PORT} when ready
//   runs until SIGTERM / SIGINT, then exits 0
//
// Everything else (oidc-provider notices/warnings, our own diagnostics) goes to stderr.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

// oidc-provider prints its NOTICEs with console.info (stdout). stdout is reserved
// for the ready line, so route every console stdout method to stderr *before*
// oidc-provider is loaded (hence the dynamic import below).
for (const m of ['log', 'info', 'debug']) {
  console[m] = (...args) => console.error(...args);
}

const HOST = '127.0.0.1';

function fail(msg, err) {
  process.stderr.write(`provider: ${msg}${err ? `: ${err.stack || err}` : ''}\n`);
  process.exit(1);
}

// ---------------------------------------------------------------- keys

function newRsaJwk(kid) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}

function nextKid(keys) {
  let max = 0;
  for (const k of keys) {
    const m = /^key-(\d+)$/.exec(k.kid || '');
    if (m) max = Math.max(max, Number(m[1]));
  }
  return `key-${max + 1}`;
}

function writeKeys(file, jwks) {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function loadKeys() {
  const file = process.env.KEYS_FILE;
  if (!file) fail('KEYS_FILE is required');

  let jwks;
  if (fs.existsSync(file)) {
    try {
      jwks = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      fail(`cannot parse KEYS_FILE ${file}`, err);
    }
    if (!jwks || !Array.isArray(jwks.keys) || jwks.keys.length === 0) {
      fail(`KEYS_FILE ${file} must hold {"keys":[...]} with at least one private JWK`);
    }
  } else {
    jwks = { keys: [newRsaJwk('key-1')] };
    writeKeys(file, jwks);
    process.stderr.write(`provider: generated ${file} with kid key-1\n`);
  }

  if (process.env.ROTATE === '1') {
    const kid = nextKid(jwks.keys);
    jwks = { keys: [newRsaJwk(kid), ...jwks.keys] };
    writeKeys(file, jwks);
    process.stderr.write(`provider: rotated, ${kid} now signs (${jwks.keys.length} keys)\n`);
  }
  return jwks;
}

// ---------------------------------------------------------------- config

const SCOPES = 'read:items write:items';

const RESOURCES = {
  'https://api.test/jwt': {
    scope: SCOPES,
    audience: 'https://api.test/jwt',
    accessTokenFormat: 'jwt',
    accessTokenTTL: 300,
    jwt: { sign: { alg: 'RS256' } },
  },
  'https://api.test/opaque': {
    scope: SCOPES,
    audience: 'https://api.test/opaque',
    accessTokenFormat: 'opaque',
    accessTokenTTL: 300,
  },
  'https://api.test/short': {
    scope: SCOPES,
    audience: 'https://api.test/short',
    accessTokenFormat: 'jwt',
    accessTokenTTL: 2,
    jwt: { sign: { alg: 'RS256' } },
  },
};
const DEFAULT_RESOURCE = 'https://api.test/opaque';

// Resource-server clients: may introspect any token and revoke any token.
const RS_CLIENTS = new Set(['rs-client', 'rs-client-post']);

// Note: oidc-provider 9 treats client_secret_basic and client_secret_post as one
// family: a client registered with either accepts both (shared/client_auth.js).
// rs-client-post exists anyway so tests can use a client *registered* for post.
const CLIENTS = [
  {
    client_id: 'api-client',
    client_secret: 'api-client-secret-0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: SCOPES,
  },
  {
    client_id: 'rs-client',
    client_secret: 'rs-client-secret-0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: [],
    response_types: [],
    redirect_uris: [],
  },
  {
    client_id: 'rs-client-post',
    client_secret: 'rs-client-post-secret-0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: [],
    response_types: [],
    redirect_uris: [],
  },
];

function configuration(jwks) {
  return {
    clients: CLIENTS,
    jwks,
    scopes: ['openid', ...SCOPES.split(' ')],
    claims: { openid: ['sub'] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub }),
    }),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => (
          client.clientAuthMethod !== 'none'
          && (RS_CLIENTS.has(client.clientId) || client.clientId === token.clientId)
        ),
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => (
          RS_CLIENTS.has(client.clientId) || client.clientId === token.clientId
        ),
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => DEFAULT_RESOURCE,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          const info = RESOURCES[resourceIndicator];
          if (!info) throw new errors.InvalidTarget();
          return structuredClone(info);
        },
      },
    },
    ttl: {
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
      IdToken: 300,
      Grant: 600,
      Interaction: 600,
      Session: 600,
    },
  };
}

// ---------------------------------------------------------------- main

let errors;

async function main() {
  const jwks = loadKeys();

  const mod = await import('oidc-provider');
  const Provider = mod.default;
  ({ errors } = mod);

  // Bind first so PORT=0 resolves to a real port before the issuer is built.
  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(process.env.PORT || 0), HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address();
  const issuer = `http://${HOST}:${port}`;

  const provider = new Provider(issuer, configuration(jwks));
  provider.on('server_error', (_ctx, err) => process.stderr.write(`provider: server_error ${err.stack || err}\n`));

  const idTokenClient = await provider.Client.find('api-client');
  if (!idTokenClient) fail('api-client not found after provider setup');

  async function testRoute(req, res, url) {
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/test/id-token' && req.method === 'GET') {
      const sub = url.searchParams.get('sub') || 'alice';
      // A real ID token minted by oidc-provider's own IdToken class: signed with the
      // provider's current RS256 key, header {alg, kid} (no typ), aud = api-client.
      const token = new provider.IdToken({ sub }, { client: idTokenClient });
      token.scope = 'openid';
      const idToken = await token.issue({ use: 'idtoken' });
      return send(200, { id_token: idToken });
    }
    return send(404, { error: 'not_found' });
  }

  const callback = provider.callback();
  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname.startsWith('/test/')) {
      testRoute(req, res, url).catch((err) => {
        process.stderr.write(`provider: test route error ${err.stack || err}\n`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'server_error' }));
      });
      return;
    }
    callback(req, res);
  });
  // Do not let idle keep-alive sockets hold the process open on shutdown.
  server.keepAliveTimeout = 1000;

  let stopping = false;
  const stop = (sig) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`provider: ${sig}, shutting down\n`);
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
}

main().catch((err) => fail('startup failed', err));
