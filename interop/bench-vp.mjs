// Peer benchmark of the verifier side: Animo's @openid4vc/openid4vp 0.4.6 verifier driven the way
// crates/esspass-node/benches/verifications.rs drives ours. N transactions are created with the
// library (signed request object, x509_hash client id of the demo hospital, an ephemeral ECDH key
// each, DCQL for the hospital's EHIC claims) and N wallet answers made beforehand with the library's
// client side (presentation + KB-JWT bound to each nonce, `direct_post.jwt` encrypted with jose);
// then a load generator in the same process posts them, C at a time, over HTTPS on 127.0.0.1 to a
// node:https server whose handler does what openid4vp.mjs's verifier does: the library decrypts and
// validates the response, @sd-jwt/sd-jwt-vc verifies the presentation (issuer signature with the x5c
// leaf, disclosures, KB-JWT signature, nonce, sd_hash), the script checks the x5c chain, the KB-JWT
// aud and the JWE apv; the status list is verified and decoded once, then looked up (as our cache
// does). Unlike ours, nothing is signed (no verification proof) and nothing is stored.
//
//   node bench-vp.mjs PKI_DIR CREDENTIAL_FILE HOLDER_KEY_PEM [N] [C]
//
// Prints one JSON object: throughput and p50/p99 latency. NODE_EXTRA_CA_CERTS must name the demo root.
import { Openid4vpClient, Openid4vpVerifier, calculateX509HashClientIdPrefixValue } from '@openid4vc/openid4vp';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest } from '@sd-jwt/crypto-nodejs';
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list';
import * as jose from 'jose';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { cnfVerifier, presentationFrame, x5cFromPem, x5cVerifier } from './common.mjs';
import { checkResponse, encryptJwe, es256Sign, hash, publicJwkOf, requestPayload } from './openid4vp.mjs';

const [pki, credFile, holderFile, nArg, cArg] = process.argv.slice(2);
const N = Number(nArg || 4000);
const C = Number(cArg || 16);
const root = `${pki}/root/ca.pem`;
const party = `${pki}/verifiers/es-hospital`;
const credential = readFileSync(credFile, 'utf8').trim();
const holderJwk = crypto.createPrivateKey(readFileSync(holderFile, 'utf8')).export({ format: 'jwk' });
const signingKey = crypto.createPrivateKey(readFileSync(`${party}/signing.key`, 'utf8'));
const x5c = x5cFromPem(`${party}/chain.pem`);
const b64u = (buf) => Buffer.from(buf).toString('base64url');
const CLAIMS = ['issuing_authority', 'authentic_source', 'document_number', 'personal_administrative_number', 'date_of_issuance', 'date_of_expiry', 'starting_date', 'ending_date'];

// The status list: fetched and decoded once, then looked up per verification.
let decoded = null;
class CachedStatusInstance extends SDJwtVcInstance {
  async verifyStatus(result) {
    const sl = result.payload.status?.status_list;
    if (!sl) return;
    if (!decoded) decoded = getListFromStatusListJWT((await (await fetch(sl.uri)).text()).trim());
    if (decoded.getStatus(sl.idx) !== 0) throw new Error('status is not valid');
  }
}
const sdjwt = new CachedStatusInstance({ hasher: digest, hashAlg: 'sha-256', verifier: x5cVerifier, kbVerifier: cnfVerifier });

const base = { hash, fetch, encryptJwe, signJwt: async (_signer, { header, payload }) => ({ jwt: es256Sign(signingKey, header, payload), signerJwk: publicJwkOf(signingKey) }) };
const lib = new Openid4vpVerifier({ callbacks: base });
const client = new Openid4vpClient({ callbacks: { ...base, verifyJwt: async () => ({ verified: true, signerJwk: publicJwkOf(signingKey) }) } });
const holder = new SDJwtVcInstance({ hasher: digest, hashAlg: 'sha-256', kbSigner: await ES256.getSigner(holderJwk), kbSignAlg: ES256.alg });
const clientId = `x509_hash:${await calculateX509HashClientIdPrefixValue({ x509Certificate: x5c[0], hash })}`;

const server = createServer({ key: readFileSync(`${party}/tls.key`), cert: readFileSync(`${party}/tls-chain.pem`) });
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `https://127.0.0.1:${server.address().port}`;

// Prepared, not timed: transactions and their encrypted answers.
const t0 = process.hrtime.bigint();
const txs = [];
for (let i = 0; i < N; i++) {
  const enc = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicJwkOf(enc.publicKey), kid: b64u(crypto.randomBytes(8)), use: 'enc', alg: 'ECDH-ES' };
  const created = await lib.createOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: requestPayload({ clientId, responseUri: `${url}/response/${i}`, nonce: b64u(crypto.randomBytes(24)), encJwk: jwk, vct: 'urn:eudi:ehic:1', claims: CLAIMS.map((c) => [c]), enc: 'A128GCM' }),
    jar: { requestUri: `${url}/request/${i}`, jwtSigner: { method: 'x5c', x5c, alg: 'ES256' }, expiresInSeconds: 3600 },
  });
  const request = created.authorizationRequestPayload;
  const decryptJwe = async (jwe) => {
    const { plaintext } = await jose.compactDecrypt(jwe, enc.privateKey, { keyManagementAlgorithms: ['ECDH-ES'], contentEncryptionAlgorithms: ['A128GCM', 'A256GCM'] });
    return { decrypted: true, decryptionJwk: jwk, payload: new TextDecoder().decode(plaintext) };
  };
  const presentation = await holder.present(credential, presentationFrame(CLAIMS.map((c) => [c])), { kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: clientId, nonce: request.nonce } } });
  const response = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token: { q0: [presentation] } },
    jarm: { encryption: {}, serverMetadata: { authorization_signing_alg_values_supported: ['ES256'], authorization_encryption_alg_values_supported: ['ECDH-ES'], authorization_encryption_enc_values_supported: ['A128GCM'] } },
  });
  txs.push({ request, callbacks: { ...base, decryptJwe }, body: `response=${response.jarm.responseJwt}`, answered: false });
}
const prepSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

server.on('request', (req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { body += c; });
  req.on('end', async () => {
    const i = Number(req.url.split('/').pop());
    const tx = txs[i];
    if (req.method !== 'POST' || !tx || tx.answered) {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end('{"error":"invalid_request"}');
      return;
    }
    tx.answered = true;
    const result = await checkResponse(lib, tx.callbacks, tx.request, Object.fromEntries(new URLSearchParams(body)), root, sdjwt);
    res.writeHead(result.ok ? 200 : 400, { 'Content-Type': 'application/json' });
    res.end(result.ok ? '{}' : JSON.stringify({ error: 'invalid_request', error_description: result.error }));
  });
});

const post = async (i) => {
  const r = await fetch(`${url}/response/${i}`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: txs[i].body });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`verification ${i}: ${r.status} ${text}`);
};
// Warm the connections and the status list.
await post(N - 1);
let next = 0;
const latencies = [];
const started = process.hrtime.bigint();
await Promise.all(Array.from({ length: C }, async () => {
  for (;;) {
    const i = next++;
    if (i >= N - 1) return;
    const t = process.hrtime.bigint();
    await post(i);
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
}));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.floor((latencies.length - 1) * p)];
server.close();
console.log(JSON.stringify({
  peer: '@openid4vc/openid4vp 0.4.6 verifier + @sd-jwt/sd-jwt-vc 0.19.0 + jose 6.2.19',
  node: process.version,
  verifications: latencies.length,
  concurrency: C,
  per_second: latencies.length / seconds,
  p50_ms: pct(0.5),
  p99_ms: pct(0.99),
  max_ms: latencies[latencies.length - 1],
  prepare_seconds: prepSeconds,
}));
process.exit(0);
