// An OpenID4VCI 1.0 wallet built only on Animo's @openid4vc/openid4vci + @openid4vc/oauth2 0.4.6
// (plus node:crypto for keys), used by crates/esspass/tests/oid4vci_interop.rs.
//
//   node wallet-vci.mjs pre-authorized <offer-link> <tx_code>
//
// Resolves the offer (by reference or by value) and the issuer + authorization server metadata,
// gets a DPoP-bound access token with the pre-authorized code and the tx_code, asks the nonce
// endpoint for a c_nonce, signs an `openid4vci-proof+jwt` with a fresh P-256 holder key, requests
// the first configuration of the offer, and prints one JSON object on stdout:
//   {"ok": true, credential, credentials, credential_configuration_id, holder_private_pem,
//    holder_public_jwk, token_type, offer}                                                   exit 0
//   {"ok": false, stage, error, details?, offer?}                                            exit 1
// Any other exit is a broken harness. The demo root must be trusted through NODE_EXTRA_CA_CERTS
// (Node's fetch honours it); nothing else is relaxed: the libraries' own https-only checks apply.
import crypto from 'node:crypto'
import {
  Openid4vciClient,
} from '@openid4vc/openid4vci'
import { HashAlgorithm, clientAuthenticationDynamic } from '@openid4vc/oauth2'

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

const callbacks = {
  fetch: (...args) => fetch(...args),
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
  clientAuthentication: clientAuthenticationDynamic({ clientId: 'esspass-interop-wallet' }),
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
    offer,
  }
}

const [cmd, ...args] = process.argv.slice(2)
try {
  if (cmd !== 'pre-authorized' || args.length !== 2) {
    process.stderr.write('usage: node wallet-vci.mjs pre-authorized <offer-link> <tx_code>\n')
    process.exit(2)
  }
  const out = await preAuthorized(args[0], args[1])
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
