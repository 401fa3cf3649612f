//! The trust node (the operator's publication point) and the gateway (procedure and country → the
//! competent institution's portal), over HTTPS: lists served with ETags and never when they do not
//! verify, bundle paths that leave the bundle refused, the gateway's hand-over found in the
//! Institution Repository and confirmed by the Issuer Trusted List, its refusals with their codes,
//! its page without script and with what a stranger typed escaped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::Value;

struct World {
    trust: String,
    gateway: String,
    client: reqwest::Client,
    pki: std::path::PathBuf,
    _nodes: (esspass_node::trust::RunningTrust, esspass_node::gateway::RunningGateway),
}

async fn world() -> World {
    let s = support::setup("si-zzzs");
    let pki = s.pki.clone();
    std::fs::create_dir_all(pki.join("bundle/revocations")).unwrap();
    std::fs::write(pki.join("bundle/manifest.jwt"), "not really a manifest").unwrap();
    std::fs::write(pki.join("secret.txt"), "outside the bundle").unwrap();
    let tl = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let trust = format!("https://127.0.0.1:{}", tl.local_addr().unwrap().port());
    std::fs::write(
        pki.join("trust.toml"),
        format!("role = \"trust\"\nlisten = \"127.0.0.1:0\"\npublic_url = \"{trust}\"\ntls_chain = \"services/trust-operator/tls-chain.pem\"\ntls_key = \"services/trust-operator/tls.key\"\ntrust_anchor = \"root/ca.pem\"\nlists = \"trusted-lists\"\nbundle = \"bundle\"\n"),
    )
    .unwrap();
    let t = esspass_node::trust::start(esspass_node::trust::TrustNodeConfig::load(&pki.join("trust.toml")).unwrap(), Some(tl)).await.unwrap();
    let gl = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gateway = format!("https://127.0.0.1:{}", gl.local_addr().unwrap().port());
    std::fs::write(
        pki.join("gateway.toml"),
        format!("role = \"gateway\"\nlisten = \"127.0.0.1:0\"\npublic_url = \"{gateway}\"\ntls_chain = \"services/gateway/tls-chain.pem\"\ntls_key = \"services/gateway/tls.key\"\ntrust_anchor = \"root/ca.pem\"\nrepository = \"{trust}/trusted-lists/repository.jwt\"\nissuer_list = \"{trust}/trusted-lists/issuers.jwt\"\n\n[[check_services]]\ncountry = \"ES\"\nname = \"Hospital Universitario La Paz\"\nurl = \"https://hospital.example\"\n"),
    )
    .unwrap();
    let g = esspass_node::gateway::start(esspass_node::gateway::GatewayConfig::load(&pki.join("gateway.toml")).unwrap(), Some(gl)).await.unwrap();
    let client = reqwest::Client::builder().tls_certs_merge([reqwest::Certificate::from_der(&s.root.der).unwrap()]).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    World { trust, gateway, client, pki, _nodes: (t, g) }
}

async fn get(c: &reqwest::Client, url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status().as_u16(), r.headers().clone(), r.text().await.unwrap())
}

fn code(body: &str) -> String {
    serde_json::from_str::<Value>(body).unwrap_or_default()["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trust_node_publishes_only_lists_that_verify() {
    let w = world().await;
    let (s, h, body) = get(&w.client, &format!("{}/trusted-lists/issuers.jwt", w.trust)).await;
    assert_eq!((s, h["content-type"].to_str().unwrap()), (200, "application/jwt"));
    assert_eq!(body, std::fs::read_to_string(w.pki.join("trusted-lists/issuers.jwt")).unwrap().trim());
    // The client holding it gets 304.
    let etag = h["etag"].clone();
    let r = w.client.get(format!("{}/trusted-lists/issuers.jwt", w.trust)).header("If-None-Match", etag).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 304);
    // Only the three lists; nothing else of the folder.
    for name in ["issuers.json", "..%2Froot%2Fca.key", "other.jwt"] {
        let (s, _, body) = get(&w.client, &format!("{}/trusted-lists/{name}", w.trust)).await;
        assert_eq!((s, code(&body).as_str()), (404, "ESP-7028"), "{name}: {body}");
    }
    // The bundle: its parts, never a path leaving it.
    let (s, h, body) = get(&w.client, &format!("{}/bundle/manifest.jwt", w.trust)).await;
    assert_eq!((s, body.as_str(), h["content-type"].to_str().unwrap()), (200, "not really a manifest", "application/jwt"));
    for bad in ["../secret.txt", "..%2Fsecret.txt", "revocations/../../secret.txt", "%2e%2e/secret.txt"] {
        let (s, _, body) = get(&w.client, &format!("{}/bundle/{bad}", w.trust)).await;
        assert!(s == 404 && !body.contains("outside the bundle"), "{bad}: {s} {body}");
    }
    // A list damaged on disk is not published (and says so), never served half-checked.
    let good = std::fs::read_to_string(w.pki.join("trusted-lists/verifiers.jwt")).unwrap();
    let mut bad = good.clone();
    bad.replace_range(good.len() - 6..good.len() - 2, "AAAA");
    std::fs::write(w.pki.join("trusted-lists/verifiers.jwt"), &bad).unwrap();
    let (s, _, body) = get(&w.client, &format!("{}/trusted-lists/verifiers.jwt", w.trust)).await;
    assert_eq!((s, code(&body).as_str()), (503, "ESP-7028"), "{body}");
    std::fs::write(w.pki.join("trusted-lists/verifiers.jwt"), &good).unwrap();
    assert_eq!(get(&w.client, &format!("{}/trusted-lists/verifiers.jwt", w.trust)).await.0, 200);
    // Read only: a 10 MB body to a list is refused by method.
    let r = w.client.post(format!("{}/trusted-lists/issuers.jwt", w.trust)).body(vec![b'x'; 10 * 1024 * 1024]).send().await;
    // (The node answers 405 at once; the client may still be sending and see the connection close.)
    assert!(r.as_ref().map_or(true, |r| [405, 413].contains(&r.status().as_u16())), "a write to the trust node: {r:?}");
    assert_eq!(get(&w.client, &format!("{}/trusted-lists/issuers.jwt", w.trust)).await.0, 200, "still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_hands_over_to_the_competent_institution_found_in_the_lists() {
    let w = world().await;
    let (s, _, body) = get(&w.client, &format!("{}/api/v1/handoff?procedure=ehic&country=SI", w.gateway)).await;
    assert_eq!(s, 200, "{body}");
    let h: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((h["institution_id"].as_str(), h["country"].as_str()), (Some("SI:ZZZS"), Some("SI")), "{h}");
    assert!(h["url"].as_str().unwrap().ends_with("/portal/ehic"), "{h}");
    // The A1 in Greece: e-EFKA; IT has one institution for both.
    let (_, _, body) = get(&w.client, &format!("{}/api/v1/handoff?procedure=a1&country=GR", w.gateway)).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["institution_id"], "EL:EFKA01", "{body}");
    // GR's institution is not authorised for the EHIC in the Issuer Trusted List: nobody.
    let (s, _, body) = get(&w.client, &format!("{}/api/v1/handoff?procedure=ehic&country=GR", w.gateway)).await;
    assert_eq!((s, code(&body).as_str()), (404, "ESP-7027"), "{body}");
    for q in ["procedure=pension&country=SI", "procedure=ehic&country=US", "procedure=ehic&country=XX", "procedure=ehic", "country=SI", ""] {
        let (s, _, body) = get(&w.client, &format!("{}/api/v1/handoff?{q}", w.gateway)).await;
        assert_eq!((s, code(&body).as_str()), (400, "ESP-7026"), "{q}: {body}");
    }
    // The form: a 303 to the portal; the page has no script, a strict policy, labels.
    let (s, h2, _) = get(&w.client, &format!("{}/go?procedure=ehic&country=SI", w.gateway)).await;
    assert_eq!((s, h2["location"].to_str().unwrap()), (303, h["url"].as_str().unwrap()));
    let (s, h, page) = get(&w.client, &format!("{}/", w.gateway)).await;
    assert_eq!(s, 200);
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe") && !page.contains("<script"), "{csp}");
    assert!(page.contains("<html lang=\"en\">") && page.contains("<label for=\"country\">") && page.contains("value=\"SI\""), "{page}");
    // What a stranger puts in the query is never echoed as markup.
    let (s, _, page) = get(&w.client, &format!("{}/go?procedure=%3Cscript%3Ealert(1)%3C%2Fscript%3E&country=SI", w.gateway)).await;
    assert_eq!(s, 400);
    assert!(!page.contains("<script") && page.contains("role=\"alert\""), "{page}");
    let procedures: Value = w.client.get(format!("{}/api/v1/procedures", w.gateway)).send().await.unwrap().json().await.unwrap();
    assert_eq!(procedures["procedures"].as_array().unwrap().len(), 3);
    // "Check a document": the desks the gateway's operator lists, per country.
    let (s, _, body) = get(&w.client, &format!("{}/api/v1/handoff?procedure=check&country=ES", w.gateway)).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["url"], "https://hospital.example/portal");
    let (s, h, _) = get(&w.client, &format!("{}/go?procedure=check&country=ES", w.gateway)).await;
    assert_eq!((s, h["location"].to_str().unwrap()), (303, "https://hospital.example/portal"));
    let (s, _, body) = get(&w.client, &format!("{}/api/v1/handoff?procedure=check&country=FR", w.gateway)).await;
    assert_eq!((s, code(&body).as_str()), (404, "ESP-7027"), "{body}");
    assert!(page.contains("value=\"check\""), "the chooser offers it");
    assert!(procedures["countries"].as_array().unwrap().iter().any(|c| c == "ES"), "{procedures}");
}
