//! A small Europe on 127.0.0.1: the demo PKI, one configuration file per node (written to
//! `DATA/nodes/`, each runnable on its own with `esspass serve --config`), and the nodes started in
//! this process over HTTPS on SQLite — the trust operator, the gateway, the PID provider, the
//! institutions of SI, GR, IT and ES (EESSI access points reading the Institution Repository from
//! the trust node), the Spanish hospital and the Italian labour inspectorate (reading their
//! trusted lists from the trust node). Then the institutions' registers are filled through their
//! back-office APIs.

use crate::Failure;
use esspass_core::ErrorCode;
use serde::Serialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Fixed ports of `esspass demo` (the demo PKI names the institutions' URLs with them).
pub const GATEWAY_PORT: u16 = 8400;
pub const TRUST_PORT: u16 = 8430;
pub const WALLET_PORT: u16 = 8460;

/// A node of the network, as `network.json` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    pub name: String,
    pub role: &'static str,
    pub country: &'static str,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institution_id: Option<String>,
    pub config: PathBuf,
    /// The demo's API keys of this node, by role (a demonstration only: real keys are never
    /// written anywhere but the holder's own store).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub api_keys: serde_json::Map<String, Value>,
}

/// The wallet client registered at every institution for the authorization-code flow.
pub const WALLET_CLIENT_ID: &str = "esspass-demo-wallet";

/// An institution of the demo.
pub struct Inst {
    pub slug: &'static str,
    pub id: &'static str,
    pub name: &'static str,
    pub country: &'static str,
    pub types: &'static str,
}

/// A member of an institution's staff in the demo (`[[staff]]`): signs in to the portal with a PID
/// the demo PID provider issues on request (the data is in network.json).
pub struct StaffMember {
    pub institution: &'static str,
    pub name: &'static str,
    pub role: &'static str,
    pub personal_number: &'static str,
    pub family_name: &'static str,
    pub given_name: &'static str,
    pub birth_date: &'static str,
    pub birth_place: &'static str,
}

pub const STAFF: &[StaffMember] = &[
    StaffMember { institution: "si-zzzs", name: "maja.horvat", role: "case_worker", personal_number: "SI1982031544", family_name: "Horvat", given_name: "Maja", birth_date: "1982-03-15", birth_place: "Celje" },
    StaffMember { institution: "si-zzzs", name: "tone.kralj", role: "auditor", personal_number: "SI1970070766", family_name: "Kralj", given_name: "Tone", birth_date: "1970-07-07", birth_place: "Koper" },
    StaffMember { institution: "el-efka", name: "dimitra.georgiou", role: "case_worker", personal_number: "GR05068104421", family_name: "Georgiou", given_name: "Dimitra", birth_date: "1981-06-05", birth_place: "Patra" },
    StaffMember { institution: "el-efka", name: "kostas.auditor", role: "auditor", personal_number: "GR21097502218", family_name: "Alexiou", given_name: "Kostas", birth_date: "1975-09-21", birth_place: "Larisa" },
    StaffMember { institution: "it-inps", name: "giulia.bianchi", role: "case_worker", personal_number: "BNCGLI84D41H501Z", family_name: "Bianchi", given_name: "Giulia", birth_date: "1984-04-01", birth_place: "Roma" },
    StaffMember { institution: "es-inss", name: "javier.ruiz", role: "case_worker", personal_number: "ES87654321X", family_name: "Ruiz", given_name: "Javier", birth_date: "1979-12-12", birth_place: "Sevilla" },
];

pub const INSTITUTIONS: &[Inst] = &[
    Inst { slug: "si-zzzs", id: "SI:ZZZS", name: "ZZZS", country: "SI", types: "[\"ehic\"]" },
    Inst { slug: "el-efka", id: "EL:EFKA01", name: "e-EFKA", country: "GR", types: "[\"pda1\"]" },
    Inst { slug: "it-inps", id: "IT:INPS01", name: "INPS", country: "IT", types: "[\"pda1\", \"ehic\"]" },
    Inst { slug: "es-inss", id: "ES:INSS01", name: "INSS", country: "ES", types: "[\"ehic\", \"pda1\"]" },
];

/// The running network.
pub struct Network {
    pub dir: PathBuf,
    pub pki: PathBuf,
    pub nodes: Vec<NodeInfo>,
    pub client: reqwest::Client,
    pub root_der: Vec<u8>,
    running: Vec<Box<dyn std::any::Any + Send>>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| Failure::usage(ErrorCode::FileUnwritable, format!("{}: {e}", path.display()))
}

fn random_key(prefix: &str) -> String {
    format!("{prefix}-{}", esspass_credential::b64::encode(esspass_credential::random_bytes::<24>()))
}

fn bind(port: u16, any: bool) -> Result<std::net::TcpListener, Failure> {
    let p = if any { 0 } else { port };
    std::net::TcpListener::bind(("127.0.0.1", p)).map_err(|e| {
        Failure::usage(ErrorCode::FetchFailed, format!("port {p} on 127.0.0.1: {e} (another demo still running? stop it, or run with --any-ports)"))
    })
}

fn url_of(l: &std::net::TcpListener) -> Result<String, Failure> {
    Ok(format!("https://127.0.0.1:{}", l.local_addr().map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?.port()))
}

fn start_err(what: &str) -> impl Fn(String) -> Failure + '_ {
    move |e| Failure::usage(ErrorCode::Internal, format!("{what} did not start: {e}"))
}

impl Network {
    /// Look a node up by name.
    pub fn node(&self, name: &str) -> Result<&NodeInfo, Failure> {
        self.nodes.iter().find(|n| n.name == name).ok_or_else(|| Failure::usage(ErrorCode::Internal, format!("no node {name}")))
    }

    pub fn key(&self, node: &str, role: &str) -> Result<String, Failure> {
        self.node(node)?.api_keys.get(role).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| Failure::usage(ErrorCode::Internal, format!("no {role} key at {node}")))
    }

    /// Make the PKI and the configurations, and start every node (inside a tokio runtime).
    pub async fn start(dir: &Path, any_ports: bool) -> Result<Network, Failure> {
        let pki = dir.join("pki");
        let nodes_dir = dir.join("nodes");
        for d in [nodes_dir.clone(), dir.join("db"), dir.join("secrets"), dir.join("bundle")] {
            std::fs::create_dir_all(&d).map_err(io(&d))?;
        }
        let t = time::OffsetDateTime::now_utc();
        let manifest = esspass_keys::pki::init_demo(&pki, t)?;
        let mut nodes = Vec::new();
        let mut running: Vec<Box<dyn std::any::Any + Send>> = Vec::new();
        let mut listeners = std::collections::HashMap::new();
        // Every port first: the institutions' certificates must name their URLs.
        for i in INSTITUTIONS.iter().map(|i| i.slug).chain(["si-pid"]) {
            let info = manifest.institution(i).ok_or_else(|| Failure::usage(ErrorCode::Internal, format!("the demo PKI has no {i}")))?;
            let l = bind(info.port, any_ports)?;
            let url = url_of(&l)?;
            if url != info.iss {
                esspass_keys::pki::reissue_institution(&pki, i, &url, t)?;
            }
            listeners.insert(i, l);
        }
        let trust_l = bind(TRUST_PORT, any_ports)?;
        let trust_url = url_of(&trust_l)?;
        let gateway_l = bind(GATEWAY_PORT, any_ports)?;
        let gateway_url = url_of(&gateway_l)?;
        let lists = format!("{trust_url}/trusted-lists");
        let rel = |p: &str| format!("../pki/{p}");
        let db = |name: &str| format!("sqlite:../db/{name}.db");
        let write = |name: &str, text: String| -> Result<PathBuf, Failure> {
            let p = nodes_dir.join(format!("{name}.toml"));
            std::fs::write(&p, text).map_err(io(&p))?;
            Ok(p)
        };
        let key_line = |name: &str, role: &str, key: &str, extra: &str| format!("\n[[api_keys]]\nname = \"{name}\"\nrole = \"{role}\"{extra}\nsha256 = \"{}\"\n", esspass_store::hash_secret(key));

        // The trust operator publishes what it signed.
        let cfg = write(
            "trust",
            format!(
                "role = \"trust\"\nlisten = \"{}\"\npublic_url = \"{trust_url}\"\ntls_chain = \"{}\"\ntls_key = \"{}\"\ntrust_anchor = \"{}\"\nlists = \"{}\"\nbundle = \"../bundle\"\n",
                trust_url.trim_start_matches("https://"),
                rel("services/trust-operator/tls-chain.pem"),
                rel("services/trust-operator/tls.key"),
                rel("root/ca.pem"),
                rel("trusted-lists")
            ),
        )?;
        let n = esspass_node::trust::start(esspass_node::trust::TrustNodeConfig::load(&cfg).map_err(start_err("the trust node"))?, Some(trust_l)).await.map_err(start_err("the trust node"))?;
        running.push(Box::new(Stop(Some(Box::new(move || n.stop())))));
        nodes.push(NodeInfo { name: "trust".into(), role: "trust", country: "EU", url: trust_url.clone(), institution_id: None, config: cfg, api_keys: Default::default() });

        // The PID provider, with its back office.
        let bo = random_key("bo");
        let info = manifest.institution("si-pid").ok_or_else(|| Failure::usage(ErrorCode::Internal, "si-pid"))?;
        let pid_listener = listeners.remove("si-pid").ok_or_else(|| Failure::usage(ErrorCode::Internal, "si-pid"))?;
        let url = url_of(&pid_listener)?;
        let cfg = write(
            "si-pid",
            format!(
                "role = \"pid_provider\"\nlisten = \"{}\"\npublic_url = \"{url}\"\ndatabase = \"{}\"\nsecret_file = \"../secrets/si-pid.secret\"\n\n[institution]\nid = \"{}\"\nname = \"{}\"\ncountry = \"SI\"\nsigning_key = \"{}\"\nchain = \"{}\"\ntls_key = \"{}\"\ntls_chain = \"{}\"\ncredential_types = [\"pid\"]\n{}",
                url.trim_start_matches("https://"),
                db("si-pid"),
                info.institution_id,
                info.name,
                rel(&info.signing_key),
                rel(&info.chain),
                rel(&info.tls_key),
                rel(&info.tls_chain),
                key_line("back-office", "back_office", &bo, "")
            ),
        )?;
        let node = esspass_node::node::start(esspass_node::config::NodeConfig::load(&cfg).map_err(start_err("the PID provider"))?, Some(pid_listener)).await.map_err(start_err("the PID provider"))?;
        running.push(Box::new(Stop(Some(Box::new(move || node.stop())))));
        let mut keys = serde_json::Map::new();
        keys.insert("back_office".into(), json!(bo));
        nodes.push(NodeInfo { name: "si-pid".into(), role: "pid_provider", country: "SI", url, institution_id: Some(info.institution_id.clone()), config: cfg, api_keys: keys });

        // The institutions: issuers, EESSI access points, PID sign-in, back offices.
        let wallet_redirect = "https://127.0.0.1/esspass-demo-wallet/callback";
        for inst in INSTITUTIONS {
            let info = manifest.institution(inst.slug).ok_or_else(|| Failure::usage(ErrorCode::Internal, inst.slug))?;
            let listener = listeners.remove(inst.slug).ok_or_else(|| Failure::usage(ErrorCode::Internal, inst.slug))?;
            let url = url_of(&listener)?;
            let mut keys = serde_json::Map::new();
            let mut key_lines = String::new();
            for (role, name) in [("back_office", "back-office"), ("case_worker", "case-worker"), ("auditor", "auditor")] {
                let k = random_key(&role.replace('_', "-"));
                key_lines.push_str(&key_line(name, role, &k, ""));
                keys.insert(role.into(), json!(k));
            }
            for m in STAFF.iter().filter(|m| m.institution == inst.slug) {
                key_lines.push_str(&format!(
                    "\n[[staff]]\nname = \"{}\"\nrole = \"{}\"\npersonal_number = \"{}\"\nfamily_name = \"{}\"\ngiven_name = \"{}\"\nbirth_date = \"{}\"\n",
                    m.name, m.role, m.personal_number, m.family_name, m.given_name, m.birth_date
                ));
            }
            if inst.slug == "el-efka" {
                let k = random_key("employer");
                key_lines.push_str(&key_line("yiannis-constructions", "employer", &k, "\nemployer_id = \"EL094019245\""));
                keys.insert("employer".into(), json!(k));
            }
            // Verifiers may cache a status list this long: short, so that a withdrawal shows soon.
            let ttl = if inst.slug == "el-efka" { 2 } else { 60 };
            let cfg = write(
                inst.slug,
                format!(
                    "role = \"institution\"\nlisten = \"{listen}\"\npublic_url = \"{url}\"\ndatabase = \"{db}\"\nsecret_file = \"../secrets/{slug}.secret\"\n\n[institution]\nid = \"{id}\"\nname = \"{name}\"\ncountry = \"{country}\"\nsigning_key = \"{sk}\"\nchain = \"{ch}\"\ntls_key = \"{tk}\"\ntls_chain = \"{tc}\"\ncredential_types = {types}\n\n[status]\nlist_size = 65536\nttl = {ttl}\n\n[sign_in]\ndemo_eid = false\n\n[sign_in.pid]\nverifier_id = \"{id}\"\nsigning_key = \"{vsk}\"\nchain = \"{vch}\"\ntrust_anchor = \"{root}\"\nissuer_list = \"{itl}\"\nverifier_list = \"{vtl}\"\n\n[eessi]\ntrust_anchor = \"{root}\"\nrepository = \"{lists}/repository.jwt\"\ndeliver_every_seconds = 1\n\n[[clients]]\nclient_id = \"{WALLET_CLIENT_ID}\"\nredirect_uris = [\"{wallet_redirect}\"]\n\n[audit]\ncheckpoint_file = \"../db/{slug}-audit-checkpoints.jsonl\"\n{key_lines}",
                    listen = url.trim_start_matches("https://"),
                    db = db(inst.slug),
                    slug = inst.slug,
                    id = inst.id,
                    name = inst.name,
                    country = inst.country,
                    sk = rel(&info.signing_key),
                    ch = rel(&info.chain),
                    tk = rel(&info.tls_key),
                    tc = rel(&info.tls_chain),
                    types = inst.types,
                    vsk = rel(&format!("verifiers/{}-signin/signing.key", inst.slug)),
                    vch = rel(&format!("verifiers/{}-signin/chain.pem", inst.slug)),
                    root = rel("root/ca.pem"),
                    itl = rel("trusted-lists/issuers.jwt"),
                    vtl = rel("trusted-lists/verifiers.jwt"),
                ),
            )?;
            let what = format!("{} ({})", inst.name, inst.country);
            let node = esspass_node::node::start(esspass_node::config::NodeConfig::load(&cfg).map_err(start_err(&what))?, Some(listener)).await.map_err(start_err(&what))?;
            running.push(Box::new(Stop(Some(Box::new(move || node.stop())))));
            nodes.push(NodeInfo { name: inst.slug.into(), role: "institution", country: inst.country, url, institution_id: Some(inst.id.into()), config: cfg, api_keys: keys });
        }

        // The verifiers: their trusted lists come from the trust node.
        for v in manifest.verifiers.iter().filter(|v| ["es-hospital", "it-inl"].contains(&v.slug.as_str())) {
            let (profile, claims, purpose) = if v.slug == "es-hospital" {
                ("ehic-healthcare", "[[\"issuing_authority\"], [\"authentic_source\"], [\"document_number\"], [\"personal_administrative_number\"], [\"date_of_issuance\"], [\"date_of_expiry\"], [\"starting_date\"], [\"ending_date\"]]", "Treatment of a visitor under the European Health Insurance Card")
            } else {
                ("pda1-inspection", "[[\"issuing_authority\"], [\"authentic_source\"], [\"document_number\"], [\"personal_administrative_number\"], [\"date_of_issuance\"], [\"date_of_expiry\"], [\"starting_date\"], [\"ending_date\"], [\"employer\"], [\"work_information\"], [\"legislation_country\"], [\"status_confirmation\"], [\"transitional_rules\"]]", "Inspection of posted work: the worker's applicable legislation")
            };
            let l = bind(v.port, any_ports)?;
            let url = url_of(&l)?;
            let desk = random_key("desk");
            let cfg = write(
                &v.slug,
                format!(
                    "role = \"verifier\"\nlisten = \"{}\"\npublic_url = \"{url}\"\ndatabase = \"{}\"\nsecret_file = \"../secrets/{}.secret\"\n\n[verifier]\nid = \"{}\"\nname = \"{}\"\nsigning_key = \"{}\"\nchain = \"{}\"\ntls_key = \"{}\"\ntls_chain = \"{}\"\n\n[trust]\nanchor = \"{}\"\nissuer_list = \"{lists}/issuers.jwt\"\nverifier_list = \"{lists}/verifiers.jwt\"\n\n[[profiles]]\nname = \"{profile}\"\ncredential_type = \"{}\"\nclaims = {claims}\npolicy_version = \"2026-1\"\npurpose = \"{purpose}\"\n{}",
                    url.trim_start_matches("https://"),
                    db(&v.slug),
                    v.slug,
                    v.verifier_id,
                    v.name,
                    rel(&v.signing_key),
                    rel(&v.chain),
                    rel(&v.tls_key),
                    rel(&v.tls_chain),
                    rel("root/ca.pem"),
                    if v.slug == "es-hospital" { "ehic" } else { "pda1" },
                    key_line("desk", "verifier", &desk, "")
                ),
            )?;
            let what = v.name.clone();
            let node = esspass_node::verifier::start(esspass_node::verifier::config::VerifierConfig::load(&cfg).map_err(start_err(&what))?, Some(l)).await.map_err(start_err(&what))?;
            running.push(Box::new(Stop(Some(Box::new(move || node.stop())))));
            let mut keys = serde_json::Map::new();
            keys.insert("verifier".into(), json!(desk));
            let country = if v.slug == "es-hospital" { "ES" } else { "IT" };
            nodes.push(NodeInfo { name: v.slug.clone(), role: "verifier", country, url, institution_id: Some(v.verifier_id.clone()), config: cfg, api_keys: keys });
        }

        // The gateway reads the Institution Repository and the Issuer Trusted List from the trust node.
        // "Check a document" hands over to the verifiers' desks.
        let checks: String = nodes
            .iter()
            .filter(|n| n.role == "verifier")
            .map(|n| format!("\n[[check_services]]\ncountry = \"{}\"\nname = \"{}\"\nurl = \"{}\"\n", n.country, n.name, n.url))
            .collect();
        let cfg = write(
            "gateway",
            format!(
                "role = \"gateway\"\nlisten = \"{}\"\npublic_url = \"{gateway_url}\"\ntls_chain = \"{}\"\ntls_key = \"{}\"\ntrust_anchor = \"{}\"\nrepository = \"{lists}/repository.jwt\"\nissuer_list = \"{lists}/issuers.jwt\"\n{checks}",
                gateway_url.trim_start_matches("https://"),
                rel("services/gateway/tls-chain.pem"),
                rel("services/gateway/tls.key"),
                rel("root/ca.pem"),
            ),
        )?;
        let g = esspass_node::gateway::start(esspass_node::gateway::GatewayConfig::load(&cfg).map_err(start_err("the gateway"))?, Some(gateway_l)).await.map_err(start_err("the gateway"))?;
        running.push(Box::new(Stop(Some(Box::new(move || g.stop())))));
        nodes.push(NodeInfo { name: "gateway".into(), role: "gateway", country: "EU", url: gateway_url, institution_id: None, config: cfg, api_keys: Default::default() });

        // The web wallet, for people without an EUDI wallet app (Živa uses it in the demo).
        let wallet_l = bind(WALLET_PORT, any_ports)?;
        let wallet_url = url_of(&wallet_l)?;
        let cfg = write(
            "wallet",
            format!(
                "role = \"wallet\"\nlisten = \"{}\"\npublic_url = \"{wallet_url}\"\ndatabase = \"{}\"\nsecret_file = \"../secrets/wallet.secret\"\ntls_chain = \"{}\"\ntls_key = \"{}\"\ntrust_anchor = \"{}\"\nverifier_list = \"{lists}/verifiers.jwt\"\nwallets = \"../web-wallets\"\n",
                wallet_url.trim_start_matches("https://"),
                db("wallet"),
                rel("services/wallet/tls-chain.pem"),
                rel("services/wallet/tls.key"),
                rel("root/ca.pem"),
            ),
        )?;
        let ww = esspass_node::webwallet::start(esspass_node::webwallet::WebWalletConfig::load(&cfg).map_err(start_err("the web wallet"))?, Some(wallet_l)).await.map_err(start_err("the web wallet"))?;
        running.push(Box::new(Stop(Some(Box::new(move || ww.stop())))));
        nodes.push(NodeInfo { name: "wallet".into(), role: "wallet", country: "EU", url: wallet_url, institution_id: None, config: cfg, api_keys: Default::default() });

        let root_pem = std::fs::read_to_string(pki.join("root/ca.pem")).map_err(io(&pki))?;
        let root = esspass_credential::x509::Certificate::from_pem(&root_pem).map_err(|e| Failure::usage(e.code, e.detail))?;
        let client = reqwest::Client::builder()
            .tls_certs_merge([reqwest::Certificate::from_der(&root.der).map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?])
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?;
        let net = Network { dir: dir.to_path_buf(), pki, nodes, client, root_der: root.der, running };
        for n in &net.nodes {
            net.ready(&n.url).await?;
        }
        Ok(net)
    }

    async fn ready(&self, url: &str) -> Result<(), Failure> {
        for _ in 0..100 {
            if self.client.get(format!("{url}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(Failure::usage(ErrorCode::FetchFailed, format!("{url} is not ready")))
    }

    /// A request to a node with one of its API keys: status and JSON answer.
    pub async fn call(&self, node: &str, role: &str, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<(u16, Value), Failure> {
        let key = self.key(node, role)?;
        let url = format!("{}{path}", self.node(node)?.url);
        let mut r = self.client.request(method, &url).bearer_auth(key);
        if let Some(b) = body {
            r = r.json(b);
        }
        let resp = r.send().await.map_err(|e| Failure::usage(ErrorCode::FetchFailed, format!("{url}: {e}")))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| Failure::usage(ErrorCode::FetchFailed, format!("{url}: {e}")))?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// The trust operator builds and signs the offline trust bundle (the Issuer Trusted List, every
    /// institution's signed revocation export, their status lists) into the folder its node serves
    /// under `/bundle/`: what a verifier checks paper against without a network.
    pub async fn build_bundle(&self) -> Result<crate::cmd::bundle::BuildSummary, Failure> {
        let revocations: Vec<String> = self.nodes.iter().filter(|n| n.role == "institution").map(|n| format!("{}/revocations", n.url)).collect();
        let (pki, out) = (self.pki.clone(), self.dir.join("bundle"));
        let root = pki.join("root/ca.pem");
        tokio::task::spawn_blocking(move || {
            let args = crate::cmd::bundle::BuildArgs {
                trust_anchor: &root,
                trusted_list: &pki.join("trusted-lists/issuers.jwt"),
                key: &pki.join("trust-operator/signing.key"),
                chain: &pki.join("trust-operator/chain.pem"),
                revocations: &revocations,
                status_lists: &[],
                tls_ca: &[],
                out: &out,
            };
            crate::cmd::bundle::build(&args, time::OffsetDateTime::now_utc().unix_timestamp())
        })
        .await
        .map_err(|e| Failure::usage(ErrorCode::Internal, e.to_string()))?
    }

    /// `network.json`: every node's URL, role, institution id, configuration and demo API keys.
    pub fn write_description(&self) -> Result<PathBuf, Failure> {
        let p = self.dir.join("network.json");
        let staff: Vec<Value> = STAFF
            .iter()
            .map(|m| json!({"institution": m.institution, "name": m.name, "role": m.role, "personal_number": m.personal_number, "family_name": m.family_name, "given_name": m.given_name, "birth_date": m.birth_date, "birth_place": m.birth_place}))
            .collect();
        let v = json!({"pki": self.pki, "trust_anchor": self.pki.join("root/ca.pem"), "nodes": self.nodes, "staff": staff});
        std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap_or_default()).map_err(io(&p))?;
        Ok(p)
    }

    pub fn stop(mut self) {
        self.running.clear();
    }
}

/// Stops a node when dropped.
struct Stop(Option<Box<dyn FnOnce() + Send>>);

impl Drop for Stop {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}
