//! The command line: clap definitions, logging and progress set-up, confirmation, output, exit codes.
//!
//! Results go to stdout (one text report or one JSON document); logs, progress bars and prompts go to
//! stderr. Exit codes are the same for every verb: `0` compliant / nothing to change, `2` drift or
//! pending changes, `1` an error (bad input, or a control that could not be evaluated). `apply` without
//! `--yes` asks on a terminal and refuses, before any AWS call, when there is none to ask on.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use tracing_subscriber::EnvFilter;

use crate::app::{self, Invocation};
use crate::aws::{ConnectOptions, Interrupt, Mfa};
use crate::baseline::{self, values::AccountId};
use crate::controls;
use crate::engine::{Progress, Silent};
use crate::fleet::{AccountSelection, Shard};
use crate::least_privilege;
use crate::report::{merge, text, Format, RenderOptions, Report, ReportFile, Status, Verb};

#[derive(Debug, Parser)]
#[command(name = "mamori", version, about = "Reconcile an AWS account to a secure baseline: plan, apply, verify.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what `apply` would change (read-only). Exit 2 when changes are pending.
    Plan(RunArgs),
    /// Make the account match the baseline, then verify it.
    Apply(ApplyArgs),
    /// Audit the account against the baseline (read-only). Exit 2 on drift.
    Verify(VerifyArgs),
    /// Print a starter baseline to stdout.
    Init {
        #[arg(long, value_enum, default_value_t = Template::Standard)]
        template: Template,
    },
    /// Print the JSON Schema of the baseline file.
    Schema,
    /// List every control: id, title, CIS/FSBP ids, whether apply can fix it.
    Controls {
        #[arg(long, value_enum)]
        output: Option<OutputFormat>,
    },
    /// Render saved JSON reports (one, or several merged: shards or separate runs) in a format, to
    /// stdout, without calling AWS.
    Report(ReportArgs),
    /// Print the IAM policy a run needs (or a member-account role carrying it). No AWS call.
    Policy(PolicyArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The format to render.
    #[arg(value_enum)]
    pub format: Format,
    /// JSON reports written by `--output json` or `--report json=PATH`.
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    /// The baseline file of the runs (SARIF points at the line of each control in it).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Also write the rendered report in FORMAT to PATH; repeatable (`--report junit=results.xml`).
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = ReportFile::parse)]
    pub files: Vec<ReportFile>,
}

/// `mamori policy`: see [`crate::least_privilege`].
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The verb the policy is for (`plan` and `verify` need the same reads).
    #[arg(long, value_enum)]
    pub verb: PolicyVerb,
    /// Baseline file.
    #[arg(long, default_value = "mamori.yaml")]
    pub baseline: PathBuf,
    /// Restrict to a control id or group, as the run would; repeatable.
    #[arg(long = "only", value_name = "CONTROL")]
    pub only: Vec<String>,
    /// `json`: the policy document; `cloudformation` / `terraform`: a member-account role carrying it.
    #[arg(long, value_enum, default_value_t = PolicyFormat::Json)]
    pub format: PolicyFormat,
    /// Add what a run over an organization reads from the management account (`--org`, `--ou`,
    /// `--account`): the Organizations reads and `sts:AssumeRole` into `organization.role_name`.
    #[arg(long)]
    pub org: bool,
    /// The principal the member role trusts (the management account's runner role ARN); needed by
    /// `cloudformation` and `terraform`.
    #[arg(long, value_name = "ARN")]
    pub trust: Option<String>,
    /// The member role's name (default: `mamori-verify`, or `mamori-apply` for `--verb apply`).
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// Add what `verify --security-hub` sends: `securityhub:BatchImportFindings` (with `--verb verify`).
    #[arg(long)]
    pub security_hub: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyVerb {
    Plan,
    Apply,
    Verify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyFormat {
    Json,
    Cloudformation,
    Terraform,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Template {
    Standard,
    Strict,
}

impl Template {
    /// The shipped baseline of that name.
    pub fn text(self) -> &'static str {
        match self {
            Template::Standard => include_str!("../baselines/standard.yaml"),
            Template::Strict => include_str!("../baselines/strict.yaml"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Baseline file.
    #[arg(long, default_value = "mamori.yaml")]
    pub baseline: PathBuf,
    /// Restrict the run to a control id (`logs.trail`) or group (`logs`); repeatable.
    #[arg(long = "only", value_name = "CONTROL")]
    pub only: Vec<String>,
    #[command(flatten)]
    pub accounts: AccountArgs,
    #[command(flatten)]
    pub common: Common,
}

/// Which accounts of the organization to cover (none: the caller's own account).
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// Every ACTIVE account of the caller's organization.
    #[arg(long)]
    pub org: bool,
    /// Every account under this organizational unit, recursively; repeatable.
    #[arg(long = "ou", value_name = "OU_ID")]
    pub ous: Vec<String>,
    /// This account; repeatable.
    #[arg(long = "account", value_name = "ID", value_parser = account_id)]
    pub accounts: Vec<String>,
    /// Leave this account out; repeatable.
    #[arg(long = "exclude-account", value_name = "ID", value_parser = account_id)]
    pub excluded: Vec<String>,
    /// Cover only the K-th of N stable shards of the selected accounts (by account id).
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// How many accounts are reconciled at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_accounts_in_flight: Option<u16>,
}

impl AccountArgs {
    fn selection(&self) -> AccountSelection {
        AccountSelection {
            organization: self.org,
            organizational_units: self.ous.clone(),
            accounts: self.accounts.clone(),
            excluded: self.excluded.clone(),
            shard: self.shard,
        }
    }
}

fn account_id(value: &str) -> Result<String, String> {
    AccountId::parse(value).map(|id| id.0)
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Also send the findings to AWS Security Hub (`BatchImportFindings`), in each account and region
    /// they belong to; the one write verify makes. Security Hub must be enabled there.
    #[arg(long)]
    pub security_hub: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// MFA device serial and current code, "SERIAL CODE", for root-only changes (MFA Delete).
    #[arg(long, value_name = "SERIAL CODE", value_parser = Mfa::parse)]
    pub mfa: Option<Mfa>,
}

#[derive(Debug, Args)]
pub struct Common {
    /// AWS named profile (otherwise the standard credential chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// Region to cover; repeatable; overrides the baseline's regions (the home region stays its first).
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Send every AWS call to this endpoint (an emulator), whatever the environment or profile
    /// configure. Without it, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>` and a profile's
    /// `endpoint_url` apply as the AWS SDKs document.
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Output format on stdout (default: text on a terminal, json otherwise).
    #[arg(long, value_enum)]
    pub output: Option<Format>,
    /// Also write the report in FORMAT to PATH; repeatable (`--report html=report.html --report
    /// junit=results.xml`). stdout keeps `--output`.
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = ReportFile::parse)]
    pub report_files: Vec<ReportFile>,
    /// Only errors on stderr.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More logging on stderr (-v, -vv). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Parses the process arguments, runs, and returns the exit code.
pub fn main() -> ExitCode {
    // A usage error is bad input: exit 1, as the contract says, not clap's own 2 (which means drift
    // here). `--help` and `--version` print and exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 1 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<u8, Box<dyn std::error::Error>> {
    match cli.command {
        Command::Init { template } => {
            print!("{}", template.text());
            Ok(0)
        }
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&baseline::json_schema())?);
            Ok(0)
        }
        Command::Controls { output } => {
            print!("{}", render_controls(output.unwrap_or_else(default_output)));
            Ok(0)
        }
        Command::Policy(args) => {
            print!("{}", render_policy(&args)?);
            Ok(0)
        }
        Command::Report(args) => render_saved(args),
        Command::Plan(args) => run_verb(Verb::Plan, args, true, None, false),
        Command::Verify(args) => run_verb(Verb::Verify, args.run, true, None, args.security_hub),
        Command::Apply(args) => {
            if !args.yes && !std::io::stdin().is_terminal() {
                return Err("apply needs --yes when no terminal can confirm the plan (stdin is not a terminal); nothing was changed".into());
            }
            run_verb(Verb::Apply, args.run, args.yes, args.mfa, false)
        }
    }
}

fn default_output() -> OutputFormat {
    if std::io::stdout().is_terminal() {
        OutputFormat::Text
    } else {
        OutputFormat::Json
    }
}

/// Logs to stderr: the verbosity flags, or `RUST_LOG`. Whatever `RUST_LOG` asks, other crates never
/// log at TRACE: at that level the AWS SDK writes request and response bodies, and a body can hold a
/// secret (EC2 user data with a key in it, say). Their DEBUG output carries no body. Every line goes
/// through [`RedactedStderr`]: aws-config logs the credentials it loads from a profile, access key id
/// included, at INFO (their secret it redacts itself).
fn init_logging(common: &Common) {
    use tracing_subscriber::filter::filter_fn;
    use tracing_subscriber::prelude::*;

    let default = match (common.quiet, common.verbose) {
        (true, _) => "error",
        (false, 0) => "mamori=info,warn",
        (false, 1) => "mamori=debug,warn",
        (false, _) => "mamori=trace,aws=info,info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ours = |target: &str| target == "mamori" || target.starts_with("mamori::");
    let no_foreign_trace = filter_fn(move |meta| *meta.level() != tracing::Level::TRACE || ours(meta.target()));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(RedactedStderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .with_filter(filter)
        .with_filter(no_foreign_trace);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// stderr, with every access key id masked ([`crate::redact::mask_key_ids`]). The formatter writes each
/// log line in one call, so a key id is never split across two writes.
struct RedactedStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactedStderr {
    type Writer = RedactedStderr;

    fn make_writer(&'a self) -> RedactedStderr {
        RedactedStderr
    }
}

impl Write for RedactedStderr {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(line);
        std::io::stderr().write_all(crate::redact::mask_key_ids(&text).as_bytes())?;
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn run_verb(verb: Verb, args: RunArgs, assume_yes: bool, mfa: Option<Mfa>, security_hub: bool) -> Result<u8, Box<dyn std::error::Error>> {
    init_logging(&args.common);
    let output = args.common.output.unwrap_or_else(|| match default_output() {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
    });
    let options = RenderOptions { baseline_path: Some(args.baseline.clone()), verbose: args.common.verbose > 0 };
    let report_files = args.common.report_files;
    let invocation = Invocation {
        verb,
        baseline: args.baseline,
        only: args.only,
        regions: args.common.regions,
        connect: ConnectOptions {
            profile: args.common.profile,
            endpoint_url: args.common.endpoint_url,
            credentials: None,
            retry: None,
            interrupt: Interrupt::default(),
        },
        mfa,
        accounts: args.accounts.selection(),
        max_accounts_in_flight: args.accounts.max_accounts_in_flight.map(usize::from),
        approved: assume_yes,
        security_hub,
    };
    // Bad input fails here, before the async runtime or any AWS call exists.
    app::prepare(&invocation)?;
    for file in &report_files {
        file.check_writable()?;
    }
    let progress: Box<dyn Progress> =
        if std::io::stderr().is_terminal() && !args.common.quiet { Box::new(Bar::default()) } else { Box::new(Silent) };
    let mut confirm = |plan: &Report| assume_yes || ask(plan);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if verb == Verb::Apply {
        runtime.spawn(interrupt_on_ctrl_c(invocation.connect.interrupt.clone()));
    }
    let outcome = runtime.block_on(app::execute(&invocation, &mut confirm, progress.as_ref()))?;
    write_reports(&outcome.report, output, &report_files, &options)?;
    if invocation.connect.interrupt.is_requested() {
        let made = outcome.report.changes.as_ref().map_or(0, Vec::len);
        let not_made = outcome.report.findings.iter().filter(|f| f.status == Status::Error).count();
        eprintln!("mamori: interrupted: {made} changes made (listed above), {not_made} findings left as error, each saying what was not done; run apply again to finish");
        return Ok(1);
    }
    // The audit itself succeeded and its report is out; an export that did not reach Security Hub is
    // still an error the scheduler must see (exit 1), or the dashboard would silently go stale.
    let problems = crate::security_hub::problems(&outcome.security_hub);
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    if security_hub {
        let imported: usize = outcome.security_hub.iter().map(|i| i.imported).sum();
        eprintln!("security hub: {imported} findings imported in {} account-region(s)", outcome.security_hub.len());
    }
    Ok(if problems.is_empty() { outcome.report.exit_code() } else { 1 })
}

/// `apply`'s Ctrl-C: the first one lets the writes in flight finish and starts no new one (the run
/// then reports what was done and what was not, and exits 1); a second one exits at once with 130,
/// the shell's code for a process ended by SIGINT. `plan` and `verify` keep the default (exit at
/// once): they write nothing that could be cut in half.
async fn interrupt_on_ctrl_c(interrupt: Interrupt) {
    if tokio::signal::ctrl_c().await.is_err() {
        return; // no handler could be installed: Ctrl-C keeps its default
    }
    interrupt.request();
    eprintln!("mamori: interrupted: finishing the writes in flight and starting no new one; Ctrl-C again to exit at once");
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("mamori: interrupted again: exiting now; run apply again to finish");
        std::process::exit(130);
    }
}

/// Writes `report` to stdout in `output`, then to each `--report` file (stdout first: a file that
/// fails at the last moment does not hide what the run did).
fn write_reports(report: &Report, output: Format, files: &[ReportFile], options: &RenderOptions) -> Result<(), Box<dyn std::error::Error>> {
    std::io::stdout().write_all(output.render(report, options).as_bytes())?;
    for file in files {
        file.write(report, options).map_err(|e| format!("--report {}={}: {e}", file.format.name(), file.path.display()))?;
    }
    Ok(())
}

/// `mamori report`: saved JSON reports, merged, in another format. Exit 0 once rendered, whatever the
/// findings (the runs that wrote the reports had the exit codes that gate).
fn render_saved(args: ReportArgs) -> Result<u8, Box<dyn std::error::Error>> {
    let report = merge::merge_files(&args.reports)?;
    let options = RenderOptions { baseline_path: args.baseline, verbose: false };
    write_reports(&report, args.format, &args.files, &options)?;
    Ok(0)
}

/// Shows the plan on stderr and asks for `yes` on the terminal.
fn ask(plan: &Report) -> bool {
    eprint!("{}", text::render(plan));
    eprint!("\nmamori will make the changes above. Only 'yes' will be accepted to approve: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes"
}

/// An indicatif progress bar on stderr.
#[derive(Default)]
struct Bar {
    bar: std::sync::Mutex<Option<ProgressBar>>,
}

impl Progress for Bar {
    fn start(&self, phase: &str, units: usize) {
        let bar = ProgressBar::new(units as u64);
        bar.set_style(ProgressStyle::with_template("{msg:>8} [{bar:30}] {pos}/{len}").expect("valid template").progress_chars("=> "));
        bar.set_message(phase.to_string());
        *self.bar.lock().expect("progress lock") = Some(bar);
    }

    fn advance(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").as_ref() {
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }
}

/// `mamori policy`: the policy document, or the member role carrying it. Bad input (the baseline,
/// `--only`, a role template without `--trust`) fails before anything is printed.
pub fn render_policy(args: &PolicyArgs) -> Result<String, Box<dyn std::error::Error>> {
    let baseline = baseline::Baseline::load(&args.baseline)?;
    let catalogue = controls::catalogue();
    let selected = crate::engine::selection::select(&catalogue, &args.only)?;
    let verb = match args.verb {
        PolicyVerb::Plan => Verb::Plan,
        PolicyVerb::Apply => Verb::Apply,
        PolicyVerb::Verify => Verb::Verify,
    };
    let mut needed = least_privilege::declared(&selected, &baseline, least_privilege::RunShape { verb, organization: args.org });
    if args.security_hub {
        if verb != Verb::Verify {
            return Err("--security-hub goes with --verb verify: only verify sends its findings to Security Hub".into());
        }
        needed = least_privilege::with_findings_import(needed);
    }
    let policy = least_privilege::document::policy(&needed);
    if args.format == PolicyFormat::Json {
        return Ok(serde_json::to_string_pretty(&policy)? + "\n");
    }
    let trusted = args.trust.as_deref().ok_or("--format cloudformation and terraform need --trust ARN: the principal the member role trusts (the management account's runner role)")?;
    let default_name = if verb == Verb::Apply { "mamori-apply" } else { "mamori-verify" };
    let role = least_privilege::role_template::MemberRole {
        name: args.role_name.as_deref().unwrap_or(default_name),
        trusted,
        external_id: baseline.organization.external_id.as_deref(),
        policy: &policy,
    };
    Ok(match args.format {
        PolicyFormat::Cloudformation => role.cloudformation(),
        _ => role.terraform(),
    })
}

/// `mamori controls`: the catalogue as a table or JSON.
pub fn render_controls(output: OutputFormat) -> String {
    let rows: Vec<serde_json::Value> = controls::catalogue()
        .iter()
        .map(|c| {
            let meta = c.meta();
            serde_json::json!({
                "id": meta.id,
                "title": meta.title,
                "fixable": meta.fix.label(),
                "scope": meta.scope.label(),
                "cis_v5": meta.cis_v5,
                "fsbp": meta.fsbp,
                "depends_on": meta.depends_on,
            })
        })
        .collect();
    match output {
        OutputFormat::Json => serde_json::to_string_pretty(&rows).expect("rows serialize") + "\n",
        OutputFormat::Text => {
            let mut out = format!("{:<32} {:<8} {:<10} {:<18} {}\n", "ID", "FIX", "CIS v5", "FSBP", "TITLE");
            for c in controls::catalogue() {
                let meta = c.meta();
                out += &format!("{:<32} {:<8} {:<10} {:<18} {}\n", meta.id, meta.fix.label(), meta.cis_v5.join(","), meta.fsbp.join(","), meta.title);
            }
            out
        }
    }
}
