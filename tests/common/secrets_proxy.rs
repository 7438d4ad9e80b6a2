//! Secrets for the API server of tests/api_server/, which serves no core API group: a TLS
//! proxy in front of it that answers `GET /api/v1/namespaces/{ns}/secrets/{name}` from the
//! Secrets the test puts in it (404 for any other), records those requests so that they can be
//! held against deploy/'s RBAC, and forwards everything else to the API server as the
//! operator's user (its client certificate), so the server's audit log still sees each
//! request. The operator gets a kubeconfig that points at the proxy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::rbac::Request as AuditedRequest;

type Body = BoxBody<Bytes, hyper::Error>;
type Upstream = Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>;

/// Secrets by (namespace, name): key to value.
type Secrets = Arc<Mutex<BTreeMap<(String, String), BTreeMap<String, String>>>>;

pub struct SecretsProxy {
    /// A kubeconfig for the operator, pointing at the proxy.
    pub kubeconfig: PathBuf,
    secrets: Secrets,
    requests: Arc<Mutex<Vec<AuditedRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SecretsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn certificates(path: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).map(|c| c.expect("a certificate")).collect()
}

fn key(path: &Path) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl SecretsProxy {
    /// Starts the proxy in front of the API server whose files (certificates, kubeconfigs)
    /// are in `directory`, forwarding to `upstream` (https://127.0.0.1:port).
    pub async fn start(operator_kubeconfig: &Path, test_name: &str) -> Self {
        let directory = operator_kubeconfig.parent().expect("the API server's directory");
        let config = kube::config::Kubeconfig::read_from(operator_kubeconfig).expect("the operator's kubeconfig");
        let upstream = config.clusters[0].cluster.as_ref().and_then(|c| c.server.clone()).expect("the API server's URL");
        let server = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certificates(&directory.join("server.crt")), key(&directory.join("server.key")))
            .expect("the server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let mut roots = rustls::RootCertStore::empty();
        for ca in certificates(&directory.join("ca.crt")) {
            roots.add(ca).expect("the CA");
        }
        let client = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_client_auth_cert(certificates(&directory.join("operator.crt")), key(&directory.join("operator.key")))
            .expect("the operator's certificate");
        let https = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(client).https_only().enable_http1().build();
        let upstream_client: Upstream = Client::builder(TokioExecutor::new()).build(https);
        let upstream: http::Uri = upstream.parse().expect("the API server's URL is a URI");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let secrets: Secrets = Arc::default();
        let requests: Arc<Mutex<Vec<AuditedRequest>>> = Arc::default();
        let (served, seen) = (secrets.clone(), requests.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let (acceptor, client, upstream, served, seen) =
                    (acceptor.clone(), upstream_client.clone(), upstream.clone(), served.clone(), seen.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        let (client, upstream, served, seen) = (client.clone(), upstream.clone(), served.clone(), seen.clone());
                        async move { Ok::<_, std::convert::Infallible>(handle(request, &client, &upstream, &served, &seen).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
                });
            }
        });

        let kubeconfig = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{test_name}.proxied.kubeconfig"));
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: proxy\n  cluster:\n    server: https://127.0.0.1:{port}\n    certificate-authority: {}\nusers:\n- name: operator\n  user: {{}}\ncontexts:\n- name: operator\n  context: {{cluster: proxy, user: operator, namespace: default}}\ncurrent-context: operator\n",
            directory.join("ca.crt").display()
        );
        std::fs::write(&kubeconfig, text).unwrap_or_else(|e| panic!("write {}: {e}", kubeconfig.display()));
        Self { kubeconfig, secrets, requests, task }
    }

    /// Serves a Secret with one key.
    pub fn put_secret(&self, namespace: &str, name: &str, key: &str, value: &str) {
        let data = BTreeMap::from([(key.to_string(), value.to_string())]);
        self.secrets.lock().expect("secrets").insert((namespace.to_string(), name.to_string()), data);
    }

    /// The Secret requests the operator made, as the audit log would record them.
    pub fn secret_requests(&self) -> Vec<AuditedRequest> {
        self.requests.lock().expect("requests").clone()
    }
}

fn full(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let bytes = Bytes::from(serde_json::to_vec(&body).expect("JSON"));
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(bytes).map_err(|never| match never {}).boxed())
        .expect("response")
}

async fn handle(
    request: Request<Incoming>,
    client: &Upstream,
    upstream: &http::Uri,
    secrets: &Secrets,
    seen: &Mutex<Vec<AuditedRequest>>,
) -> Response<Body> {
    let path = request.uri().path().to_string();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let ["api", "v1", "namespaces", namespace, "secrets", name] = parts.as_slice() {
        let verb = if request.method() == http::Method::GET { "get" } else { request.method().as_str() };
        seen.lock().expect("requests").push(AuditedRequest {
            verb: verb.to_lowercase(),
            group: String::new(),
            resource: "secrets".into(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            path: path.clone(),
        });
        let found = secrets.lock().expect("secrets").get(&(namespace.to_string(), name.to_string())).cloned();
        return match found {
            Some(data) if request.method() == http::Method::GET => {
                let secret = k8s_openapi::api::core::v1::Secret {
                    metadata: kube::api::ObjectMeta {
                        name: Some(name.to_string()),
                        namespace: Some(namespace.to_string()),
                        ..Default::default()
                    },
                    data: Some(data.into_iter().map(|(k, v)| (k, k8s_openapi::ByteString(v.into_bytes()))).collect()),
                    ..Default::default()
                };
                let mut body = serde_json::to_value(secret).expect("JSON");
                body["apiVersion"] = "v1".into();
                body["kind"] = "Secret".into();
                full(StatusCode::OK, body)
            }
            _ => full(
                StatusCode::NOT_FOUND,
                serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": format!("secrets \"{name}\" not found")}),
            ),
        };
    }
    let (mut parts, body) = request.into_parts();
    let path_and_query = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
    parts.uri = format!("{}{}", upstream.to_string().trim_end_matches('/'), path_and_query).parse().expect("upstream URI");
    parts.headers.remove(http::header::HOST);
    match client.request(Request::from_parts(parts, body.boxed())).await {
        Ok(response) => response.map(|b| b.boxed()),
        Err(error) => full(
            StatusCode::BAD_GATEWAY,
            serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 502, "message": error.to_string()}),
        ),
    }
}
