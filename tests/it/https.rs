//! The HTTPS client (`src/aws/https.rs`: rustls on `ring`, the platform's trust store) end to end.
//! Every other test talks plain HTTP to the emulator, so this one starts a TLS server on loopback with
//! a certificate for 127.0.0.1 from a throwaway authority, answering `sts:GetCallerIdentity`, and runs
//! the `mamori` binary against it: with the authority trusted (`SSL_CERT_FILE`, which the trust-store
//! loader reads) the run knows the caller; without, the TLS handshake refuses the unknown issuer.
//! A binary per run, because the SDK loads the trust store once per process.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::harness::{baseline_file, mamori, repo, stderr, stdout};

/// Makes a throwaway certificate authority (its certificate written to `argv[1]`) and a certificate
/// it signs for 127.0.0.1, then serves TLS with it on a free port (printed first), answering any
/// request with the caller identity of account 111122223333. Runs on moto's venv, which has
/// `cryptography`.
const STS_SERVER: &str = r#"
import datetime, http.server, ipaddress, ssl, sys, tempfile
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

def certificate(subject, issuer, key, signer, ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(signer, hashes.SHA256())

name = lambda common: x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])
ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
ca = certificate(name("mamori test CA"), name("mamori test CA"), ca_key, ca_key, True)
server_cert = certificate(name("127.0.0.1"), ca.subject, server_key, ca_key, False)
with open(sys.argv[1], "wb") as out:
    out.write(ca.public_bytes(serialization.Encoding.PEM))
chain = tempfile.NamedTemporaryFile(suffix=".pem")
chain.write(server_cert.public_bytes(serialization.Encoding.PEM))
chain.write(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
chain.flush()

IDENTITY = (b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
            b'<Arn>arn:aws:iam::111122223333:user/tls</Arn><UserId>AIDATLS</UserId><Account>111122223333</Account>'
            b'</GetCallerIdentityResult><ResponseMetadata><RequestId>tls</RequestId></ResponseMetadata></GetCallerIdentityResponse>')

class Identity(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(IDENTITY)))
        self.end_headers()
        self.wfile.write(IDENTITY)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Identity)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(chain.name)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// The TLS server, stopped when dropped.
struct TlsServer {
    child: Child,
    endpoint: String,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server with moto's venv (installed if it is not yet: `emulator.py install moto` prints
/// where), writing its authority's certificate to `ca`.
fn start_tls_server(ca: &Path) -> TlsServer {
    let install = Command::new("python3").arg(repo().join("localstack/emulator.py")).args(["install", "moto"]).output().expect("run emulator.py");
    assert!(install.status.success(), "emulator.py install moto: {}", String::from_utf8_lossy(&install.stderr));
    let python = Path::new(String::from_utf8_lossy(&install.stdout).trim()).join("bin/python");
    let mut child = Command::new(&python).args(["-c", STS_SERVER]).arg(ca).stdout(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    let mut port = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut port).expect("the server prints its port");
    assert!(!port.trim().is_empty(), "the TLS server did not start");
    TlsServer { child, endpoint: format!("https://127.0.0.1:{}", port.trim()) }
}

#[test]
fn aws_is_reached_over_tls_and_only_with_a_trusted_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    let server = start_tls_server(&ca);
    let (_baseline_dir, baseline) = baseline_file("version: 1\nname: tls\nregions: [us-east-1]\n");
    let env = |trust: Option<&Path>| {
        let mut env = vec![
            ("AWS_ACCESS_KEY_ID", "AKIDTLS".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "tls".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL", server.endpoint.clone()),
        ];
        env.extend(trust.map(|cert| ("SSL_CERT_FILE", cert.display().to_string())));
        env
    };
    let args = ["verify", "--baseline", baseline.to_str().expect("utf-8 path"), "--output", "json"];

    let trusted = mamori(&args, &env(Some(&ca)));
    let report: serde_json::Value = serde_json::from_str(&stdout(&trusted)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&trusted)));
    assert_eq!(report["account"], "111122223333", "the caller came over TLS");
    assert_eq!(trusted.status.code(), Some(0), "every control is off: {}", stderr(&trusted));

    let untrusted = mamori(&args, &env(None));
    assert_eq!(untrusted.status.code(), Some(1));
    let message = stderr(&untrusted);
    assert!(message.contains("cannot identify the caller") && message.contains("UnknownIssuer"), "{message}");
    assert!(stdout(&untrusted).is_empty(), "no report without the caller");
}
