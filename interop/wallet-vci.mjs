// An OpenID4VCI 1.0 wallet built only on Animo's @openid4vc/openid4vci + @openid4vc/oauth2 0.4.6
// (plus node:crypto for keys), used by crates/esspass/tests/oid4vci_interop.rs.
//
//   node wallet-vci.mjs pre-authorized <offer-link> <tx_code>
//   node wallet-vci.mjs authorization-code <credential_issuer> <configuration_id> <sign-in-json>
//   node wallet-vci.mjs offer-authorization-code <offer-link> <sign-in-json>
//
// Resolves the offer (by reference or by value) and the issuer + authorization server metadata,
// gets a DPoP-bound access token with the pre-authorized code and the tx_code, asks the nonce
// endpoint for a c_nonce, signs an `openid4vci-proof+jwt` with a fresh P-256 holder key, requests
// the first configuration of the offer.
//
// authorization-code: a wallet-initiated issuance (the offer object OpenID4VCI §4.1.1 describes,
// with the `authorization_code` grant, built by the wallet for <credential_issuer> and
// <configuration_id>). The library pushes the authorization request (PAR with PKCE S256, the
// configuration's `scope`, `resource`, DPoP) and returns the authorization URL; this script plays
// the browser: it opens the URL, reads the hidden `signin` field of the demo eID form, posts the
// form with the person of <sign-in-json> ({family_name, given_name, birth_date, personal_number})
// and reads the 303 `Location` without following it. The library checks the redirect (`iss`,
// RFC 9207), redeems the code (PKCE verifier, redirect_uri, client_id, same DPoP key) and the
// credential is fetched as above.
//
// offer-authorization-code: an issuer-initiated issuance through the authorization-code flow. The
// offer link is resolved as for pre-authorized (it must carry `grants.authorization_code.issuer_state`)
// and the authorization is started from the resolved offer, so the library itself puts the offer's
// `issuer_state` into the pushed request; then as authorization-code, for the offer's first
// configuration. The pre-authorized code of the offer is not used.
//
// All print one JSON object on stdout:
//   {"ok": true, credential, credentials, credential_configuration_id, holder_private_pem,
//    holder_public_jwk, token_type, offer, authorization?}                                  exit 0
//   {"ok": false, stage, error, details?, offer?}                                            exit 1
// Any other exit is a broken harness. The demo root must be trusted through NODE_EXTRA_CA_CERTS
// (Node's fetch honours it); nothing else is relaxed: the libraries' own https-only checks apply.
import crypto from 'node:crypto'
import {
  Openid4vciClient,
  extractScopesForCredentialConfigurationIds,
} from '@openid4vc/openid4vci'
import { HashAlgorithm, clientAuthenticationDynamic } from '@openid4vc/oauth2'

const CLIENT_ID = 'esspass-interop-wallet'
// A private-use scheme redirect (RFC 8252 §7.1), as a wallet app registers it.
const REDIRECT_URI = 'eu.esspass.interop-wallet:/callback'

const b64u = (buf) => Buffer.from(buf).toString('base64url')

// Keys of this wallet, by the `x` of their public JWK (what the library hands back to signJwt).
const keys = new Map()
function newKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
  keys.set(publicJwk.x, privateKey)
  return { privateKey, publicJwk }
}

// The form bodies the library posted, by URL (the pushed authorization request is reported back).
const posted = new Map()
const callbacks = {
  fetch: (url, init) => {
    if (init?.method === 'POST' && init.body !== undefined) {
      posted.set(String(url), Object.fromEntries(new URLSearchParams(typeof init.body === 'string' ? init.body : init.body.toString())))
    }
    return fetch(url, init)
  },
  generateRandom: (n) => new Uint8Array(crypto.randomBytes(n)),
  hash: (data, alg) => {
    const name = { [HashAlgorithm.Sha256]: 'sha256', [HashAlgorithm.Sha384]: 'sha384', [HashAlgorithm.Sha512]: 'sha512' }[alg]
    if (!name) throw new Error(`unsupported hash ${alg}`)
    return new Uint8Array(crypto.createHash(name).update(data).digest())
  },
  signJwt: async (signer, { header, payload }) => {
    if (signer.method !== 'jwk') throw new Error(`signer method ${signer.method} not supported by this wallet`)
    if (signer.alg !== 'ES256') throw new Error(`alg ${signer.alg} not supported by this wallet`)
    const key = keys.get(signer.publicJwk.x)
    if (!key) throw new Error('signJwt: unknown key')
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`
    const sig = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    return { jwt: `${input}.${b64u(sig)}`, signerJwk: signer.publicJwk }
  },
  clientAuthentication: clientAuthenticationDynamic({ clientId: CLIENT_ID }),
}

let stage = 'start'
let offer
function fail(error, details) {
  process.stdout.write(JSON.stringify({ ok: false, stage, error: String(error?.message ?? error), details, offer }) + '\n')
  process.exit(1)
}

async function preAuthorized(link, txCode) {
  const client = new Openid4vciClient({ callbacks })

  stage = 'resolve_offer'
  offer = await client.resolveCredentialOffer(link)

  stage = 'resolve_metadata'
  const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer)
  const configurationId = offer.credential_configuration_ids[0]
  if (!issuerMetadata.knownCredentialConfigurations[configurationId]) {
    throw new Error(`the client did not accept configuration ${configurationId} of the issuer metadata`)
  }

  stage = 'token'
  const dpopKey = newKey()
  const token = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer: offer,
    issuerMetadata,
    txCode,
    dpop: { signer: { method: 'jwk', alg: 'ES256', publicJwk: dpopKey.publicJwk } },
  })
  if (token.accessTokenResponse.token_type !== 'DPoP') throw new Error(`token_type ${token.accessTokenResponse.token_type}, want DPoP`)

  return { ...(await nonceProofCredential(client, issuerMetadata, configurationId, token)), offer }
}

// Nonce, key proof and credential request: the same for both flows.
async function nonceProofCredential(client, issuerMetadata, configurationId, token) {
  stage = 'nonce'
  const { c_nonce } = await client.requestNonce({ issuerMetadata })

  stage = 'proof'
  const holder = newKey()
  const proof = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    nonce: c_nonce,
    signer: { method: 'jwk', alg: 'ES256', publicJwk: holder.publicJwk },
  })

  stage = 'credential'
  const response = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: token.accessTokenResponse.access_token,
    credentialConfigurationId: configurationId,
    proofs: { jwt: [proof.jwt] },
    dpop: token.dpop,
  })
  const credentials = (response.credentialResponse.credentials ?? []).map((c) => c.credential)
  if (credentials.length === 0) throw new Error(`no credential in the response: ${JSON.stringify(response.credentialResponse)}`)

  return {
    ok: true,
    credential: credentials[0],
    credentials,
    credential_configuration_id: configurationId,
    holder_private_pem: holder.privateKey.export({ format: 'pem', type: 'pkcs8' }),
    holder_public_jwk: holder.publicJwk,
    token_type: token.accessTokenResponse.token_type,
    notification_id: response.credentialResponse.notification_id,
  }
}

// The browser's part of the authorization-code flow: open the authorization URL, fill in the demo
// eID form, return the redirect (not followed) to the wallet.
async function signInAsBrowser(authorizationRequestUrl, person) {
  stage = 'authorize_page'
  const page = await fetch(authorizationRequestUrl, { redirect: 'manual' })
  const html = await page.text()
  if (page.status !== 200) throw new Error(`GET ${new URL(authorizationRequestUrl).pathname}: HTTP ${page.status}: ${html.slice(0, 500)}`)
  const form = html.match(/<form[^>]*method="post"[^>]*action="([^"]+)"/i)
  const signin = html.match(/<input[^>]*type="hidden"[^>]*name="signin"[^>]*value="([^"]*)"/i)
  if (!form || !signin) throw new Error(`no sign-in form on the authorization page: ${html.slice(0, 500)}`)
  const unescape = (v) => v.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')

  stage = 'sign_in'
  const action = new URL(unescape(form[1]), authorizationRequestUrl)
  const body = new URLSearchParams({
    signin: unescape(signin[1]),
    family_name: person.family_name,
    given_name: person.given_name,
    birth_date: person.birth_date,
    personal_number: person.personal_number,
  })
  const answer = await fetch(action, { method: 'POST', body, redirect: 'manual' })
  const location = answer.headers.get('location')
  if (answer.status !== 303 || !location) {
    throw new Error(`POST ${action.pathname}: HTTP ${answer.status}, no redirect to the wallet: ${(await answer.text()).slice(0, 500)}`)
  }
  return { location, pageStatus: page.status, signInStatus: answer.status }
}

async function authorizationCode(credentialIssuer, configurationId, person) {
  const client = new Openid4vciClient({ callbacks })

  stage = 'resolve_metadata'
  const issuerMetadata = await client.resolveIssuerMetadata(credentialIssuer)
  // A wallet-initiated request: the offer object the client's helpers take, with the
  // authorization_code grant and no issuer_state.
  offer = { credential_issuer: credentialIssuer, credential_configuration_ids: [configurationId], grants: { authorization_code: {} } }
  return authorizeAndIssue(client, issuerMetadata, offer, person)
}

// Issuer-initiated: the wallet resolves the offer link and starts the authorization-code flow from
// the resolved offer, so the library sends the offer's `issuer_state` with the pushed request.
async function offerAuthorizationCode(link, person) {
  const client = new Openid4vciClient({ callbacks })

  stage = 'resolve_offer'
  offer = await client.resolveCredentialOffer(link)
  if (!offer.grants?.authorization_code?.issuer_state) throw new Error(`the offer has no authorization_code grant with issuer_state: ${JSON.stringify(offer.grants)}`)

  stage = 'resolve_metadata'
  const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer)
  return authorizeAndIssue(client, issuerMetadata, offer, person)
}

// PAR, the browser's sign-in, the redirect, the token and the credential, for the first
// configuration of `credentialOffer` (which must carry the authorization_code grant).
async function authorizeAndIssue(client, issuerMetadata, credentialOffer, person) {
  const configurationId = credentialOffer.credential_configuration_ids[0]
  if (!issuerMetadata.knownCredentialConfigurations[configurationId]) {
    throw new Error(`the client did not accept configuration ${configurationId} of the issuer metadata`)
  }
  const scopes = extractScopesForCredentialConfigurationIds({ credentialConfigurationIds: [configurationId], issuerMetadata, throwOnConfigurationWithoutScope: true })

  stage = 'par'
  const dpopKey = newKey()
  const dpop = { signer: { method: 'jwk', alg: 'ES256', publicJwk: dpopKey.publicJwk } }
  const auth = await client.initiateAuthorization({
    credentialOffer,
    issuerMetadata,
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: scopes.join(' '),
    dpop,
  })
  if (auth.authorizationFlow !== 'Oauth2Redirect') throw new Error(`authorization flow ${auth.authorizationFlow}, want Oauth2Redirect`)
  if (!auth.pkce || auth.pkce.codeChallengeMethod !== 'S256') throw new Error(`the client sends no PKCE S256: ${JSON.stringify(auth.pkce)}`)
  const authorizationUrl = new URL(auth.authorizationRequestUrl)
  const requestUri = authorizationUrl.searchParams.get('request_uri')
  if (!requestUri) throw new Error(`the client did not push the request (no request_uri): ${auth.authorizationRequestUrl}`)

  const browser = await signInAsBrowser(auth.authorizationRequestUrl, person)

  stage = 'authorization_response'
  const authorizationServerMetadata = issuerMetadata.authorizationServers.find((a) => a.issuer === auth.authorizationServer)
  const response = client.parseAndVerifyAuthorizationResponseRedirectUrl({ url: browser.location, authorizationServerMetadata })
  if (!response.code) throw new Error(`authorization error response: ${JSON.stringify(response)}`)

  stage = 'token'
  const token = await client.retrieveAuthorizationCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
    authorizationCode: response.code,
    pkceCodeVerifier: auth.pkce.codeVerifier,
    redirectUri: REDIRECT_URI,
    dpop: auth.dpop ?? dpop,
  })
  if (token.accessTokenResponse.token_type !== 'DPoP') throw new Error(`token_type ${token.accessTokenResponse.token_type}, want DPoP`)

  const out = await nonceProofCredential(client, issuerMetadata, configurationId, token)
  const par = posted.get(authorizationServerMetadata.pushed_authorization_request_endpoint) ?? {}
  const redirect = new URL(browser.location)
  return {
    ...out,
    offer,
    authorization: {
      authorization_endpoint: `${authorizationUrl.origin}${authorizationUrl.pathname}`,
      request_uri: requestUri,
      // What the library pushed: the parameter names and the issuer_state it took from the offer.
      par_params: Object.keys(par).sort(),
      issuer_state: par.issuer_state ?? null,
      client_id: authorizationUrl.searchParams.get('client_id'),
      redirect: `${redirect.protocol}${redirect.pathname}`,
      redirect_params: [...redirect.searchParams.keys()],
      iss: response.iss,
      code: response.code,
      code_verifier: auth.pkce.codeVerifier,
      redirect_uri: REDIRECT_URI,
      dpop_public_jwk: dpopKey.publicJwk,
    },
  }
}

const [cmd, ...args] = process.argv.slice(2)
try {
  let out
  if (cmd === 'pre-authorized' && args.length === 2) {
    out = await preAuthorized(args[0], args[1])
  } else if (cmd === 'authorization-code' && args.length === 3) {
    out = await authorizationCode(args[0], args[1], JSON.parse(args[2]))
  } else if (cmd === 'offer-authorization-code' && args.length === 2) {
    out = await offerAuthorizationCode(args[0], JSON.parse(args[1]))
  } else {
    process.stderr.write('usage: node wallet-vci.mjs pre-authorized <offer-link> <tx_code>\n' +
      '       node wallet-vci.mjs authorization-code <credential_issuer> <configuration_id> <sign-in-json>\n' +
      '       node wallet-vci.mjs offer-authorization-code <offer-link> <sign-in-json>\n')
    process.exit(2)
  }
  process.stdout.write(JSON.stringify(out) + '\n')
  process.exit(0)
} catch (e) {
  // What the library says about a refused HTTP answer (status, body) or a failed validation.
  const details = {}
  for (const k of ['response', 'errorResponse', 'credentialResponseResult', 'zodError', 'cause']) {
    if (e?.[k] !== undefined) details[k] = e[k]
  }
  if (e?.response?.status) details.status = e.response.status
  if (typeof e?.responseText === 'string') details.responseText = e.responseText
  process.stderr.write(`${e?.stack ?? e}\n`)
  fail(e, details)
}
