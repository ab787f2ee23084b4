// A real OpenID Connect provider for tests: the `oidc-provider` package (the certified
// implementation) on 127.0.0.1 with a free port, one confidential client (the dashboard), and a
// few accounts with different `groups` claims. Its login page is ours, plain HTML with no outside
// resources (the package's development pages load web fonts from the internet).
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';

export interface TestAccount {
  password: string;
  claims: { preferred_username: string; email: string; name: string; groups: string[] };
}

/** Subjects (account ids) and what the provider says about them. */
export const TEST_ACCOUNTS: Record<string, TestAccount> = {
  'sub-alice': {
    password: 'alice-password',
    claims: { preferred_username: 'alice', email: 'alice@example.test', name: 'Alice Admin', groups: ['staff', 'dtx-admins'] },
  },
  'sub-bob': {
    password: 'bob-password',
    claims: { preferred_username: 'bob', email: 'bob@example.test', name: 'Bob Viewer', groups: ['staff', 'dtx-viewers'] },
  },
  'sub-carol': {
    password: 'carol-password',
    claims: { preferred_username: 'carol', email: 'carol@example.test', name: 'Carol Contractor', groups: ['contractors'] },
  },
};

/** The Dashboard.Oidc.* values that match TEST_ACCOUNTS' groups. */
export const TEST_ROLE_VALUES = { admin: 'dtx-admins', operator: 'dtx-operators', viewer: 'dtx-viewers' };

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Changes a test account's groups (the role claim of its next login). */
  setGroups(subject: string, groups: string[]): void;
  close(): Promise<void>;
}

const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const c of req) text += String(c);
  return new URLSearchParams(text);
}

/**
 * Starts the provider. `redirectUris` are the dashboard callbacks it accepts for its one client.
 * PKCE is required for every authorization request.
 */
export async function startTestProvider(redirectUris: string[]): Promise<TestProvider> {
  const accounts = structuredClone(TEST_ACCOUNTS);
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'dtx-dashboard';
  const clientSecret = 'test-client-secret-0123456789abcdef';
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const configuration: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'test-key' }] },
    cookies: { keys: ['test-cookie-key-0123456789'] },
    scopes: ['openid', 'profile', 'email', 'groups'],
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'], groups: ['groups'] },
    pkce: { required: () => true },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, id) => {
      const a = accounts[id];
      return a ? { accountId: id, claims: () => ({ sub: id, ...a.claims }) } : undefined;
    },
    // a first-party client: no consent page, every requested scope is granted
    loadExistingGrant: async (ctx) => {
      const session = ctx.oidc.session;
      const clientIdOf = ctx.oidc.client?.clientId;
      if (!session?.accountId || !clientIdOf) return undefined;
      const existing = session.grantIdFor(clientIdOf);
      if (existing) {
        const g = await ctx.oidc.provider.Grant.find(existing);
        if (g) return g;
      }
      const grant = new ctx.oidc.provider.Grant({ clientId: clientIdOf, accountId: session.accountId });
      grant.addOIDCScope('openid profile email groups');
      await grant.save();
      session.grantIdFor(clientIdOf, grant.jti);
      return grant;
    },
  };
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();

  // The login page (GET /interaction/:uid) and its form (POST /interaction/:uid/login).
  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    if (req.method === 'POST' && action === 'login') {
      const form = await formBody(req);
      const found = Object.entries(accounts).find(([, a]) => a.claims.preferred_username === form.get('username'));
      if (!found || found[1].password !== form.get('password')) {
        res.writeHead(200, { 'content-type': 'text/html' });
        return void res.end(page('Test IdP', `<p role="alert">wrong username or password</p><a href="/interaction/${uid}">again</a>`));
      }
      return provider.interactionFinished(req, res, { login: { accountId: found[0] } }, { mergeWithLastSubmission: false });
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      page(
        'Test IdP',
        `<form method="post" action="/interaction/${uid}/login">` +
          '<label>IdP username <input name="username" autocomplete="off"></label>' +
          '<label>IdP password <input name="password" type="password"></label>' +
          '<button type="submit">Log in at the test IdP</button></form>',
      ),
    );
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const m = /^\/interaction\/([^/?]+)(?:\/([a-z]+))?/.exec(req.url ?? '');
    if (!m) return void callback(req, res);
    interaction(req, res, m[1]!, m[2]).catch((err: Error) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`interaction failed: ${err.message}`);
    });
  });

  return {
    issuer,
    clientId,
    clientSecret,
    setGroups: (subject, groups) => {
      accounts[subject]!.claims.groups = groups;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
