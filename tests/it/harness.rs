//! The test harness: starts the emulator (once per test binary, stopped when the binary exits),
//! hands out fresh accounts, and runs mamori in-process or as the real binary.
//!
//! The emulator is started through `localstack/emulator.py`, the same script users run; if it cannot
//! start, every test fails with its output: nothing is skipped silently. It runs with the shims'
//! propagation delay on ([`PROPAGATION_DELAY`]): a new IAM role, KMS key or instance profile is
//! refused for that long by the services that use it, and bucket configuration reads lag behind
//! writes, as on AWS, so every end-to-end test meets AWS's eventual consistency.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_organizations::types::OrganizationFeatureSet;
use mamori::app::{self, Invocation, Outcome};
use mamori::aws::{AccessMode, Aws, ConnectOptions, Mfa};
use mamori::engine::Silent;
use mamori::fleet::AccountSelection;
use mamori::report::{Report, Verb};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Moto,
    LocalStack,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Moto => "moto",
            Engine::LocalStack => "localstack",
        }
    }
}

pub struct Emulator {
    pub engine: Engine,
    pub endpoint: String,
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Controls of the standard baseline that converge to `pass` on every engine with no manual step:
/// tests of whole runs (exit codes, regions, JSON) select these.
pub const FULLY_AUTOMATIC: &[&str] = &["kms.baseline-key", "ebs.default-encryption", "s3.account-public-access-block", "iam.password-policy"];

pub fn standard_baseline() -> PathBuf {
    repo().join("baselines/standard.yaml")
}

/// How long the emulator's shims model AWS's propagation delays (`emulator.py --propagation-delay`).
pub const PROPAGATION_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

/// Waits out the emulator's propagation delay: for a test that wrote a bucket's configuration behind
/// mamori's back and wants mamori to read it (S3 bucket configuration is eventually consistent).
pub async fn propagated() {
    tokio::time::sleep(PROPAGATION_DELAY).await;
}

/// Who receives the alarms in [`standard_baseline_with_subscriber`].
pub const ALARM_SUBSCRIBER: &str = "security@example.com";

/// The standard baseline with one e-mail subscription to the alarm topic (the shipped one lists none:
/// a baseline cannot know the address), in a new temporary directory.
pub fn standard_baseline_with_subscriber() -> (tempfile::TempDir, PathBuf) {
    let standard = std::fs::read_to_string(standard_baseline()).expect("read the standard baseline");
    assert!(standard.contains("    subscriptions: []\n"), "the standard baseline lists no subscription");
    let subscription = format!("    subscriptions:\n      - {{protocol: email, endpoint: {ALARM_SUBSCRIBER}}}\n");
    baseline_file(&standard.replace("    subscriptions: []\n", &subscription))
}

/// The emulator of this test binary, started on first use.
pub fn emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(|| {
        let engine = match std::env::var("MAMORI_TEST_ENGINE").as_deref() {
            Ok("moto") | Err(_) => Engine::Moto,
            Ok("localstack") => Engine::LocalStack,
            Ok(other) => panic!("MAMORI_TEST_ENGINE={other}: expected moto or localstack"),
        };
        let (endpoint, _pid) = start_server(engine);
        Emulator { engine, endpoint }
    })
}

/// Starts a server of `engine` through `emulator.py start`, owned by this test binary (stopped when
/// it exits), with the shims' propagation delay: its endpoint and process id.
fn start_server(engine: Engine) -> (String, u32) {
    let output = Command::new("python3")
        .arg(repo().join("localstack/emulator.py"))
        .args(["start", engine.name(), "--owner-pid", &std::process::id().to_string()])
        .args(["--propagation-delay", &PROPAGATION_DELAY.as_secs().to_string()])
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run localstack/emulator.py (is python3 installed?): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the {} emulator did not start ({}): {stdout}", engine.name(), output.status);
    let printed = |key: &str| stdout.lines().find_map(|line| line.strip_prefix(key)).unwrap_or_else(|| panic!("emulator.py printed no {key}: {stdout}")).to_string();
    (printed("endpoint="), printed("pid=").parse().expect("emulator.py prints the pid"))
}

/// A fresh, empty account of the emulator.
pub struct Account {
    pub id: String,
    credentials: Credentials,
    /// Where this account's calls go when not straight to the emulator: a [`FaultProxy`], or a
    /// server of its own ([`OwnMoto`]).
    via: Option<String>,
    /// The SDK's retry mode and attempts for mamori's runs; `None` = mamori's own.
    retry: Option<aws_config::retry::RetryConfig>,
}

/// A new account id for each call, in this test binary.
fn next_account_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(100_000_000_001);
    format!("{:012}", NEXT.fetch_add(1, Ordering::SeqCst))
}

impl Account {
    /// moto: STS AssumeRole into a new account id (moto maps the returned keys to that account).
    /// LocalStack: an access key id of 12 digits is taken as the account id.
    pub async fn fresh() -> Account {
        let emulator = emulator();
        let id = next_account_id();
        let credentials = match emulator.engine {
            Engine::LocalStack => Credentials::new(id.clone(), "test", None, None, "mamori-tests"),
            Engine::Moto => moto_role_credentials(&id, "mamori-test").await,
        };
        let account = Account { id, credentials, via: None, retry: None };
        let caller = account.aws(AccessMode::ReadOnly).await.caller().await.expect("GetCallerIdentity");
        assert_eq!(caller.account_id, account.id, "the emulator put the test in the wrong account");
        account
    }

    /// moto: the member account `id` of this (management) account's organization, entered as mamori
    /// enters it: STS AssumeRole into `OrganizationAccountAccessRole` with this account's credentials.
    pub async fn member(&self, id: &str) -> Account {
        assert_eq!(emulator().engine, Engine::Moto, "Account::member needs moto");
        Account { id: id.to_string(), credentials: assume_role(&self.credentials, id, "OrganizationAccountAccessRole", None).await, via: None, retry: None }
    }

    /// This account entered with another identity's access key (an IAM user's, say): mamori then runs
    /// as that identity, on the same server.
    pub fn with_access_key(&self, access_key_id: &str, secret_access_key: &str) -> Account {
        Account { id: self.id.clone(), credentials: Credentials::new(access_key_id, secret_access_key, None, None, "mamori-tests"), via: self.via.clone(), retry: None }
    }

    /// moto: a fresh, empty account on `server` (a server of the test's own) instead of the test
    /// binary's emulator.
    pub async fn fresh_on(server: &OwnMoto) -> Account {
        let id = next_account_id();
        let credentials = assume_role(&Credentials::new("testing", "testing", None, None, "mamori-tests"), &id, "mamori-test", Some(&server.endpoint)).await;
        Account { id, credentials, via: Some(server.endpoint.clone()), retry: None }
    }

    /// moto: plays the root user's console steps on this account (`emulator.py root-console`, see
    /// "The root user on moto" in the emulator shim): `[("mfa", "virtual"), ("signed-in-days-ago", "0")]`.
    pub fn root_console(&self, settings: &[(&str, &str)]) {
        self.scaffold("root-console", settings);
    }

    /// moto: gives this account a propagation delay of its own (`emulator.py propagation-delay`), so a
    /// test of one propagation rule does not depend on how fast the machine is.
    pub fn propagation_delay(&self, seconds: u32) {
        self.scaffold("propagation-delay", &[("seconds", &seconds.to_string())]);
    }

    /// moto: sets what CloudTrail reports about a trail's deliveries (`emulator.py trail-delivery`,
    /// shims/emulator_shims/cloudtrail_delivery_status.py): `[("trail", "mamori-trail"), ("s3-error", "AccessDenied")]`.
    pub fn trail_delivery(&self, settings: &[(&str, &str)]) {
        self.scaffold("trail-delivery", settings);
    }

    /// moto: the recipient of `subscriber`'s subscription to `topic_arn` confirms it
    /// (`emulator.py confirm-subscription`, shims/emulator_shims/sns_subscription_confirmation.py).
    pub fn confirm_subscription(&self, topic_arn: &str, subscriber: &str) {
        self.scaffold("confirm-subscription", &[("topic-arn", topic_arn), ("subscriber", subscriber)]);
    }

    /// moto: one of the shims' test-only actions on this account, through `emulator.py ACTION`.
    fn scaffold(&self, action: &str, settings: &[(&str, &str)]) {
        assert_eq!(emulator().engine, Engine::Moto, "{action} is played on moto only");
        let mut command = Command::new("python3");
        command.arg(repo().join("localstack/emulator.py")).args([action, "moto", "--endpoint", &emulator().endpoint, "--account", &self.id]);
        for (name, value) in settings {
            command.args([format!("--{name}"), value.to_string()]);
        }
        let output = command.output().unwrap_or_else(|e| panic!("run emulator.py {action}: {e}"));
        assert!(output.status.success(), "{action} {settings:?}: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// moto: this account's root user, with an access key created for it in the console (the shim's
    /// `AKIAROOT<ACCOUNT>`, any secret): its calls are the root user's, as in the MFA Delete step.
    pub fn root(&self) -> Account {
        self.root_console(&[("access-key", "true")]);
        let key = format!("AKIAROOT{}", self.id);
        Account { id: self.id.clone(), credentials: Credentials::new(key, "root-secret", None, None, "mamori-tests-root"), via: None, retry: None }
    }

    /// moto: enables an opt-in region for this account (`account:EnableRegion`, which the emulator
    /// shim adds; see `region_opt_in.py`).
    pub fn enable_region(&self, region: &str) {
        assert_eq!(emulator().engine, Engine::Moto, "opt-in regions are modelled on moto only");
        let output = Command::new("python3")
            .arg(repo().join("localstack/emulator.py"))
            .args(["enable-region", "moto", "--endpoint", &emulator().endpoint, "--account", &self.id, "--region", region])
            .output()
            .expect("run emulator.py enable-region");
        assert!(output.status.success(), "enable-region {region}: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// This account reached through `proxy`: every call of mamori's runs passes the proxy's faults.
    pub fn through(&self, proxy: &FaultProxy) -> Account {
        Account { id: self.id.clone(), credentials: self.credentials.clone(), via: Some(proxy.endpoint.clone()), retry: self.retry.clone() }
    }

    /// This account with mamori's runs retrying as `retry` says (to compare retry modes).
    pub fn retrying(&self, retry: aws_config::retry::RetryConfig) -> Account {
        Account { id: self.id.clone(), credentials: self.credentials.clone(), via: self.via.clone(), retry: Some(retry) }
    }

    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            profile: None,
            endpoint_url: Some(self.via.clone().unwrap_or_else(|| emulator().endpoint.clone())),
            credentials: Some(SharedCredentialsProvider::new(self.credentials.clone())),
            retry: self.retry.clone(),
            interrupt: Default::default(),
        }
    }

    /// A connection to this account, for seeding and checking state behind mamori's back.
    pub async fn aws(&self, mode: AccessMode) -> Aws {
        Aws::connect(&self.connect_options(), mode, "us-east-1").await
    }

    /// Runs a verb in-process (confirming any apply) and returns the report and the calls it made.
    pub async fn run(&self, verb: Verb, baseline: &Path, only: &[&str]) -> Outcome {
        self.run_in(verb, baseline, only, &[]).await
    }

    /// As [`Account::run`], with `--region` overrides.
    pub async fn run_in(&self, verb: Verb, baseline: &Path, only: &[&str], regions: &[&str]) -> Outcome {
        self.execute(verb, baseline, only, regions, None).await
    }

    /// As [`Account::run`], with `apply --mfa`.
    pub async fn run_with_mfa(&self, verb: Verb, baseline: &Path, only: &[&str], mfa: Mfa) -> Outcome {
        self.execute(verb, baseline, only, &[], Some(mfa)).await
    }

    async fn execute(&self, verb: Verb, baseline: &Path, only: &[&str], regions: &[&str], mfa: Option<Mfa>) -> Outcome {
        self.attempt(verb, baseline, only, regions, mfa).await.unwrap_or_else(|e| panic!("{} failed: {e}", verb.name()))
    }

    /// Runs a verb in-process and returns why it produced no report, if it did not.
    pub async fn attempt(&self, verb: Verb, baseline: &Path, only: &[&str], regions: &[&str], mfa: Option<Mfa>) -> Result<Outcome, app::AppError> {
        let invocation = self.invocation(verb, baseline, only, regions, mfa, AccountSelection::default());
        app::execute(&invocation, &mut |_: &Report| true, &Silent).await
    }

    /// Runs a verb in-process over the accounts `accounts` selects, with this account's credentials
    /// (the organization's management account), confirming any apply.
    pub async fn run_fleet(&self, verb: Verb, baseline: &Path, only: &[&str], accounts: AccountSelection) -> Result<Outcome, app::AppError> {
        self.run_fleet_in(verb, baseline, only, &[], accounts).await
    }

    /// As [`Account::run_fleet`], with `--region` overrides.
    pub async fn run_fleet_in(&self, verb: Verb, baseline: &Path, only: &[&str], regions: &[&str], accounts: AccountSelection) -> Result<Outcome, app::AppError> {
        let invocation = self.invocation(verb, baseline, only, regions, None, accounts);
        app::execute(&invocation, &mut |_: &Report| true, &Silent).await
    }

    /// `verify --security-hub` in-process over `accounts` (none: this account).
    pub async fn verify_to_security_hub(&self, baseline: &Path, only: &[&str], accounts: AccountSelection) -> Outcome {
        let invocation = Invocation { security_hub: true, ..self.invocation(Verb::Verify, baseline, only, &[], None, accounts) };
        app::execute(&invocation, &mut |_: &Report| true, &Silent).await.unwrap_or_else(|e| panic!("verify --security-hub failed: {e}"))
    }

    fn invocation(&self, verb: Verb, baseline: &Path, only: &[&str], regions: &[&str], mfa: Option<Mfa>, accounts: AccountSelection) -> Invocation {
        Invocation {
            verb,
            baseline: baseline.to_path_buf(),
            only: only.iter().map(|s| s.to_string()).collect(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
            connect: self.connect_options(),
            mfa,
            accounts,
            max_accounts_in_flight: None,
            approved: true,
            security_hub: false,
        }
    }

    /// A shared config file with a profile `name` holding this account's keys as static credentials
    /// and, when given, an `endpoint_url`: for runs of the binary with `--profile`.
    pub fn profile_file(&self, name: &str, endpoint_url: Option<&str>) -> (tempfile::TempDir, PathBuf) {
        let mut text = format!(
            "[profile {name}]\nregion = us-east-1\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            self.credentials.access_key_id(),
            self.credentials.secret_access_key()
        );
        if let Some(token) = self.credentials.session_token() {
            text += &format!("aws_session_token = {token}\n");
        }
        if let Some(url) = endpoint_url {
            text += &format!("endpoint_url = {url}\n");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config");
        std::fs::write(&path, text).expect("write the config file");
        (dir, path)
    }

    /// This account's access key id, secret and session token: what must never show in output.
    pub fn credential_strings(&self) -> Vec<String> {
        let mut strings = vec![self.credentials.access_key_id().to_string(), self.credentials.secret_access_key().to_string()];
        strings.extend(self.credentials.session_token().map(str::to_string));
        strings
    }

    /// The environment that points the `mamori` binary at this account.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("AWS_ACCESS_KEY_ID", self.credentials.access_key_id().to_string()),
            ("AWS_SECRET_ACCESS_KEY", self.credentials.secret_access_key().to_string()),
            ("AWS_ENDPOINT_URL", emulator().endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_string()),
        ];
        if let Some(token) = self.credentials.session_token() {
            env.push(("AWS_SESSION_TOKEN", token.to_string()));
        }
        env
    }
}

/// An organization on moto: the management account, and accounts created by Organizations in two
/// organizational units (`workloads` and, below it, `workloads/prod`) and at the root.
pub struct Organization {
    pub management: Account,
    pub root: String,
    pub workloads: String,
    pub prod: String,
    /// Created account ids by name.
    pub accounts: BTreeMap<String, String>,
}

impl Organization {
    /// `placed`: (account name, "root" | "workloads" | "prod"), created in that order; `role` overrides
    /// the role Organizations creates in an account (to leave the baseline's role missing).
    pub async fn create(placed: &[(&str, &str)], role: Option<(&str, &str)>) -> Organization {
        assert_eq!(emulator().engine, Engine::Moto, "organizations need moto");
        let management = Account::fresh().await;
        let organizations = management.aws(AccessMode::ReadWrite).await.organizations();
        organizations.create_organization().feature_set(OrganizationFeatureSet::All).send().await.unwrap();
        let root = organizations.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
        let unit = |parent: String, name: &'static str| {
            let organizations = organizations.clone();
            async move {
                let out = organizations.create_organizational_unit().parent_id(parent).name(name).send().await.unwrap();
                out.organizational_unit().unwrap().id().unwrap().to_string()
            }
        };
        let workloads = unit(root.clone(), "workloads").await;
        let prod = unit(workloads.clone(), "prod").await;
        let mut accounts = BTreeMap::new();
        for (name, place) in placed {
            let mut create = organizations.create_account().account_name(*name).email(format!("{name}@example.com"));
            if let Some((with_role, role_name)) = role {
                if with_role == *name {
                    create = create.role_name(role_name);
                }
            }
            let id = create.send().await.unwrap().create_account_status().unwrap().account_id().unwrap().to_string();
            let destination = match *place {
                "workloads" => Some(&workloads),
                "prod" => Some(&prod),
                _ => None,
            };
            if let Some(destination) = destination {
                organizations.move_account().account_id(&id).source_parent_id(&root).destination_parent_id(destination).send().await.unwrap();
            }
            accounts.insert(name.to_string(), id);
        }
        Organization { management, root, workloads, prod, accounts }
    }

    pub fn id(&self, name: &str) -> String {
        self.accounts[name].clone()
    }
}

/// moto: credentials of the harness's role in a new account `id`, from STS AssumeRole (moto maps
/// the returned keys to that account; the emulator shim lets the role name `mamori-test` in unchecked).
async fn moto_role_credentials(id: &str, role: &str) -> Credentials {
    assume_role(&Credentials::new("testing", "testing", None, None, "mamori-tests"), id, role, None).await
}

/// moto: STS AssumeRole into `role` of account `id` with `caller`'s credentials, on the test
/// binary's emulator or on `server`.
async fn assume_role(caller: &Credentials, id: &str, role: &str, server: Option<&str>) -> Credentials {
    let base = Account { id: String::new(), credentials: caller.clone(), via: server.map(str::to_string), retry: None };
    let assumed = base
        .aws(AccessMode::ReadWrite)
        .await
        .sts()
        .assume_role()
        .role_arn(format!("arn:aws:iam::{id}:role/{role}"))
        .role_session_name("mamori-test")
        .send()
        .await
        .unwrap_or_else(|e| panic!("AssumeRole {role} in {id}: {}", mamori::aws::AwsError::from_sdk("sts:AssumeRole", e)));
    let c = assumed.credentials().expect("credentials");
    Credentials::new(c.access_key_id(), c.secret_access_key(), Some(c.session_token().to_string()), None, "mamori-tests")
}

/// The `mamori` binary with a clean AWS environment (no profile, no IMDS) and no stdin.
pub fn mamori(args: &[&str], env: &[(&str, String)]) -> Output {
    output_within(mamori_command(args, env), std::time::Duration::from_secs(120))
}

/// The `mamori` command [`mamori`] runs: a clean AWS environment, no stdin, then `env` (also for a
/// test that must send the process a signal).
pub fn mamori_command(args: &[&str], env: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mamori"));
    command.args(args).stdin(Stdio::null());
    for var in ["AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "RUST_LOG"] {
        command.env_remove(var);
    }
    command.env("AWS_EC2_METADATA_DISABLED", "true").env("AWS_CONFIG_FILE", "/dev/null").env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Runs `command` (its output discarded) and returns its wall time, its peak resident memory in MiB
/// (`wait4`'s rusage) and its exit code (-1 when a signal ended it). For the binaries that measure
/// (`benches/fleet.rs`, `tests/big_account.rs`), which include this harness; `tests/it` does not.
#[allow(dead_code)]
pub fn peak_memory_run(mut command: Command) -> (std::time::Duration, f64, i32) {
    command.stdout(Stdio::null()).stderr(Stdio::null());
    let started = std::time::Instant::now();
    let child = command.spawn().expect("run the command");
    let mut status = 0;
    // SAFETY: wait4 on our own child's pid, with valid pointers to locals.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        usage
    };
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    (started.elapsed(), usage.ru_maxrss as f64 / 1024.0, code)
}

/// Runs `command` to completion, killing it (and failing the test) if it takes longer than `limit`:
/// a run that hangs, on a tripwire port say, must fail loudly instead of stalling the suite.
fn output_within(mut command: Command, limit: std::time::Duration) -> Output {
    wait_within(command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run the mamori binary"), limit)
}

/// Waits for `child` (spawned with piped stdout and stderr), killing it (and failing the test) if it
/// takes longer than `limit`.
pub fn wait_within(mut child: std::process::Child, limit: std::time::Duration) -> Output {
    let (stdout, stderr) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buffer = Vec::new();
            let _ = pipe.read_to_end(&mut buffer);
            buffer
        })
    };
    let (stdout, stderr) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for mamori") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("mamori did not finish within {limit:?}: killed");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Output { status, stdout: stdout.join().expect("stdout"), stderr: stderr.join().expect("stderr") }
}

/// The fault-injecting proxy (`localstack/fault_proxy.py`) in front of this binary's emulator, with
/// the faults `config` (JSON, see the proxy's documentation) describes; stopped when dropped.
pub struct FaultProxy {
    pub endpoint: String,
    child: std::process::Child,
}

impl FaultProxy {
    pub fn start(config: &serde_json::Value) -> FaultProxy {
        use std::io::BufRead;
        let mut child = Command::new("python3")
            .arg(repo().join("localstack/fault_proxy.py"))
            .args(["--upstream", &emulator().endpoint, "--config", &config.to_string(), "--owner-pid", &std::process::id().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run localstack/fault_proxy.py: {e}"));
        // Both lines are read: the proxy must not find its stdout closed while it still writes.
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("piped")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let _pid = lines.next();
        let endpoint = first.strip_prefix("endpoint=").unwrap_or_else(|| panic!("fault_proxy.py printed no endpoint: {first:?}")).to_string();
        FaultProxy { endpoint, child }
    }

    /// What the proxy did so far: `{"requests": {"kms:CreateKey": 2}, "lost_answer": {...}, ...}`.
    pub fn stats(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        let (_, body) = http_on_loopback(&self.endpoint, "GET", "/_fault_proxy/stats", "");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("fault proxy stats {body:?}: {e}"))
    }

    /// Arms the proxy's `kill_after_write`: `pid` is the process it kills after that write.
    pub fn arm(&self, pid: u32) {
        let (status, answer) = http_on_loopback(&self.endpoint, "POST", "/_fault_proxy/arm", &serde_json::json!({ "pid": pid }).to_string());
        assert_eq!(status, 200, "arm the fault proxy: {answer}");
    }

    /// The total of one statistic (`requests`, `throttled`, `lost_answer`, ...) over every operation.
    pub fn total(&self, what: &str) -> u64 {
        self.stats().get(what).map(|counts| counts.values().sum()).unwrap_or(0)
    }
}

/// One plain HTTP/1.1 request to a loopback server of the harness (not an AWS API call): the status
/// code and the body of its answer.
fn http_on_loopback(endpoint: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let address = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap_or_else(|e| panic!("connect to {address}: {e}"));
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).expect("send the request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    let status = answer.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("no HTTP status from {address}: {answer}"));
    (status, answer.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default())
}

/// A moto server of one test's own (same shims, same propagation delay as [`emulator`]), stopped
/// when dropped: for a test that changes what is global to a server, IAM enforcement above all, so
/// that no other test meets the change.
pub struct OwnMoto {
    pub endpoint: String,
    pid: u32,
}

impl OwnMoto {
    pub fn start() -> OwnMoto {
        let (endpoint, pid) = start_server(Engine::Moto);
        OwnMoto { endpoint, pid }
    }

    /// Switches moto's IAM enforcement on (every later request is authenticated by its access key
    /// and authorized by the policies of its identity) or off (`POST /moto-api/reset-auth`, body
    /// `0` or `inf`).
    pub fn enforce_iam(&self, on: bool) {
        let (_, answer) = http_on_loopback(&self.endpoint, "POST", "/moto-api/reset-auth", if on { "0" } else { "inf" });
        assert!(answer.contains("INITIAL_NO_AUTH_ACTION_COUNT"), "moto did not take reset-auth: {answer}");
    }

    /// The server's log so far: one access line per request, with the HTTP status of its answer.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_else(|e| panic!("read {}: {e}", self.log_path().display()))
    }

    /// Where the server writes its log (`emulator.py`'s state folder of the server).
    pub fn log_path(&self) -> PathBuf {
        let port = self.endpoint.rsplit(':').next().expect("the endpoint has a port");
        repo().join(".venv/run").join(format!("moto-{port}")).join("server.log")
    }
}

impl Drop for OwnMoto {
    fn drop(&mut self) {
        let _ = Command::new("python3").arg(repo().join("localstack/emulator.py")).args(["stop", "--pid", &self.pid.to_string()]).output();
    }
}

/// The SigV4 service name (the credential scope's, which the proxy reads) of each service the SDK's
/// operation metadata names, for the services mamori calls.
const SIGNING_NAMES: &[(&str, &str)] = &[
    ("STS", "sts"),
    ("KMS", "kms"),
    ("EC2", "ec2"),
    ("Route 53", "route53"),
    ("S3", "s3"),
    ("S3 Control", "s3"),
    ("CloudTrail", "cloudtrail"),
    ("Organizations", "organizations"),
    ("CloudWatch Logs", "logs"),
    ("CloudWatch", "monitoring"),
    ("SNS", "sns"),
    ("SSM", "ssm"),
    ("IAM", "iam"),
];

/// mamori's reads (the read-only guard's exact list, `src/aws/reads.rs`) as the proxy names
/// operations (`kms:DescribeKey`): the proxy's `reads`, so that it counts as a write exactly what the
/// guard classifies as mutating.
pub fn proxy_reads() -> Vec<String> {
    mamori::aws::reads::READ_OPERATIONS
        .iter()
        .map(|(service, operation)| {
            let signing = SIGNING_NAMES.iter().find(|(name, _)| name == service).unwrap_or_else(|| panic!("no SigV4 name for {service}")).1;
            format!("{signing}:{operation}")
        })
        .collect()
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that accepts connections but is never served: after a run, [`Tripwire::touched`]
/// says whether anything tried to reach it (proof that no AWS call was made).
pub struct Tripwire {
    listener: TcpListener,
}

impl Tripwire {
    pub fn new() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("non-blocking");
        Tripwire { listener }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.listener.local_addr().expect("address"))
    }

    /// An environment whose every AWS call would hit the tripwire.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "AKIDTRIPWIRE".into()),
            ("AWS_SECRET_ACCESS_KEY", "tripwire".into()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    pub fn touched(&self) -> bool {
        self.listener.accept().is_ok()
    }
}

/// Writes `yaml` as a baseline file in a new temporary directory.
/// Creates `bucket` with a policy that lets CloudTrail deliver into it (the emulator refuses a trail
/// into any other bucket, as AWS does).
pub async fn cloudtrail_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl", "Resource": format!("arn:aws:s3:::{bucket}")},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{bucket}/AWSLogs/*"),
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]});
    s3.put_bucket_policy().bucket(bucket).policy(policy.to_string()).send().await.unwrap();
}

/// The date `days` from today, `YYYY-MM-DD`, for exception expiries (tests built on it do not age).
pub fn in_days(days: i64) -> String {
    mamori::baseline::Date::today().plus_days(days).to_string()
}

pub fn baseline_file(yaml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("mamori.yaml");
    std::fs::write(&path, yaml).expect("write baseline");
    (dir, path)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
