// OpenID4VP 1.0 peers built on Animo's @openid4vc/openid4vp 0.4.6 (+ @openid4vc/oauth2), the
// OpenWallet Foundation @sd-jwt/* 0.19.0 libraries for the SD-JWT VC, and `jose` for the
// encrypted response (ECDH-ES), used by crates/esspass/tests/vp_interop.rs.
//
//   node openid4vp.mjs wallet   < request.json   answer an esspass verifier's request
//   node openid4vp.mjs verifier < request.json   ask esspass's wallet, over HTTPS, and check its answer
//
// wallet — {link, credential, holder_private_pem, root, replay?}
//   The library parses the `openid4vp://` link, fetches the request object by reference, verifies it
//   (our callback: ES256 with the x5c leaf's key, the x5c chain to the demo root in node:crypto),
//   checks the `x509_hash` client id against the leaf itself, and validates the request. The DCQL
//   query's claim paths become the @sd-jwt presentation frame; the presentation gets a KB-JWT with
//   the request's nonce and the full prefixed client id as `aud`. The library builds the
//   `direct_post.jwt` response (vp_token `{query id: [presentation]}`, encrypted to the first `use:
//   enc` key of client_metadata with ECDH-ES, `apv` = the nonce) and posts it. `replay` posts the same
//   response a second time. Prints {ok: true, status, body, replay?, client_id, query, version,
//   presented}; {ok: false, stage, error} when the library refused (exit 1).
//
// verifier — {port, signing_key, chain, tls_key, tls_chain, root, vct, claims, enc}
//   Serves HTTPS on 127.0.0.1:<port> (the TLS key and chain given), creates the request with the
//   library's verifier: request object by reference signed with `signing_key` and `x5c` from
//   `chain`, client id `x509_hash:<sha-256 of the leaf>`, response mode `direct_post.jwt` with an
//   ephemeral P-256 key in client_metadata (`use: enc`, `alg: ECDH-ES`, `kid`), a DCQL query for
//   one `dc+sd-jwt` of `vct` with `claims` (paths). Prints one line {link, nonce, client_id,
//   response_uri} as soon as it listens; GET <request_uri> answers the request object, POST
//   <response_uri> is decrypted and validated by the library (parseOpenid4vpAuthorizationResponse)
//   and the presentation verified by @sd-jwt/sd-jwt-vc (issuer signature with the x5c leaf, the x5c
//   chain to `root` here, disclosures, KB-JWT signature with cnf.jwk, nonce, sd_hash; `aud` here).
//   The wallet gets 200 `{}` when it verified, 400 {error, error_description} when not. Prints
//   a second line {ok, claims, kb, header, jwe_header, script_checks} or {ok: false, error} and
//   exits.
//
// The demo root must be trusted through NODE_EXTRA_CA_CERTS (Node's fetch honours it).

import { Openid4vpClient, Openid4vpVerifier, calculateX509HashClientIdPrefixValue } from '@openid4vc/openid4vp';
import { HashAlgorithm } from '@openid4vc/oauth2';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest } from '@sd-jwt/crypto-nodejs';
import * as jose from 'jose';
import crypto, { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createServer } from 'node:https';
import { b64urlJson, checkChain, decodeCompact, instance, out, presentationFrame, readStdin, x5cFromPem } from './common.mjs';

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const jweHeaderOf = (jwe) => b64urlJson(jwe.split('.')[0]);

// ---------------------------------------------------------------- callbacks

export function hash(data, alg) {
  const name = { [HashAlgorithm.Sha256]: 'sha256', [HashAlgorithm.Sha384]: 'sha384', [HashAlgorithm.Sha512]: 'sha512' }[alg];
  if (!name) throw new Error(`unsupported hash ${alg}`);
  return new Uint8Array(crypto.createHash(name).update(data).digest());
}

export function es256Sign(key, header, payload) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64u(sig)}`;
}

export function publicJwkOf(keyObject) {
  const pub = keyObject.type === 'public' ? keyObject : crypto.createPublicKey(keyObject);
  const { kty, crv, x, y } = pub.export({ format: 'jwk' });
  return { kty, crv, x, y };
}

/** The library's verifyJwt: x5c only — ES256 with the leaf's key, the chain to `root` checked here. */
export function verifyJwtWith(root, checks) {
  return async (signer, { compact }) => {
    if (signer.method !== 'x5c') return { verified: false };
    if (signer.alg !== 'ES256') return { verified: false };
    checks.push(checkChain(signer.x5c, root));
    const leaf = new X509Certificate(Buffer.from(signer.x5c[0], 'base64'));
    const [h, p, s] = compact.split('.');
    const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
    return ok ? { verified: true, signerJwk: publicJwkOf(leaf.publicKey) } : { verified: false };
  };
}

function x509Metadata(certificate) {
  const leaf = new X509Certificate(Buffer.from(certificate, 'base64'));
  const names = (leaf.subjectAltName ?? '').split(', ');
  return {
    sanDnsNames: names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
    sanUriNames: names.filter((n) => n.startsWith('URI:')).map((n) => n.slice(4)),
  };
}

/** The library's encryptJwe: ECDH-ES (direct key agreement) with jose; kid, apu, apv in the header. */
export async function encryptJwe(encryptor, data) {
  if (encryptor.method !== 'jwk') throw new Error(`encryptor method ${encryptor.method}`);
  const key = await jose.importJWK({ ...encryptor.publicJwk, alg: encryptor.alg }, encryptor.alg);
  const header = { alg: encryptor.alg, enc: encryptor.enc };
  if (encryptor.publicJwk.kid) header.kid = encryptor.publicJwk.kid;
  const params = {};
  if (encryptor.apu) params.apu = Buffer.from(encryptor.apu, 'base64url');
  if (encryptor.apv) params.apv = Buffer.from(encryptor.apv, 'base64url');
  const jwe = await new jose.CompactEncrypt(new TextEncoder().encode(data)).setProtectedHeader(header).setKeyManagementParameters(params).encrypt(key);
  return { encryptionJwk: encryptor.publicJwk, jwe };
}

// ---------------------------------------------------------------- wallet

/** DCQL claim paths (null = every element) → concrete paths present in the decoded claims. */
function concretePaths(paths, claims) {
  const outPaths = [];
  const walk = (value, path, rest) => {
    if (rest.length === 0) {
      outPaths.push(path);
      return;
    }
    const [step, ...tail] = rest;
    if (step === null) {
      if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i], tail));
    } else if (value !== null && typeof value === 'object' && step in value) {
      walk(value[step], [...path, step], tail);
    }
  };
  for (const p of paths) walk(claims, [], p);
  return outPaths;
}

async function wallet(req) {
  const checks = [];
  const client = new Openid4vpClient({
    callbacks: { hash, fetch, verifyJwt: verifyJwtWith(req.root, checks), getX509CertificateMetadata: x509Metadata, encryptJwe, signJwt: () => { throw new Error('this wallet signs no response'); } },
  });
  let stage = 'parse';
  try {
    const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: req.link });
    stage = 'resolve';
    const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params });
    const request = resolved.authorizationRequestPayload;
    const query = resolved.dcql?.query;
    if (!query || query.credentials?.length !== 1) throw new Error('expected a DCQL query for one credential');
    const cq = query.credentials[0];
    stage = 'present';
    const holderKey = crypto.createPrivateKey(req.holder_private_pem).export({ format: 'jwk' });
    const sdjwt = new SDJwtVcInstance({ hasher: digest, hashAlg: 'sha-256', kbSigner: await ES256.getSigner(holderKey), kbSignAlg: ES256.alg });
    const decoded = await sdjwt.getClaims(req.credential);
    if (cq.meta?.vct_values && !cq.meta.vct_values.includes(decoded.vct)) throw new Error(`the query asks for ${cq.meta.vct_values}, the credential is ${decoded.vct}`);
    const paths = concretePaths((cq.claims ?? []).map((c) => c.path), decoded);
    const presentation = await sdjwt.present(req.credential, presentationFrame(paths), {
      kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: request.client_id, nonce: request.nonce } },
    });
    stage = 'respond';
    const response = await client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request,
      authorizationResponsePayload: { vp_token: { [cq.id]: [presentation] } },
      jarm: {
        encryption: {},
        serverMetadata: {
          authorization_signing_alg_values_supported: ['ES256'],
          authorization_encryption_alg_values_supported: ['ECDH-ES'],
          authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'],
        },
      },
    });
    stage = 'submit';
    const submit = async () => {
      const { response: r } = await client.submitOpenid4vpAuthorizationResponse({ authorizationRequestPayload: request, authorizationResponsePayload: response.authorizationResponsePayload, jarm: response.jarm ? { responseJwt: response.jarm.responseJwt } : undefined });
      const text = await r.text();
      let body;
      try { body = JSON.parse(text); } catch { body = text; }
      return { status: r.status, body };
    };
    const first = await submit();
    const replay = req.replay ? await submit() : undefined;
    const jweHeader = response.jarm ? jweHeaderOf(response.jarm.responseJwt) : undefined;
    return { ok: true, ...first, replay, client_id: request.client_id, query, version: resolved.version, presented: paths, jwe_header: jweHeader, script_checks: checks };
  } catch (e) {
    return { ok: false, stage, error: String(e?.message ?? e), details: e?.errorResponse ?? e?.error_description, stack: e?.stack };
  }
}

// ---------------------------------------------------------------- verifier

/** A `direct_post.jwt` request for one `dc+sd-jwt` of `vct` with `claims` (paths), query id `q0`. */
export function requestPayload({ clientId, responseUri, nonce, encJwk, vct, claims, enc }) {
  return {
    response_type: 'vp_token',
    client_id: clientId,
    response_uri: responseUri,
    response_mode: 'direct_post.jwt',
    nonce,
    dcql_query: { credentials: [{ id: 'q0', format: 'dc+sd-jwt', meta: { vct_values: [vct] }, claims: claims.map((path) => ({ path })) }] },
    client_metadata: {
      jwks: { keys: [encJwk] },
      encrypted_response_enc_values_supported: [enc],
      vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] } },
    },
  };
}

async function verifier(req) {
  const signingKey = crypto.createPrivateKey(readFileSync(req.signing_key, 'utf8'));
  const x5c = x5cFromPem(req.chain);
  const encKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const encJwk = { ...publicJwkOf(encKey.publicKey), kid: b64u(crypto.randomBytes(8)), use: 'enc', alg: 'ECDH-ES' };
  const callbacks = {
      hash,
      fetch,
      signJwt: async (signer, { header, payload }) => {
        if (signer.method !== 'x5c') throw new Error(`signer method ${signer.method}`);
        return { jwt: es256Sign(signingKey, header, payload), signerJwk: publicJwkOf(signingKey) };
      },
      encryptJwe,
      decryptJwe: async (jwe) => {
        try {
          const { plaintext } = await jose.compactDecrypt(jwe, encKey.privateKey, { keyManagementAlgorithms: ['ECDH-ES'], contentEncryptionAlgorithms: ['A128GCM', 'A256GCM'] });
          return { decrypted: true, decryptionJwk: encJwk, payload: new TextDecoder().decode(plaintext) };
        } catch {
          return { decrypted: false };
        }
      },
      verifyJwt: verifyJwtWith(req.root, []),
  };
  const lib = new Openid4vpVerifier({ callbacks });

  const base = `https://127.0.0.1:${req.port}`;
  const id = b64u(crypto.randomBytes(12));
  const requestUri = `${base}/request/${id}`;
  const responseUri = `${base}/response/${id}`;
  const clientId = `x509_hash:${await calculateX509HashClientIdPrefixValue({ x509Certificate: x5c[0], hash })}`;
  const nonce = b64u(crypto.randomBytes(24));
  const created = await lib.createOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: requestPayload({ clientId, responseUri, nonce, encJwk, vct: req.vct, claims: req.claims, enc: req.enc ?? 'A128GCM' }),
    jar: { requestUri, jwtSigner: { method: 'x5c', x5c, alg: 'ES256' }, expiresInSeconds: 300 },
  });
  const requestJwt = created.jar.authorizationRequestJwt;
  const request = created.authorizationRequestPayload;

  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  const server = createServer({ key: readFileSync(req.tls_key), cert: readFileSync(req.tls_chain) }, (httpReq, res) => {
    let body = '';
    httpReq.setEncoding('utf8');
    httpReq.on('data', (c) => { body += c; });
    httpReq.on('end', async () => {
      const url = new URL(httpReq.url, base);
      if (url.pathname === `/request/${id}` && (httpReq.method === 'GET' || httpReq.method === 'POST')) {
        res.writeHead(200, { 'Content-Type': 'application/oauth-authz-req+jwt' });
        res.end(requestJwt);
        return;
      }
      if (url.pathname === `/response/${id}` && httpReq.method === 'POST') {
        const result = await checkResponse(lib, callbacks, request, Object.fromEntries(new URLSearchParams(body)), req.root);
        res.writeHead(result.ok ? 200 : 400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(result.ok ? {} : { error: 'invalid_request', error_description: result.error }));
        finish(result);
        return;
      }
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end('{"error":"not_found"}');
    });
  });
  await new Promise((resolve) => server.listen(req.port, '127.0.0.1', resolve));
  out({ link: created.authorizationRequest, nonce, client_id: clientId, response_uri: responseUri });
  const result = await done;
  server.close();
  return result;
}

export async function checkResponse(lib, callbacks, request, form, root, sdjwt = instance()) {
  try {
    const jweHeader = form.response ? jweHeaderOf(form.response) : undefined;
    const parsed = await lib.parseOpenid4vpAuthorizationResponse({ authorizationResponse: form, authorizationRequestPayload: request, callbacks });
    if (parsed.type !== 'dcql') throw new Error(`expected a DCQL vp_token, got ${parsed.type}`);
    const entries = parsed.dcql.presentations.q0;
    if (!Array.isArray(entries) || entries.length !== 1) throw new Error('expected one presentation for q0');
    const presentation = entries[0];
    const scriptChecks = [];
    scriptChecks.push(checkChain(decodeCompact(presentation.split('~')[0]).header.x5c ?? [], root));
    const result = await sdjwt.verify(presentation, { keyBindingNonce: request.nonce });
    if (!result.kb) throw new Error('no KB-JWT was verified');
    if (result.kb.payload.aud !== request.client_id) throw new Error(`KB-JWT aud ${result.kb.payload.aud} is not ${request.client_id}`);
    scriptChecks.push('KB-JWT aud is the prefixed client_id');
    if (jweHeader?.apv !== b64u(request.nonce)) throw new Error(`JWE apv ${jweHeader?.apv} is not base64url(nonce)`);
    scriptChecks.push('JWE apv is base64url(nonce)');
    return { ok: true, claims: result.payload, kb: { header: result.kb.header, payload: result.kb.payload }, header: result.header, jwe_header: jweHeader, script_checks: scriptChecks };
  } catch (e) {
    return { ok: false, error: String(e?.error_description ?? e?.message ?? e), details: e?.errorResponse };
  }
}

// ---------------------------------------------------------------- main

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  setTimeout(() => {
    process.stderr.write('openid4vp.mjs: watchdog expired (120 s)\n');
    process.exit(3);
  }, 120_000).unref();
  const command = process.argv[2];
  try {
    const req = JSON.parse(await readStdin());
    let result;
    if (command === 'wallet') result = await wallet(req);
    else if (command === 'verifier') result = await verifier(req);
    else {
      process.stderr.write(`usage: node openid4vp.mjs wallet|verifier (got ${command})\n`);
      process.exit(2);
    }
    out(result);
    process.exit(result.ok ? 0 : 1);
  } catch (e) {
    process.stderr.write(`openid4vp.mjs: ${e?.stack ?? e}\n`);
    process.exit(2);
  }
}
