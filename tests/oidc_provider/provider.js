// A real OpenID provider (npm `oidc-provider`, OpenID-certified) on the loopback, for the sign-in
// tests. It signs ID tokens with its own RSA key (served at its JWKS), requires PKCE (S256) for
// every client, checks redirect URIs and echoes the nonce, like Google does.
//
// Usage: node provider.js <port> <client_id> <client_secret> <redirect_uri>
// Prints "LISTENING <issuer>" once it accepts connections.
//
// The tests drive the browser part without a browser: the authorization request names the
// account in `login_hint`; the interaction route below signs that account in and grants the
// requested scopes at once. `POST /test/accounts` (JSON: sub, email, email_verified, name)
// creates or replaces an account.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
if (!port || !clientId || !clientSecret || !redirectUri) {
  console.error('usage: node provider.js <port> <client_id> <client_secret> <redirect_uri>');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const accounts = new Map();

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  // Google puts the email claims into the ID token of the code flow; so does this provider.
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [randomBytes(16).toString('hex')] },
  async findAccount(_ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return { accountId: sub, async claims() { return { ...account, sub }; } };
  },
});
provider.on('server_error', (_ctx, error) => console.error('provider error', error));

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const accountId = details.params.login_hint;
  if (!accounts.has(accountId)) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`no test account ${accountId}; POST /test/accounts first`);
    return;
  }
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

async function addAccount(req, res) {
  let body = '';
  for await (const chunk of req) body += chunk;
  const account = JSON.parse(body);
  const { sub, ...claims } = account;
  accounts.set(sub, claims);
  res.writeHead(204);
  res.end();
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const handle = req.url.startsWith('/interaction/')
    ? interaction
    : req.url === '/test/accounts' && req.method === 'POST'
      ? addAccount
      : callback;
  Promise.resolve(handle(req, res)).catch((error) => {
    console.error(error);
    if (!res.headersSent) res.writeHead(500);
    res.end(String(error));
  });
});
server.listen(Number(port), '127.0.0.1', () => console.log(`LISTENING ${issuer}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
